"""Tests of the TLS ClientHello reader against hellos built by scapy."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.tls import extensions, handshake, record

from toyaudit.ingest import tls

# scapy's TLS classes carry no annotations; typed as Any for mypy --strict.
TLS: Any = record.TLS
TLSClientHello: Any = handshake.TLSClientHello
ProtocolName: Any = extensions.ProtocolName
ServerName: Any = extensions.ServerName
TLS_Ext_ALPN: Any = extensions.TLS_Ext_ALPN
TLS_Ext_ServerName: Any = extensions.TLS_Ext_ServerName
TLS_Ext_SupportedVersion_CH: Any = extensions.TLS_Ext_SupportedVersion_CH


def _hello_record() -> bytes:
    hello = TLSClientHello(
        ciphers=[0x1301, 0xC02F],
        ext=[
            TLS_Ext_ServerName(
                servernames=[ServerName(servername=b"Cloud.Toy.Example.")]
            ),
            TLS_Ext_SupportedVersion_CH(versions=[0x0304, 0x0303]),
            TLS_Ext_ALPN(
                protocols=[
                    ProtocolName(protocol=b"h2"),
                    ProtocolName(protocol=b"http/1.1"),
                ]
            ),
        ],
    )
    return bytes(TLS(msg=[hello]))


def test_tls_extract_reads_fields_scapy_wrote() -> None:
    record = _hello_record()

    state, used, hello = tls.extract_client_hello(record + b"\x17\x03\x03")

    assert (state, used) == (tls.DONE, len(record))
    assert hello == tls.ClientHello(
        legacy_version=0x0303,
        cipher_suites=(0x1301, 0xC02F),
        sni="cloud.toy.example",
        supported_versions=(0x0304, 0x0303),
        alpn=("h2", "http/1.1"),
        extensions=(0, 43, 16),
    )


def test_tls_extract_gathers_hello_spanning_two_records() -> None:
    record = _hello_record()
    handshake = record[5:]
    split = (
        b"\x16\x03\x01"
        + (20).to_bytes(2, "big")
        + handshake[:20]
        + b"\x16\x03\x01"
        + (len(handshake) - 20).to_bytes(2, "big")
        + handshake[20:]
    )

    assert tls.extract_client_hello(split[:30])[0] == tls.MORE
    state, used, hello = tls.extract_client_hello(split)

    assert state == tls.DONE and used == len(split)
    assert hello is not None and hello.sni == "cloud.toy.example"


def test_tls_extract_refuses_other_records() -> None:
    assert tls.extract_client_hello(b"\x17\x03\x03\x00\x02ab")[0] == tls.INVALID
    assert tls.looks_like_client_hello(b"GET / ") is False


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_tls_parsers_survive_mutated_hellos(data: st.DataObject) -> None:
    record = bytearray(_hello_record())
    for _ in range(data.draw(st.integers(0, 6))):
        position = data.draw(st.integers(0, len(record) - 1))
        record[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(record)))

    state, used, hello = tls.extract_client_hello(bytes(record[:cut]))
    parsed = tls.parse_client_hello(bytes(record[9:cut]))

    assert state in (tls.MORE, tls.DONE, tls.INVALID) and 0 <= used <= cut
    assert (hello is not None) == (state == tls.DONE)
    assert parsed is None or isinstance(parsed.sni, str | None)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300))
def test_tls_parse_survives_random_bytes(body: bytes) -> None:
    hello = tls.parse_client_hello(body)

    assert hello is None or len(hello.cipher_suites) <= len(body) // 2
