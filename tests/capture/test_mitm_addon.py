"""Tests of the mitmproxy addon of ``toyaudit capture``, hook by hook, offline.

The addon is loaded from its file, as mitmdump loads it, so this file needs
nothing of toyaudit but that file: ``make test`` also runs it under
mitmproxy 12 in ``.venv-mitm12``. Hooks get mitmproxy's own test flows
(``mitmproxy.test.tflow``) and TLS hook data built around a real ClientHello
that Python's ``ssl`` module writes into a memory BIO. The full disk is a
64 KiB tmpfs, mounted by the test (which runs as root, as the suite does).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import ssl
import stat
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from mitmproxy import io, tls
from mitmproxy.proxy import context, events, layer
from mitmproxy.test import tflow

with warnings.catch_warnings():
    # mitmproxy.addons imports ldap3, which trips pyasn1's deprecation warnings.
    warnings.simplefilter("ignore", DeprecationWarning)
    from mitmproxy.addons import script
    from mitmproxy.test import taddons

ADDON_PATH = Path(__file__).parents[2] / "toyaudit" / "capture" / "mitm_addon.py"
TOY_IP = "192.168.4.23"
API = "api.plushpal.example"
API_SERVER = ("203.0.113.10", 443)
UNKNOWN_CA = (
    f"The client does not trust the proxy's certificate for {API} "
    "(tlsv1 alert unknown ca)"
)
NO_ALERT = (
    "The client disconnected during the handshake. If this happens consistently "
    f"for {API}, this may indicate that the client does not trust the proxy's "
    "certificate."
)


def _load_addon() -> Any:
    spec = importlib.util.spec_from_file_location("toyaudit_mitm_addon", ADDON_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not in sys.modules, as under mitmdump
    return module


if TYPE_CHECKING:
    import toyaudit.capture.mitm_addon as mitm_addon
else:
    mitm_addon = _load_addon()

# mitmproxy's test helpers and readers are unannotated; go through Any for mypy.
flow_reader: Any = io.FlowReader
make_client: Any = tflow.tclient_conn
make_websocket_flow: Any = tflow.twebsocketflow
test_context: Any = taddons.context
script_loader: Any = script.ScriptLoader


def _client_hello(sni: str | None) -> Any:
    """A real ClientHello for ``sni`` (none: no SNI), as mitmproxy reads it."""
    settings = ssl.create_default_context()
    settings.check_hostname = sni is not None
    client = settings.wrap_bio(
        ssl.MemoryBIO(), outgoing := ssl.MemoryBIO(), server_hostname=sni
    )
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    record = outgoing.read()
    # Strip the TLS record header (5 bytes) and the handshake header (4 bytes).
    return tls.ClientHello(record[9:])


class Toy:
    """One TCP connection of the toy, driven through the addon's TLS hooks."""

    def __init__(self, tctx: Any, port: int, peer: str = TOY_IP) -> None:
        self.client = make_client()
        self.client.peername = (peer, port)
        self.context = context.Context(self.client, tctx.options)
        self.context.server.address = (API, 443)
        self.context.server.peername = API_SERVER

    def hello(self, addon: Any, sni: str | None = API) -> Any:
        """Send a ClientHello; returns the hook data (ignore_connection...)."""
        hello = tls.ClientHelloData(self.context, _client_hello(sni))
        addon.tls_clienthello(hello)
        return hello

    def established(self, addon: Any) -> None:
        """The handshake with the proxy completed."""
        addon.tls_established_client(tls.TlsData(self.client, self.context))

    def failed(self, addon: Any, error: str) -> None:
        """The handshake failed with mitmproxy's words in ``error``."""
        self.client.error = error
        addon.tls_failed_client(tls.TlsData(self.client, self.context))

    def http_flow(self) -> Any:
        """An HTTPS flow over this connection, with a response."""
        flow = tflow.tflow(resp=True)
        flow.client_conn = self.client
        return flow


@contextlib.contextmanager
def _mitmproxy() -> Iterator[Any]:
    """mitmproxy's addon test context, with the event loop it made closed after."""
    with test_context() as tctx:
        try:
            yield tctx
        finally:
            tctx.master.event_loop.close()


@pytest.fixture
def tctx() -> Iterator[Any]:
    with _mitmproxy() as tctx:
        yield tctx


