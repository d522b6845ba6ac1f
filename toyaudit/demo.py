"""Generate the bundled demo session: a fictional talking plush toy, captured.

``python -m toyaudit.demo [FOLDER]`` writes a complete, sealed session folder
(default ``captures/demo-plushbear``) for "Bramble the Talking Bear" by the
invented vendor PlushPal Toys Ltd. Everything in it is made up: the child, the
parent, the home, the vendor and every address (``.example`` domains and the
RFC 5737 documentation networks), except ``app-measurement.com``, the real
analytics host the scenario needs. The traffic shows what toyaudit is built to
find: the child's name in plaintext HTTP, voice uploads, Wi-Fi credentials and
home coordinates sent at setup, and a hashed e-mail sent to an analytics
service. The output is byte-identical on every run, so tests can compare it
with the committed copy.

The scenario itself (toy, persona, addresses and exchanges) lives in
:mod:`toyaudit.demo_scenario`; this module turns it into the session files,
packets and flows, and re-exports the scenario names it has always offered.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from mitmproxy import connection, http
from mitmproxy.io import FlowWriter
from mitmproxy.proxy.mode_specs import ProxyMode

from toyaudit import synth
from toyaudit.demo_scenario import (
    GATEWAY,
    GATEWAY_MAC,
    PERSONA,
    PHONE,
    SERVER_ADDRESSES,
    SESSION,
    START,
    TOY,
    Exchange,
    exchanges,
    plain_http_messages,
)
from toyaudit.errors import SessionError
from toyaudit.files import make_private_dir, write_atomic
from toyaudit.session import MANIFEST_FILE, seal_session

__all__ = [
    "DEFAULT_FOLDER",
    "DEMO_FILES",
    "GATEWAY",
    "PERSONA",
    "PHONE",
    "SERVER_ADDRESSES",
    "SESSION",
    "START",
    "TOY",
    "build_demo",
    "main",
]

logger = logging.getLogger(__name__)

DEFAULT_FOLDER = Path("captures/demo-plushbear")
DEMO_FILES = ("session.yaml", "persona.yaml", "traffic.pcap", "flows.mitm")
"""The files :func:`build_demo` writes, besides ``manifest.json``."""


def build_demo(folder: Path) -> Path:
    """Write the demo session into ``folder``, seal it and return ``folder``.

    The folder is created readable by its owner only. Files this generator
    wrote before are replaced; any other file in the folder stops the run
    with a :class:`SessionError`, since sealing would vouch for it.
    """
    make_private_dir(folder)
    _refuse_foreign_files(folder)
    write_atomic(folder / "session.yaml", _yaml_text("The toy and capture.", SESSION))
    write_atomic(folder / "persona.yaml", _yaml_text("The child profile.", PERSONA))
    write_atomic(folder / "traffic.pcap", _pcap_bytes())
    write_atomic(folder / "flows.mitm", _flow_bytes())
    seal_session(folder)
    logger.info("wrote the demo session to %s", folder)
    return folder


def _refuse_foreign_files(folder: Path) -> None:
    """Stop before overwriting a folder that holds more than an earlier demo."""
    expected = {*DEMO_FILES, MANIFEST_FILE}
    for path in sorted(folder.iterdir()):
        if path.name not in expected:
            raise SessionError(
                f"{path}: not written by the demo generator",
                "choose an empty folder, or remove the file first",
            )


def _yaml_text(title: str, document: dict[str, Any]) -> bytes:
    """Dump ``document`` as block YAML under a comment saying it is made up."""
    header = (
        f"# {title}\n# Written by python -m toyaudit.demo; all of it is fictional.\n"
    )
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=88)
    return (header + body).encode("utf-8")


def _pcap_bytes() -> bytes:
    """Every frame of the demo, written as a classic pcap in time order."""
    frames = [
        *_dns_frames(PHONE, 53001, 0x51A1, "api.plushpal.example", 40.0),
        *_dns_frames(PHONE, 53002, 0x51A2, "app-measurement.com", 90.0),
        *_dns_frames(TOY, 50311, 0x7B01, "api.plushpal.example", 120.0),
        *_plain_http_frames(121.0),
        *_dns_frames(TOY, 50312, 0x7B02, "voice.plushpal.example", 360.0),
    ]
    for index, exchange in enumerate(exchanges()):
        frames.extend(_tls_frames(exchange, seed=index + 1))
    frames.sort(key=lambda timed: timed.timestamp)
    stream = io.BytesIO()
    synth.PcapWriter(stream).write_frames(frames)
    return stream.getvalue()


def _server(host_name: str) -> synth.Host:
    """A public server as seen on the LAN: its IP behind the gateway's MAC."""
    return synth.Host(GATEWAY_MAC, SERVER_ADDRESSES[host_name])


