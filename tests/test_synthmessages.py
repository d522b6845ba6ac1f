"""Tests for toyaudit.synthmessages: scapy and the stdlib must parse its messages."""

from __future__ import annotations

import http.client
import io
import struct
from typing import Any

import pytest
from scapy.layers.dns import DNS
from scapy.main import load_layer

from toyaudit.synthmessages import (
    TLS1_2,
    TLS1_3,
    dns_query,
    dns_response,
    http_request,
    http_response,
    tls_application_data,
    tls_client_hello,
    tls_server_hello,
)

load_layer("tls")
load_layer("http")
from scapy.layers.http import HTTPRequest  # noqa: E402
from scapy.layers.tls.record import TLS  # noqa: E402


def _tls(record_bytes: bytes) -> Any:
    """Dissect TLS records with scapy (whose TLS class is unannotated)."""
    return TLS(record_bytes)  # type: ignore[no-untyped-call]


def test_dns_query_and_response_carry_the_name() -> None:
    name = "voice.plushpal.example"
    asked = DNS(dns_query(9, name))
    answered = DNS(dns_response(9, name, ["203.0.113.20", "203.0.113.21"]))
    assert (asked.id, asked.qr, asked.qd[0].qname) == (9, 0, b"voice.plushpal.example.")
    assert (answered.id, answered.qr, answered.ancount) == (9, 1, 2)
    assert [answered.an[index].rdata for index in range(2)] == [
        "203.0.113.20",
        "203.0.113.21",
    ]
    assert answered.an[0].rrname == b"voice.plushpal.example."


def test_dns_query_rejects_an_overlong_label() -> None:
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        dns_query(1, "x" * 64 + ".example")


def test_tls_client_hello_parses_with_sni_versions_and_alpn() -> None:
    hello_bytes = tls_client_hello("voice.plushpal.example", ("h2", "http/1.1"))
    record = _tls(hello_bytes)
    assert record.type == 22 and record.len == len(hello_bytes) - 5
    hello = record.msg[0]
    extensions = {type(extension).__name__: extension for extension in hello.ext}
    server_names = extensions["TLS_Ext_ServerName"].servernames
    assert [entry.servername for entry in server_names] == [b"voice.plushpal.example"]
    versions = extensions["TLS_Ext_SupportedVersion_CH"].versions
    assert versions == [TLS1_3, TLS1_2]
    assert extensions["TLS_Ext_ALPN"].protocols[1].protocol == b"http/1.1"
    key_share = extensions["TLS_Ext_KeyShare_CH"].client_shares[0]
    assert (key_share.group, len(key_share.key_exchange)) == (0x001D, 32)
    assert 0x1301 in hello.ciphers and len(hello.sid) == 32


def test_tls_client_hello_is_deterministic_per_seed() -> None:
    first = tls_client_hello("api.plushpal.example", seed=5)
    assert first == tls_client_hello("api.plushpal.example", seed=5)
    assert first != tls_client_hello("api.plushpal.example", seed=6)


def test_tls_server_hello_echoes_the_client_session_id() -> None:
    client_hello = tls_client_hello("api.plushpal.example", seed=1)
    records = _tls(tls_server_hello(client_hello, seed=2))
    server_hello = records.msg[0]
    assert server_hello.sid == _tls(client_hello).msg[0].sid
    assert server_hello.cipher == 0x1301
    assert records.payload.type == 20  # ChangeCipherSpec follows


def test_tls_application_data_splits_into_records() -> None:
    records = tls_application_data(40_000, seed=3)
    lengths = []
    offset = 0
    while offset < len(records):
        kind, version, length = struct.unpack("!BHH", records[offset : offset + 5])
        assert (kind, version) == (23, TLS1_2)
        lengths.append(length)
        offset += 5 + length
    assert lengths == [16384 + 17, 16384 + 17, 40_000 - 2 * 16384 + 17]


def test_http_request_is_well_formed() -> None:
    body = b'{"child_name":"Mirabel Quince"}'
    headers = {"Content-Type": "application/json"}
    request_bytes = http_request("POST", "api.plushpal.example", "/v1/p", headers, body)
    head, _, rest = request_bytes.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/p HTTP/1.1"
    assert lines[1] == b"Host: api.plushpal.example"
    assert rest == body
    parsed = HTTPRequest(request_bytes)
    assert parsed.Content_Length == str(len(body)).encode()


def test_http_response_parses_with_the_standard_library() -> None:
    response_bytes = http_response(201, {"Content-Type": "text/plain"}, b"made")

    class _FakeSocket:
        def makefile(self, mode: str) -> io.BytesIO:
            return io.BytesIO(response_bytes)

    response = http.client.HTTPResponse(_FakeSocket())  # type: ignore[arg-type]
    response.begin()
    assert (response.status, response.reason) == (201, "Created")
    assert response.getheader("Content-Type") == "text/plain"
    assert response.read() == b"made"


def test_http_response_without_body_still_states_its_length() -> None:
    assert b"Content-Length: 0\r\n" in http_response(200)
    assert b"Content-Length" not in http_response(204)


def test_http_request_rejects_a_header_with_a_line_break() -> None:
    with pytest.raises(ValueError, match="line break"):
        http_request("GET", "a.example", "/", {"X-Evil": "a\r\nInjected: 1"})
