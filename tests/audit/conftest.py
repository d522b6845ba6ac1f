"""Sessions for the parallel-audit tests: one per kind of evidence that is split.

Each session carries the demo's persona and enough traffic to spread over
three shards: forty exchanges that name the child (so one finding gathers
more detections than it keeps), and the damage whose coverage notes shards
must merge exactly: a cut-off end, and for packets a fragmented datagram,
holes in TCP streams and a frame that is not IP, for flow files a flow
mitmproxy cannot load, for HAR a broken entry and a ``data:`` URL. Its
phases cut the exchanges into setup, play and after an opt-out, so that the
phase that raises a finding is chosen among evidence every shard holds some of.
"""

from __future__ import annotations

import heapq
import json
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from mitmproxy import io as mitmproxy_io
from mitmproxy.http import Request, Response
from mitmproxy.io import tnetstring
from mitmproxy.test import tflow

from toyaudit import synth
from toyaudit.demo_scenario import PERSONA, SESSION, START
from toyaudit.session import seal_session
from toyaudit.synthmessages import dns_query, http_request, http_response

EXCHANGES = 40
"""Exchanges per session: more than a finding keeps detections of."""
HOSTS = {
    "api.plushpal.example": "203.0.113.10",
    "ads.tracker.example": "198.51.100.20",
    "app-measurement.com": "198.51.100.30",
}
TOY = synth.Host("02:1a:7d:5e:33:c1", "192.168.4.23")
GATEWAY_MAC = "02:00:5e:c0:04:01"
BEGIN = START.timestamp()
PHASES = [
    {"name": "setup", "start": "2026-11-20T10:00:00Z", "end": "2026-11-20T10:00:01Z"},
    {"name": "play", "start": "2026-11-20T10:00:01Z", "end": "2026-11-20T10:00:30Z"},
    {
        "name": "after-opt-out",
        "start": "2026-11-20T10:00:30Z",
        "end": "2026-11-20T10:01:00Z",
    },
]
"""Setup takes the first second: the first half of the packets, one flow and
one HAR entry; flows and entries from the 30th second on come after an opt-out."""

# mitmproxy's constructors are unannotated; go through Any for mypy.
make_request: Any = Request.make
flow_writer: Any = mitmproxy_io.FlowWriter

SessionBuilder = Callable[[Path], Path]


def _query(number: int) -> str:
    child, parent = PERSONA["child"], PERSONA["parent"]
    return (
        f"child={child['name'].replace(' ', '%20')}&email={parent['email']}"
        f"&n={number}&serial={PERSONA['toy']['serial']}"
    )


def _host(number: int) -> str:
    return list(HOSTS)[number % len(HOSTS)]


def _write_session(folder: Path, evidence: str, content: bytes) -> Path:
    folder.mkdir(parents=True)
    session = {**SESSION, "phases": PHASES}
    (folder / "session.yaml").write_text(yaml.safe_dump(session), encoding="utf-8")
    (folder / "persona.yaml").write_text(yaml.safe_dump(PERSONA), encoding="utf-8")
    (folder / evidence).write_bytes(content)
    seal_session(folder)
    return folder


def _server(host: str) -> synth.Host:
    return synth.Host(GATEWAY_MAC, HOSTS[host])


def _conversation(number: int) -> list[synth.TimedFrame]:
    """One kept-alive HTTP connection of one to three exchanges."""
    host = _host(number)
    talk = synth.TcpConversation(
        (TOY, 40000 + number), (_server(host), 80), BEGIN + number * 0.05
    )
    frames = talk.open()
    for exchange in range(1 + number % 3):
        path = f"/v1/event?{_query(number * 10 + exchange)}"
        frames += talk.send(True, http_request("GET", host, path))
        frames += talk.send(False, http_response(200, body=b"{}"))
    if number % 13 == 5:  # a response segment the capture lost: a hole
        del frames[5]
    return frames + talk.close()


def _lookup(number: int) -> synth.TimedFrame:
    """The DNS query the toy sends before each connection."""
    frame = synth.udp_frame(
        TOY,
        synth.Host(GATEWAY_MAC, "192.168.4.1"),
        (50000 + number, 53),
        dns_query(number, _host(number)),
    )
    return synth.TimedFrame(BEGIN + number * 0.05 - 0.01, frame)


