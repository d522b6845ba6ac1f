"""The proxy recorder with a real mitmdump in front of a loopback HTTPS origin.

One capture runs for the module (mitmdump takes a second to start): a
validating client is refused then passed through, a careless client posts a
child's name, a pinning client leaves in silence. The tests then read what
the capture left, with toyaudit's own readers and audit. Other tests start
mitmdump to crash it or to see it fail to start.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.capture.tlslab import (
    HOSTS,
    ORIGIN_REPLY,
    LabFiles,
    Tunnel,
    careless_client,
    certificate_pin,
    free_port,
    https_origin,
    make_lab_files,
    pinning_client,
    validating_client,
)
from toyaudit.audit import run_audit
from toyaudit.capture.proxy import ProxyRecorder
from toyaudit.capture.recorder import RecorderStatus
from toyaudit.errors import CaptureError
from toyaudit.ingest import read_evidence
from toyaudit.ingest.records import Coverage, HttpRequest

CAREFUL, CARELESS, PINNED = HOSTS
CHILD = {"child_name": "Mirabel Quince", "birthdate": "2019-04-12"}
WAIT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Capture:
    """What the module's capture did and saw."""

    session: Path
    refused: BaseException
    passed_through: bytes
    careless_reply: bytes
    pin_matched: bool
    running: RecorderStatus
    stopped: RecorderStatus
    stopped_again: RecorderStatus
    flows_while_running: int


def _recorder(session: Path, lab: LabFiles, **settings: Any) -> ProxyRecorder:
    return ProxyRecorder(
        session,
        "regular",
        listen_host="127.0.0.1",
        listen_port=settings.pop("listen_port", None) or free_port(),
        confdir=session.parent / "mitmproxy",
        extra_options={"ssl_verify_upstream_trusted_ca": str(lab.ca)},
        **settings,
    )


def _session(folder: Path) -> Path:
    session = folder / "session"
    session.mkdir(mode=0o700)
    return session