def _dns_frames(
    client: synth.Host, port: int, transaction_id: int, name: str, offset: float
) -> list[synth.TimedFrame]:
    """A DNS query to the gateway and its one-address answer 12 ms later."""
    when = START.timestamp() + offset
    query = synth.dns_query(transaction_id, name)
    answer = synth.dns_response(transaction_id, name, [SERVER_ADDRESSES[name]])
    return [
        synth.TimedFrame(when, synth.udp_frame(client, GATEWAY, (port, 53), query)),
        synth.TimedFrame(
            when + 0.012, synth.udp_frame(GATEWAY, client, (53, port), answer)
        ),
    ]


def _plain_http_frames(offset: float) -> list[synth.TimedFrame]:
    """The toy's plaintext HTTP conversation on port 80, from SYN to FIN."""
    conversation = synth.TcpConversation(
        (TOY, 49731), (_server("api.plushpal.example"), 80),
        START.timestamp() + offset, isn=(0x3A10_0000, 0x8C20_0000),
    )  # fmt: skip
    return _converse(conversation, plain_http_messages())


def _converse(
    conversation: synth.TcpConversation, messages: list[tuple[bool, float, bytes]]
) -> list[synth.TimedFrame]:
    """Open, send each (from client?, delay in seconds, payload), then close."""
    frames = conversation.open()
    for from_client, delay, payload in messages:
        conversation.wait(delay)
        frames += conversation.send(from_client, payload)
    return frames + conversation.close()


def _tls_frames(exchange: Exchange, seed: int) -> list[synth.TimedFrame]:
    """The encrypted side of an exchange: handshake, then records of matching size.

    Each record stands in for the HTTP message of the same length in
    flows.mitm; the server's first flight adds ~2.4 kB for EncryptedExtensions,
    Certificate and Finished, the client's 52 bytes for its Finished.
    """
    request = synth.http_request(
        exchange.method, exchange.host, exchange.path,
        exchange.request_headers, exchange.request_body,
    )  # fmt: skip
    response = synth.http_response(
        exchange.status, exchange.response_headers, exchange.response_body
    )
    alpn = ("h2", "http/1.1") if exchange.client is PHONE else ("http/1.1",)
    hello = synth.tls_client_hello(exchange.host, alpn, seed=seed * 10)
    server_flight = synth.tls_server_hello(hello, seed=seed * 10 + 1)
    server_flight += synth.tls_application_data(2400, seed=seed * 10 + 2)
    messages = [
        (True, 0.0, hello),
        (False, 0.03, server_flight),
        (True, 0.0, synth.tls_application_data(52, seed=seed * 10 + 3)),
        (True, 0.0, synth.tls_application_data(len(request), seed=seed * 10 + 4)),
        (False, 0.15, synth.tls_application_data(len(response), seed=seed * 10 + 5)),
    ]
    conversation = synth.TcpConversation(
        (exchange.client, exchange.client_port), (_server(exchange.host), 443),
        exchange.start, isn=(0x1F00_0000 * seed, 0x6100_0000 + seed),
    )  # fmt: skip
    return _converse(conversation, messages)