def _fragments(at: float, ident: int, complete: bool) -> list[synth.TimedFrame]:
    """A UDP datagram of plain text naming the child, in two IPv4 fragments.

    Without ``complete``, the second fragment is missing.
    """
    text = ("name=" + PERSONA["child"]["name"] + "&pad=" + "x" * 1400).encode()
    udp = struct.pack("!HHHH", 41000 + ident, 9999, 8 + len(text), 0) + text
    server = _server("api.plushpal.example")
    pieces = [(0, udp[:1024], 0x2000), (1024, udp[1024:], 0)][: 2 if complete else 1]
    frames = []
    for offset, piece, more in pieces:
        fields = (0x45, 0, 20 + len(piece), ident, more | offset // 8, 64, 17, 0)
        header = struct.pack("!BBHHHBBH", *fields) + TOY.packed_ip + server.packed_ip
        checksum = synth.internet_checksum(header)
        packet = header[:10] + struct.pack("!H", checksum) + header[12:] + piece
        frames.append(synth.TimedFrame(at, synth.ethernet_frame(TOY, server, packet)))
    return frames


def _arp(at: float) -> synth.TimedFrame:
    """An ARP request: not IP, so only the first shard counts it."""
    body = bytes.fromhex("0001080006040001") + TOY.packed_mac + TOY.packed_ip
    body += b"\x00" * 6 + bytes([192, 168, 4, 1])
    frame = b"\xff" * 6 + TOY.packed_mac + b"\x08\x06" + body
    return synth.TimedFrame(at, frame)


def _frames() -> Iterator[synth.TimedFrame]:
    streams = [[_lookup(number)] + _conversation(number) for number in range(EXCHANGES)]
    streams.append(_fragments(BEGIN + 0.5, 77, complete=True))
    streams.append(_fragments(BEGIN + 0.6, 78, complete=False))
    streams.append([_arp(BEGIN + 0.7)])
    return heapq.merge(*streams, key=lambda timed: timed.timestamp)


def build_pcap_session(folder: Path) -> Path:
    """A sealed session whose traffic.pcap ends in a cut frame."""
    path = folder.with_suffix(".tmp.pcap")
    with path.open("wb") as stream:
        synth.PcapWriter(stream).write_frames(_frames())
    capture = path.read_bytes()
    path.unlink()
    return _write_session(folder, "traffic.pcap", capture[:-7])


def build_large_pcap_session(folder: Path) -> Path:
    """A sealed session whose traffic.pcap is large enough to be hashed late.

    Its exchanges are followed by a megabyte and a half of UDP datagrams
    that carry nothing (see :mod:`toyaudit.session.digests`).
    """
    server = _server("api.plushpal.example")
    filler = [
        synth.TimedFrame(
            BEGIN + 40 + number * 0.001,
            synth.udp_frame(TOY, server, (42000, 9), bytes(1400)),
        )
        for number in range(1100)
    ]
    path = folder.with_suffix(".tmp.pcap")
    with path.open("wb") as stream:
        synth.PcapWriter(stream).write_frames([*_frames(), *filler])
    capture = path.read_bytes()
    path.unlink()
    return _write_session(folder, "traffic.pcap", capture)


def _http_flow(number: int) -> Any:
    flow = tflow.tflow()
    url = f"https://{_host(number)}/v1/event?{_query(number)}"
    body = json.dumps({"child": PERSONA["child"]["name"], "n": number}).encode()
    flow.request = make_request("POST", url, body)
    flow.request.timestamp_start = BEGIN + number
    flow.response = Response.make(200, b"{}")
    flow.id = f"flow-{number:03d}"
    flow.client_conn.peername = (TOY.ip, 40000 + number)
    flow.server_conn.peername = (HOSTS[_host(number)], 443)
    return flow


def build_flow_session(folder: Path) -> Path:
    """A sealed session whose flows.mitm holds an unloadable flow and a cut end."""
    path = folder.with_suffix(".tmp.mitm")
    with path.open("wb") as stream:
        writer = flow_writer(stream)
        for number in range(EXCHANGES):
            if number == 7:  # framed well, but no kind of flow mitmproxy knows
                stream.write(tnetstring.dumps({"type": "carrier-pigeon"}))
            writer.add(_http_flow(number))
    flows = path.read_bytes()
    path.unlink()
    return _write_session(folder, "flows.mitm", flows[:-20])


def _entry(number: int) -> dict[str, Any]:
    started = f"2026-11-20T10:00:{number:02d}.000Z"
    request: dict[str, Any] = {
        "method": "POST",
        "url": f"https://{_host(number)}/v1/event?{_query(number)}",
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "postData": {"text": json.dumps({"child": PERSONA["child"]["name"]})},
    }
    if number == 9:
        del request["url"]  # broken: the entry cannot be read
    if number == 11:
        request["url"] = "data:text/plain,hello"
    response = {"status": 200, "headers": [], "content": {"text": "{}"}}
    return {"startedDateTime": started, "request": request, "response": response}


def build_har_session(folder: Path) -> Path:
    """A sealed session whose app.har holds a broken entry, a data: URL, a cut end."""
    entries = [_entry(number) for number in range(EXCHANGES)]
    document = {"log": {"version": "1.2", "entries": entries}}
    text = json.dumps(document, indent=1).encode()
    return _write_session(folder, "app.har", text[:-40])


BUILDERS: dict[str, SessionBuilder] = {
    "pcap": build_pcap_session,
    "flows": build_flow_session,
    "har": build_har_session,
}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def split_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Each kind of session whose evidence is split between shards, in turn."""
    kind: str = request.param
    return BUILDERS[kind](tmp_path_factory.mktemp(kind) / "session")


@pytest.fixture(scope="module")
def flow_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session of flows, for tests of the worker processes themselves."""
    return build_flow_session(tmp_path_factory.mktemp("flows") / "session")