@pytest.fixture
def addon(tctx: Any, tmp_path: Path) -> Any:
    capture = mitm_addon.ToyauditCapture()
    tctx.master.addons.add(capture)
    tctx.configure(capture, toyaudit_dir=str(tmp_path))
    capture.running()
    yield capture
    capture.done()  # closes its files and unhooks its log watcher


def _verdicts(folder: Path) -> list[dict[str, Any]]:
    path = folder / "tls-verdicts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _flows(folder: Path) -> list[Any]:
    with (folder / "flows.mitm").open("rb") as stream:
        return list(flow_reader(stream).stream())


def _status(folder: Path) -> dict[str, Any]:
    status: dict[str, Any] = json.loads((folder / ".proxy-status.json").read_text())
    return status


def test_addon_loads_as_a_mitmdump_script(tmp_path: Path) -> None:
    async def load() -> Any:
        with test_context() as tctx:
            loader = script_loader()  # what ``mitmdump -s`` uses
            tctx.master.addons.add(loader)
            # As ``--set``: held until an addon declares the option.
            tctx.options.set(f"toyaudit_dir={tmp_path}", defer=True)
            tctx.configure(loader, scripts=[str(ADDON_PATH)])
            for _ in range(100):  # the loader loads scripts on its next turn
                await asyncio.sleep(0.01)
                if capture := tctx.master.addons.get("toyauditcapture"):
                    return capture
        return None

    capture = asyncio.run(load())

    assert type(capture).__name__ == "ToyauditCapture"
    assert _status(tmp_path)["state"] == "starting"


@pytest.mark.parametrize(
    ("parent", "stopping"),
    [(os.getppid(), False), (1 << 22 | 1, True)],  # the latter above any pid
    ids=["recorder-alive", "recorder-gone"],
)
def test_addon_stops_mitmproxy_once_the_recorder_is_gone(
    tmp_path: Path, parent: int, stopping: bool
) -> None:
    async def run() -> bool:
        capture = mitm_addon.ToyauditCapture()
        with test_context(capture) as tctx:
            tctx.configure(
                capture, toyaudit_dir=str(tmp_path), toyaudit_parent_pid=parent
            )
            capture.running()
            await asyncio.sleep(0.1)
            capture.done()
            exiting: bool = tctx.master.should_exit.is_set()
            return exiting

    assert asyncio.run(run()) is stopping