def _wait_for(recorder: ProxyRecorder, done: Callable[[RecorderStatus], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done(status := recorder.status()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done(status), status


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabFiles:
    return make_lab_files(tmp_path_factory.mktemp("lab"))


@pytest.fixture(scope="module")
def capture(
    tmp_path_factory: pytest.TempPathFactory, lab: LabFiles
) -> Iterator[Capture]:
    session = _session(tmp_path_factory.mktemp("capture"))
    recorder = _recorder(session, lab)
    with https_origin(lab) as origin_port:
        recorder.start()
        try:
            tunnel = Tunnel(recorder.listen_port, origin_port)
            with pytest.raises(ssl.SSLCertVerificationError) as refused:
                validating_client(tunnel, lab.ca, CAREFUL)
            passed_through = validating_client(tunnel, lab.ca, CAREFUL)
            careless_reply = careless_client(tunnel, CARELESS, CHILD)
            pin_matched = pinning_client(
                tunnel, PINNED, certificate_pin(lab.certificate)
            )
            _wait_for(recorder, lambda status: status.counts["silent"] == 1)
            running = recorder.status()
            with (session / "flows.mitm").open("rb") as stream:
                flows_while_running = len(list(_flow_reader(stream).stream()))
        finally:
            stopped = recorder.stop()
    yield Capture(
        session,
        refused.value,
        passed_through,
        careless_reply,
        pin_matched,
        running,
        stopped,
        recorder.stop(),
        flows_while_running,
    )


def _flow_reader(stream: Any) -> Any:
    from mitmproxy import io

    reader: Any = io.FlowReader
    return reader(stream)


def _verdicts(session: Path) -> dict[str, dict[str, Any]]:
    lines = (session / "tls-verdicts.jsonl").read_text().splitlines()
    return {record["sni"]: record for record in map(json.loads, lines)}


def test_proxy_rejected_then_passes_the_careful_host_through(capture: Capture) -> None:
    verdict = _verdicts(capture.session)[CAREFUL]

    assert verdict["verdict"] == "rejected"
    assert "unknown ca" in verdict["detail"]
    # The client trusts only the lab CA: its second attempt reached the origin
    # itself, untouched, and got no verdict of its own.
    assert capture.passed_through == ORIGIN_REPLY
    lines = (capture.session / "tls-verdicts.jsonl").read_text().splitlines()
    assert [json.loads(line)["sni"] for line in lines].count(CAREFUL) == 1
    assert capture.running.counts["passthrough"] == 1


def test_proxy_accepted_the_careless_client_and_saved_its_flow(
    capture: Capture,
) -> None:
    verdict = _verdicts(capture.session)[CARELESS]
    observations = list(
        read_evidence(capture.session / "flows.mitm", "flows.mitm", Coverage())
    )
    [request] = [
        item
        for item in observations
        if isinstance(item, HttpRequest) and item.host == CARELESS
    ]

    assert verdict["verdict"] == "accepted"
    assert verdict["detail"] == "first request: POST /v1/profile"
    assert verdict["client"].startswith("127.0.0.1:")
    assert capture.careless_reply == ORIGIN_REPLY
    assert json.loads(request.body) == CHILD
    assert request.scheme == "https"


def test_proxy_pinning_client_is_silent(capture: Capture) -> None:
    verdicts = _verdicts(capture.session)

    assert capture.pin_matched is False
    assert verdicts[PINNED]["verdict"] == "silent"
    assert [record["verdict"] for record in verdicts.values()].count("accepted") == 1


def test_proxy_status_counts_while_running_and_after_stop(capture: Capture) -> None:
    expected = {"accepted": 1, "rejected": 1, "silent": 1, "aborted": 0}

    assert capture.running.running is True
    assert {key: capture.running.counts[key] for key in expected} == expected
    assert capture.flows_while_running >= 1  # flushed, readable mid-capture
    assert capture.stopped.running is False
    assert capture.stopped.failure is None
    assert capture.stopped.counts["flows"] >= capture.flows_while_running
    assert capture.stopped.files == ("flows.mitm", "tls-verdicts.jsonl", "keylog.txt")
    assert capture.stopped_again == capture.stopped
    # mitmdump stopped on SIGINT, so the addon's done() ran and wrote its last words.
    report = json.loads((capture.session / ".proxy-status.json").read_text())
    assert report["state"] == "stopped"


def test_proxy_writes_a_private_keylog(capture: Capture) -> None:
    lines = (capture.session / "keylog.txt").read_text().split()

    assert "CLIENT_TRAFFIC_SECRET_0" in lines
    for name in ("keylog.txt", "flows.mitm", "tls-verdicts.jsonl", ".mitmdump.log"):
        mode = (capture.session / name).stat().st_mode
        assert stat.S_IMODE(mode) == 0o600, name


def test_proxy_session_audit_finds_the_accepted_certificate(capture: Capture) -> None:
    assessment = run_audit(capture.session, jobs=1)

    accepted = [c for c in assessment.checks if c.check == "tls-interception-accepted"]
    assert [check.subject for check in accepted] == [CARELESS]
    assert accepted[0].severity.value == "critical"


def test_proxy_reports_mitmdump_killed_under_it(tmp_path: Path, lab: LabFiles) -> None:
    recorder = _recorder(_session(tmp_path), lab)
    recorder.start()
    try:
        assert recorder.pid is not None
        os.kill(recorder.pid, signal.SIGKILL)
        _wait_for(recorder, lambda status: status.failure is not None)
        status = recorder.status()
    finally:
        final = recorder.stop()

    assert status.failure is not None
    assert status.failure.startswith("mitmdump exited with code -9 (killed by SIGKILL)")
    assert status.running is False
    assert final.failure == status.failure


def test_proxy_start_fails_when_the_port_is_taken(
    tmp_path: Path, lab: LabFiles
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        recorder = _recorder(_session(tmp_path), lab, listen_port=port)
        with pytest.raises(CaptureError) as failure:
            recorder.start()

    assert "address already in use" in failure.value.message
    assert f"port {port}" in failure.value.hint
    assert recorder.status().running is False
    assert recorder.stop().failure is None


def test_proxy_start_fails_when_mitmdump_is_missing(
    tmp_path: Path, lab: LabFiles
) -> None:
    missing = tmp_path / "bin" / "mitmdump"
    recorder = _recorder(_session(tmp_path), lab, mitmdump=missing)

    with pytest.raises(CaptureError) as failure:
        recorder.start()

    assert failure.value.message == f"mitmdump not found at {missing}"
    assert "pip install mitmproxy" in failure.value.hint
    assert recorder.stop().running is False


def test_proxy_under_sudo_runs_mitmdump_as_the_invoking_user(
    tmp_path: Path, lab: LabFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert os.geteuid() == 0, "this test needs root, as 'sudo toyaudit capture' has"
    nobody = 65534
    monkeypatch.setenv("SUDO_UID", str(nobody))
    monkeypatch.setenv("SUDO_GID", str(nobody))
    # A stand-in for mitmdump that says who runs it; it must be reachable by
    # that user, so it lives outside pytest's private temporary folder.
    with tempfile.TemporaryDirectory() as public:
        os.chmod(public, 0o755)  # noqa: S103 - the other user must reach it
        whoami = Path(public) / "mitmdump"
        whoami.write_text("#!/bin/sh\necho uid=$(id -u) home=$HOME\nexit 3\n")
        whoami.chmod(0o755)
        session = _session(tmp_path)
        recorder = _recorder(session, lab, mitmdump=whoami)
        with pytest.raises(CaptureError) as failure:
            recorder.start()

    assert failure.value.message == (
        f"mitmdump could not start (mitmdump exited with code 3: uid={nobody} "
        "home=/nonexistent)"
    )
    assert session.stat().st_uid == nobody
    assert recorder.confdir.stat().st_uid == nobody
    assert stat.S_IMODE(recorder.confdir.stat().st_mode) == 0o700


def test_proxy_wireguard_mode_saves_the_client_configuration(tmp_path: Path) -> None:
    port = free_port(socket.SOCK_DGRAM)
    recorder = ProxyRecorder(
        _session(tmp_path),
        "wireguard",
        listen_host="127.0.0.1",
        listen_port=port,
        confdir=tmp_path / "mitmproxy",
    )
    recorder.start()
    try:
        config = recorder.wireguard_client_config()
        notices = recorder.status().notices
    finally:
        recorder.stop()

    assert (
        recorder.wireguard_client_path == tmp_path / "mitmproxy/wireguard-client.conf"
    )
    assert notices == (
        f"import {recorder.wireguard_client_path} into the phone's WireGuard app",
    )
    assert recorder.status().notices == ()
    assert config is not None
    assert config.startswith("[Interface]\nPrivateKey = ")
    assert f"Endpoint = 127.0.0.1:{port}" in config
    assert stat.S_IMODE(recorder.wireguard_client_path.stat().st_mode) == 0o600
