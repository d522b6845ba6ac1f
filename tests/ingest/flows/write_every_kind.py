"""Write a mitmproxy flow file holding one flow of every kind, with fixed ids.

The flow-file tests run :func:`write_every_kind` in-process, with the installed
mitmproxy (11.0.2 on Python 3.11). ``every_kind.mitmproxy12.mitm`` beside this
file is the same function's output under mitmproxy 12.3.1 (Python 3.12), so
the tests also read a file written by mitmproxy 12. To regenerate it:

    python3.12 -m venv /tmp/mitm12 && /tmp/mitm12/bin/pip install mitmproxy==12.3.1
    /tmp/mitm12/bin/python tests/ingest/flows/write_every_kind.py \\
        tests/ingest/flows/every_kind.mitmproxy12.mitm

Only names that mitmproxy 11 and 12 share are used (no ``dns.Message`` or
``dns.DNSMessage``).
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path
from typing import Any

from mitmproxy import dns, io, tcp, udp, websocket
from mitmproxy.http import Request, Response
from mitmproxy.test import tflow

TOY = ("10.77.0.2", 40000)
CLOUD = ("203.0.113.7", 443)
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z

# mitmproxy's constructors are partly unannotated; go through Any for mypy.
make_request: Any = Request.make
tcp_message: Any = tcp.TCPMessage
udp_message: Any = udp.UDPMessage
flow_writer: Any = io.FlowWriter


def noise(size: int) -> bytes:
    """Bytes that look random (a SHA-256 chain), the same on every run."""
    blocks = [hashlib.sha256(str(index).encode()).digest() for index in range(size)]
    return b"".join(blocks)[:size]


def _connections(flow: Any, tls: bool, offset: float) -> None:
    flow.client_conn.peername = TOY
    flow.client_conn.timestamp_start = START + offset
    flow.client_conn.timestamp_tls_setup = START + offset if tls else None
    flow.server_conn.peername = CLOUD
    flow.server_conn.address = ("cloud.toy.example", CLOUD[1])


def http_flow() -> Any:
    """An HTTPS POST of JSON with its response."""
    flow = tflow.tflow()
    flow.request = make_request(
        "POST",
        "https://Cloud.Toy.Example/v1/child?name=Lily%20Doe",
        b'{"child": "Lily"}',
        {"content-type": "application/json"},
    )
    flow.request.timestamp_start = START + 1
    flow.response = Response.make(200, b'{"ok": true}', {"x-server": "toy"})
    flow.id = "http-1"
    _connections(flow, tls=True, offset=1)
    return flow


def websocket_flow() -> Any:
    """A wss connection: two messages from the toy, one from the cloud.

    A fourth message was injected by a mitmproxy script and is not traffic.
    """
    flow: Any = tflow.tflow(ws=True)
    flow.request = make_request("GET", "https://cloud.toy.example:8443/ws?token=abc")
    flow.request.timestamp_start = START + 2
    flow.response = Response.make(101)
    flow.websocket.messages = [
        websocket.WebSocketMessage(1, True, b'{"child": "Lily"}', START + 2.1),
        websocket.WebSocketMessage(2, True, b"\x00\x01voice", START + 2.2),
        websocket.WebSocketMessage(1, False, b"ok", START + 2.3),
        websocket.WebSocketMessage(1, True, b"script", START + 2.4, injected=True),
    ]
    flow.id = "ws-1"
    _connections(flow, tls=True, offset=2)
    return flow


def tcp_flows() -> list[Any]:
    """A plaintext TCP stream answered with ciphertext; a decrypted audio upload."""
    talk = tflow.ttcpflow()
    talk.messages = [
        tcp_message(True, b"HELLO child=Lily ", START + 3.1),
        tcp_message(True, b"age=7\n", START + 3.2),
        tcp_message(False, noise(1024), START + 3.3),
    ]
    talk.id = "tcp-1"
    _connections(talk, tls=False, offset=3)
    upload = tflow.ttcpflow()
    upload.messages = [tcp_message(True, b"OggS\x00\x02" + noise(200), START + 4.1)]
    upload.id = "tcp-2"
    _connections(upload, tls=True, offset=4)
    return [talk, upload]


def _mqtt_string(text: str) -> bytes:
    return len(text).to_bytes(2, "big") + text.encode()


def mqtt_flow() -> Any:
    """MQTT 3.1.1 over TLS: CONNECT (split in two) and a PUBLISH, then CONNACK."""
    connect_body = (
        _mqtt_string("MQTT")
        + b"\x04\xc2\x00\x3c"  # level 4; user name, password, clean session
        + _mqtt_string("toybear-123")
        + _mqtt_string("toy")
        + _mqtt_string("s3cret")
    )
    connect = bytes([0x10, len(connect_body)]) + connect_body
    publish_body = _mqtt_string("toy/child") + b'{"child": "Lily"}'
    publish = bytes([0x30, len(publish_body)]) + publish_body
    flow = tflow.ttcpflow()
    flow.messages = [
        tcp_message(True, connect[:7], START + 7.1),
        tcp_message(True, connect[7:], START + 7.2),
        tcp_message(False, b"\x20\x02\x00\x00", START + 7.3),
        tcp_message(True, publish, START + 7.4),
    ]
    flow.id = "mqtt-1"
    _connections(flow, tls=True, offset=7)
    return flow


def udp_flow() -> Any:
    """One gzip datagram from the toy."""
    flow = tflow.tudpflow()
    payload = gzip.compress(b"child=Lily" * 20, mtime=0)
    flow.messages = [udp_message(True, payload, START + 5.1)]
    flow.id = "udp-1"
    _connections(flow, tls=False, offset=5)
    return flow


def dns_flow() -> Any:
    """A plain DNS query with two questions."""
    flow = tflow.tdnsflow()
    flow.request.questions = [
        dns.Question("Cloud.Toy.Example.", 1, 1),
        dns.Question("cloud.toy.example", 28, 1),
    ]
    flow.request.timestamp = START + 6
    flow.id = "dns-1"
    _connections(flow, tls=False, offset=6)
    flow.server_conn.peername = ("192.0.2.53", 53)
    return flow


def write_every_kind(path: Path) -> None:
    """Write the flows above to ``path`` with mitmproxy's own writer."""
    with path.open("wb") as stream:
        writer = flow_writer(stream)
        for flow in [
            http_flow(),
            websocket_flow(),
            *tcp_flows(),
            mqtt_flow(),
            udp_flow(),
            dns_flow(),
        ]:
            writer.add(flow)


if __name__ == "__main__":
    write_every_kind(Path(sys.argv[1]))
