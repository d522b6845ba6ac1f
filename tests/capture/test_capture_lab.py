"""End to end: a simulated toy captured by ``toyaudit capture``, then audited.

The lab (tests/lab) runs a toy and its cloud in network namespaces. The
capture runs as a user would run it, as a separate ``toyaudit capture``
process: real scapy sniffing on the hotspot interface, real mitmdump in
transparent mode behind real iptables rules. The session it seals is then
audited by ``toyaudit audit`` and the findings are checked.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.capture.auditrun import (
    assert_reports_incomplete,
    audit_session,
    run_toyaudit,
)
from tests.lab import Lab
from toyaudit.session.folder import load_session

PERSONA = Path(__file__).parents[2] / "captures" / "demo-plushbear" / "persona.yaml"


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab() as running:
        yield running


def _start_capture(lab: Lab, folder: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "toyaudit", "capture", str(folder),
        "--interface", lab.hotspot_interface, "--toy", lab.toy_mac,
        "--proxy", "transparent", "--proxy-port", "18080",
        "--proxy-set", f"ssl_verify_upstream_trusted_ca={lab.ca_path}",
        "--persona", str(PERSONA), "--toy-name", "Bramble the Talking Bear",
        "--vendor", "PlushPal Toys Ltd", "--vendor-domain", "plushpal.example",
    ]  # fmt: skip
    with log.open("wb") as log_file:
        capture = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    _wait_until_recording(folder, capture, log)
    return capture


def _wait_until_recording(
    folder: Path, capture: subprocess.Popen[bytes], log: Path
) -> None:
    """session.yaml lists the recorders once every one of them has started."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert capture.poll() is None, f"capture exited early:\n{log.read_text()}"
        try:
            recorders = _session_yaml(folder)["capture"]["recorders"]
        except (OSError, KeyError, TypeError):
            recorders = {}
        if {"packets", "proxy"} <= set(recorders or {}):
            return
        time.sleep(0.1)
    raise AssertionError(f"capture never started recording:\n{log.read_text()}")