def test_addon_accepted_on_first_request_not_on_handshake(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    toy = Toy(tctx, 49731)
    toy.hello(addon)
    toy.established(addon)
    assert _verdicts(tmp_path) == []

    flow = toy.http_flow()
    flow.request.method, flow.request.path = "POST", "/v1/events?child=Emma"
    addon.requestheaders(flow)

    [verdict] = _verdicts(tmp_path)
    assert set(verdict) == {"time", "client", "server", "sni", "verdict", "detail"}
    assert verdict["time"].endswith("Z")
    assert verdict["client"] == f"{TOY_IP}:49731"
    assert verdict["server"] == "203.0.113.10:443"
    assert (verdict["sni"], verdict["verdict"]) == (API, "accepted")
    assert verdict["detail"] == "first request: POST /v1/events"
    assert _status(tmp_path)["counts"]["accepted"] == 1


def test_addon_rejected_with_the_alert_then_passes_the_host_through(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    refusing = Toy(tctx, 50001)
    refusing.hello(addon)
    refusing.failed(addon, UNKNOWN_CA)
    addon.client_disconnected(refusing.client)

    again = Toy(tctx, 50002).hello(addon)
    other_host = Toy(tctx, 50003).hello(addon, sni="voice.plushpal.example")
    other_toy = Toy(tctx, 50004, peer="192.168.4.99").hello(addon)

    [verdict] = _verdicts(tmp_path)
    assert verdict["verdict"] == "rejected"
    assert verdict["detail"] == "tlsv1 alert unknown ca"
    assert again.ignore_connection is True
    assert other_host.ignore_connection is False
    assert other_toy.ignore_connection is False
    assert _status(tmp_path)["counts"]["passthrough"] == 1


def test_addon_silent_when_the_handshake_completes_without_data(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    pinning = Toy(tctx, 50010)
    pinning.hello(addon)
    pinning.established(addon)
    addon.client_disconnected(pinning.client)

    [verdict] = _verdicts(tmp_path)
    assert verdict["verdict"] == "silent"
    assert _status(tmp_path)["counts"]["silent"] == 1


@pytest.mark.parametrize(
    "error",
    [NO_ALERT, "Client and mitmproxy cannot agree on a TLS version to use."],
)
def test_addon_aborted_without_a_certificate_alert(
    tctx: Any, addon: Any, tmp_path: Path, error: str
) -> None:
    toy = Toy(tctx, 50020)
    toy.hello(addon)
    toy.failed(addon, error)
    addon.client_disconnected(toy.client)
    again = Toy(tctx, 50021).hello(addon)

    [verdict] = _verdicts(tmp_path)
    assert verdict["verdict"] == "aborted"
    assert again.ignore_connection is False


def test_addon_gives_each_connection_exactly_one_verdict(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    toy = Toy(tctx, 50030)
    toy.hello(addon)
    toy.established(addon)
    first, second = toy.http_flow(), toy.http_flow()
    addon.requestheaders(first)
    addon.requestheaders(second)
    addon.client_disconnected(toy.client)
    addon.done()

    assert [line["verdict"] for line in _verdicts(tmp_path)] == ["accepted"]


def test_addon_counts_raw_tcp_and_websocket_data_from_the_client(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    mqtt, socket = Toy(tctx, 50040), Toy(tctx, 50041)
    for toy in (mqtt, socket):
        toy.hello(addon)
        toy.established(addon)
    tcp = tflow.ttcpflow()
    tcp.client_conn = mqtt.client
    tcp.messages = tcp.messages[:1]  # the client's, first
    websocket = make_websocket_flow()
    websocket.client_conn = socket.client
    websocket.websocket.messages = websocket.websocket.messages[:1]

    addon.tcp_message(tcp)
    addon.websocket_message(websocket)

    details = [line["detail"] for line in _verdicts(tmp_path)]
    assert details == [
        f"the client sent {len(tcp.messages[0].content)} bytes over TCP",
        "the client sent a WebSocket message",
    ]


def test_addon_ignores_server_data_on_a_pinned_connection(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    toy = Toy(tctx, 50050)
    toy.hello(addon)
    toy.established(addon)
    tcp = tflow.ttcpflow()
    tcp.client_conn = toy.client
    tcp.messages = [m for m in tcp.messages if not m.from_client]

    addon.tcp_message(tcp)
    addon.client_disconnected(toy.client)

    assert [line["verdict"] for line in _verdicts(tmp_path)] == ["silent"]


def test_addon_counts_undecided_data_and_an_incomplete_request(
    tctx: Any, addon: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # as mitmdump sets the root logger
    undecided, partial = Toy(tctx, 50060), Toy(tctx, 50061)
    for toy in (undecided, partial):
        toy.hello(addon)
        toy.established(addon)
    waiting = layer.NextLayer(undecided.context)
    waiting.events = [events.DataReceived(undecided.client, b"MQTT-CONNECT toy")]

    addon.next_layer(waiting)
    logging.getLogger("mitmproxy.proxy.server").info(
        "Client closed connection before completing request headers: b'GET /'",
        extra={"client": partial.client.peername},
    )

    assert [line["client"] for line in _verdicts(tmp_path)] == [
        f"{TOY_IP}:50060",
        f"{TOY_IP}:50061",
    ]
    assert [line["detail"] for line in _verdicts(tmp_path)] == [
        "the client sent 16 bytes of application data",
        "the client sent an incomplete request",
    ]
    assert {line["verdict"] for line in _verdicts(tmp_path)} == {"accepted"}


def test_addon_flushes_each_flow_while_running(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    flow = tflow.tflow(resp=True)
    addon.requestheaders(flow)
    addon.response(flow)
    addon.error(flow)  # a flow is written once, whatever hooks follow

    [saved] = _flows(tmp_path)
    assert saved.id == flow.id
    assert stat.S_IMODE((tmp_path / "flows.mitm").stat().st_mode) == 0o600
    assert _status(tmp_path)["counts"]["flows"] == 1


def test_addon_saves_every_kind_of_flow_when_it_ends(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    failed = tflow.tflow(err=True)
    tcp, udp = tflow.ttcpflow(), tflow.tudpflow()
    dns, websocket = tflow.tdnsflow(resp=True), make_websocket_flow()

    addon.error(failed)
    addon.tcp_end(tcp)
    addon.udp_end(udp)
    addon.dns_response(dns)
    addon.response(websocket)  # the upgrade: saved with its messages later
    assert len(_flows(tmp_path)) == 4
    addon.websocket_end(websocket)

    saved = {flow.id: flow for flow in _flows(tmp_path)}
    assert set(saved) == {flow.id for flow in (failed, tcp, udp, dns, websocket)}
    assert saved[websocket.id].websocket.messages


def test_addon_writes_flows_and_verdicts_still_open_at_done(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    mqtt = tflow.ttcpflow()
    addon.tcp_start(mqtt)
    chat = make_websocket_flow()
    addon.requestheaders(chat)
    addon.response(chat)
    idle, handshaking = Toy(tctx, 50070), Toy(tctx, 50071)
    idle.hello(addon)
    idle.established(addon)
    handshaking.hello(addon)

    addon.done()

    assert {flow.id for flow in _flows(tmp_path)} == {mqtt.id, chat.id}
    verdicts = {line["client"]: line["verdict"] for line in _verdicts(tmp_path)}
    assert verdicts == {f"{TOY_IP}:50070": "silent", f"{TOY_IP}:50071": "aborted"}
    assert _status(tmp_path)["state"] == "stopped"


def test_addon_writes_endpoints_in_the_session_format(
    tctx: Any, addon: Any, tmp_path: Path
) -> None:
    mapped, ipv6 = Toy(tctx, 50080, "::ffff:192.168.4.23"), Toy(tctx, 50081, "fd00::23")
    ipv6.context.server.peername = ("2001:db8::10", 443)
    for toy in (mapped, ipv6):
        toy.hello(addon, sni=None)
        toy.failed(addon, NO_ALERT)

    lines = _verdicts(tmp_path)
    assert [(line["client"], line["sni"]) for line in lines] == [
        (f"{TOY_IP}:50080", None),
        ("[fd00::23]:50081", None),
    ]
    assert lines[1]["server"] == "[2001:db8::10]:443"
    assert stat.S_IMODE((tmp_path / "tls-verdicts.jsonl").stat().st_mode) == 0o600


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (the suite runs as root), unmounted afterwards."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        check=True,
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` with a file outside the session, leaving ``leave`` bytes."""
    space = os.statvfs(disk)
    with (disk / "filler").open("wb") as filler:
        filler.write(bytes(space.f_bavail * space.f_frsize - leave))


def _large_flow() -> Any:
    """An HTTP flow whose saved form takes about 12 KB."""
    flow: Any = tflow.tflow(resp=True)
    flow.response.content = os.urandom(12_000)
    return flow


@pytest.mark.parametrize("leave", [0, 8192], ids=["disk-full", "flow-cut-short"])
def test_addon_full_disk_keeps_whole_flows_and_stops_mitmproxy(
    tctx: Any, tiny_disk: Path, caplog: pytest.LogCaptureFixture, leave: int
) -> None:
    session = tiny_disk / "session"
    session.mkdir()
    capture = mitm_addon.ToyauditCapture()
    tctx.master.addons.add(capture)
    tctx.configure(capture, toyaudit_dir=str(session))
    capture.running()
    saved = [_large_flow(), _large_flow()]
    for flow in saved:
        capture.response(flow)
    _fill(tiny_disk, leave)

    capture.response(_large_flow())  # no room for all of it, or for any of it
    pending = Toy(tctx, 50090)
    pending.hello(capture)
    capture.done()

    failure = capture.failure or ""
    assert failure.startswith("cannot write flows.mitm: ")
    assert "No space left on device" in failure
    assert "stopping" in caplog.text
    tctx.master.event_loop.run_until_complete(asyncio.sleep(0))  # shutdown's turn
    assert tctx.master.should_exit.is_set()
    # the flows saved before the disk filled are whole, and nothing came after
    assert [flow.id for flow in _flows(session)] == [flow.id for flow in saved]
    assert not (session / "tls-verdicts.jsonl").exists()
    status = _status(session)
    assert status["failure"] == failure
    assert status["counts"]["flows"] == 2 and status["state"] == "stopped"
    assert {path.name for path in session.iterdir()} == {
        "flows.mitm",
        ".proxy-status.json",
    }