def _flow_bytes() -> bytes:
    """The four decrypted exchanges, as mitmproxy's FlowWriter stores them."""
    stream = io.BytesIO()
    # mitmproxy leaves FlowWriter's __init__ unannotated.
    writer = FlowWriter(stream)  # type: ignore[no-untyped-call]
    for exchange in exchanges():
        writer.add(_http_flow(exchange))
    return stream.getvalue()


def _http_flow(exchange: Exchange) -> http.HTTPFlow:
    """Build the flow mitmproxy would have recorded for ``exchange``.

    Times follow the pcap conversation: TLS is up 37 ms after the SYN, the
    request leaves at 40 ms and the answer arrives 150 ms later.
    """
    start = exchange.start
    flow = http.HTTPFlow(_client_connection(exchange), _server_connection(exchange))
    flow.id = exchange.flow_id
    flow.timestamp_created = start + 0.04
    url = f"https://{exchange.host}{exchange.path}"
    request_headers = _header_pairs({"Host": exchange.host, **exchange.request_headers})
    flow.request = http.Request.make(
        exchange.method, url, exchange.request_body, request_headers
    )
    flow.request.timestamp_start = start + 0.04
    flow.request.timestamp_end = start + 0.046
    flow.response = http.Response.make(
        exchange.status,
        exchange.response_body,
        _header_pairs(exchange.response_headers),
    )
    # Real captures carry no Content-Length on a bodiless GET or a 204.
    for message in (flow.request, flow.response):
        if not message.raw_content:
            del message.headers["content-length"]
    flow.response.timestamp_start = start + 0.192
    flow.response.timestamp_end = start + 0.199
    return flow


def _tls_fields(exchange: Exchange) -> dict[str, Any]:
    """Connection fields both sides of an intercepted TLS 1.3 exchange share."""
    return {
        "state": connection.ConnectionState.CLOSED,
        "timestamp_end": exchange.start + 0.202,
        "tls": True,
        "sni": exchange.host,
        "alpn": b"http/1.1",
        "tls_version": "TLSv1.3",
        "cipher": "TLS_AES_128_GCM_SHA256",
    }


def _header_pairs(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Headers as mitmproxy stores them: byte pairs, in the order given."""
    return [(name.encode(), value.encode()) for name, value in headers.items()]


def _client_connection(exchange: Exchange) -> connection.Client:
    """The toy's or phone's side of an exchange, intercepted transparently."""
    return connection.Client(
        id=exchange.flow_id.replace("-4000-", "-4c00-"),
        peername=(exchange.client.ip, exchange.client_port),
        sockname=(GATEWAY.ip, 8080),
        proxy_mode=ProxyMode.parse("transparent"),
        timestamp_start=exchange.start,
        timestamp_tls_setup=exchange.start + 0.037,
        **_tls_fields(exchange),
    )


def _server_connection(exchange: Exchange) -> connection.Server:
    """mitmproxy's upstream connection to the real server of an exchange."""
    address = (SERVER_ADDRESSES[exchange.host], 443)
    return connection.Server(
        id=exchange.flow_id.replace("-4000-", "-5e00-"),
        address=address,
        peername=address,
        sockname=("192.0.2.50", exchange.client_port + 10000),
        timestamp_start=exchange.start + 0.002,
        timestamp_tcp_setup=exchange.start + 0.012,
        timestamp_tls_setup=exchange.start + 0.034,
        **_tls_fields(exchange),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the demo session; the only argument is the target folder."""
    parser = argparse.ArgumentParser(
        prog="python -m toyaudit.demo",
        description="Write the bundled demo session of a fictional talking bear.",
    )
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=DEFAULT_FOLDER,
        help=f"Session folder to write (default: {DEFAULT_FOLDER}).",
    )
    arguments = parser.parse_args(argv)
    try:
        folder = build_demo(arguments.folder)
    except SessionError as error:
        sys.stderr.write(f"error: {error}\n")
        return int(error.exit_code)
    sys.stdout.write(f"wrote {folder}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