def _wait_for_flows(folder: Path, count: int) -> None:
    """Wait until the proxy says it has saved ``count`` flows in flows.mitm."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = folder / ".proxy-status.json"
        with contextlib.suppress(OSError, ValueError):
            if json.loads(status.read_text())["counts"]["flows"] >= count:
                return
        time.sleep(0.1)
    raise AssertionError(f"mitmdump saved fewer than {count} flows")


def _session_yaml(folder: Path) -> Any:
    return yaml.safe_load((folder / "session.yaml").read_text())


def _nat_rules() -> str:
    listing = subprocess.run(
        ["iptables", "-t", "nat", "-S"], capture_output=True, text=True, check=True
    )
    return listing.stdout


def _check_subjects(findings: dict[str, Any], check: str) -> set[str]:
    return {entry["subject"] for entry in findings["checks"] if entry["check"] == check}


def test_capture_of_simulated_toy_finds_interception_and_plaintext(
    lab: Lab, tmp_path: Path
) -> None:
    folder = tmp_path / "bramble"
    capture = _start_capture(lab, folder, tmp_path / "capture.log")
    try:
        assert run_toyaudit("mark", str(folder), "setup").returncode == 0
        summary = lab.run_toy(timeout=60)
        assert run_toyaudit("mark", str(folder), "setup done").returncode == 0
        time.sleep(1.0)
        assert run_toyaudit("mark", str(folder), "end").returncode == 0
        assert capture.wait(timeout=60) == 0, (tmp_path / "capture.log").read_text()
    finally:
        if capture.poll() is None:
            capture.kill()

    # the toy worked through the capture: careless steps decrypted, the
    # careful one refused our certificate and was then passed through
    assert summary.ok, summary
    assert summary.step("stories").attempts == ("certificate-rejected", "answered")
    assert "toyaudit:" not in _nat_rules()

    session = load_session(folder)
    assert [phase.name for phase in session.phases] == ["pre-setup", "setup", "play"]
    assert not any("incomplete" in note for note in session.notes)
    assert {"traffic.pcapng", "flows.mitm", "tls-verdicts.jsonl", "keylog.txt"} <= set(
        session.evidence
    )
    assert folder.stat().st_mode & 0o777 == 0o700

    findings = audit_session(folder, tmp_path / "report")
    accepted = _check_subjects(findings, "tls-interception-accepted")
    assert summary.step("profile").host in accepted
    assert summary.step("telemetry").host in accepted
    assert summary.step("stories").host in _check_subjects(
        findings, "tls-interception-rejected"
    )
    assert summary.step("stories").host not in accepted
    assert _check_subjects(findings, "plaintext-personal-data")
    assert _check_subjects(findings, "plaintext-credentials")
    categories = {finding["category"]["id"] for finding in findings["findings"]}
    assert {
        "child-name",
        "child-birthdate",
        "precise-location",
        "voice-recording",
    } <= categories


@pytest.mark.parametrize(
    ("signum", "reason"),
    [
        (signal.SIGTERM, "interrupted by SIGTERM"),
        (signal.SIGINT, "interrupted by Ctrl-C"),
    ],
)
def test_capture_signal_keeps_everything_and_undoes_network(
    lab: Lab, tmp_path: Path, signum: signal.Signals, reason: str
) -> None:
    folder = tmp_path / "bramble"
    capture = _start_capture(lab, folder, tmp_path / "capture.log")
    try:
        lab.run_toy(timeout=60)
        time.sleep(1.0)
        capture.send_signal(signum)
        assert capture.wait(timeout=60) == 6
    finally:
        if capture.poll() is None:
            capture.kill()

    assert "toyaudit:" not in _nat_rules()
    described = _session_yaml(folder)["capture"]
    assert described["complete"] is False
    assert described["incomplete_reason"] == reason
    assert described["recorders"]["packets"]["packets"] > 0
    session = load_session(folder)
    assert any(f"capture is incomplete ({reason})" in n for n in session.notes)
    findings = audit_session(folder, tmp_path / "report", codes=(0, 6))
    assert findings["findings"], "the incomplete session must still be audited"
    assert_reports_incomplete(findings, tmp_path / "report", reason)


def test_capture_ends_incomplete_when_mitmdump_crashes(
    lab: Lab, tmp_path: Path
) -> None:
    folder = tmp_path / "bramble"
    capture = _start_capture(lab, folder, tmp_path / "capture.log")
    try:
        summary = lab.run_toy(timeout=60)
        _wait_for_flows(folder, 1)
        mitmdump = subprocess.run(
            ["pgrep", "-f", f"toyaudit_dir={folder}"], capture_output=True, text=True
        )
        pids = [int(pid) for pid in mitmdump.stdout.split()]
        assert len(pids) == 1, mitmdump.stdout
        os.kill(pids[0], signal.SIGKILL)
        assert capture.wait(timeout=60) == 6
    finally:
        if capture.poll() is None:
            capture.kill()

    assert "toyaudit:" not in _nat_rules()
    described = _session_yaml(folder)["capture"]
    assert described["complete"] is False
    reason = described["incomplete_reason"]
    assert reason.startswith("proxy recorder stopped: mitmdump exited")
    assert described["recorders"]["proxy"]["flows"] > 0
    load_session(folder)  # sealed: the manifest verifies

    # the audit reads what mitmdump saved before it died, and says it died
    findings = audit_session(folder, tmp_path / "report", codes=(0, 6))
    assert_reports_incomplete(findings, tmp_path / "report", reason)
    assert {"traffic.pcapng", "flows.mitm"} <= set(findings["coverage"]["files_read"])
    assert findings["coverage"]["flows"] == described["recorders"]["proxy"]["flows"]
    assert summary.step("profile").host in _check_subjects(
        findings, "tls-interception-accepted"
    )
    categories = {finding["category"]["id"] for finding in findings["findings"]}
    assert {"child-name", "child-birthdate"} <= categories
