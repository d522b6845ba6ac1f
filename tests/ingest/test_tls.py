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


def test_tls_parse_client_hello_reads_fields_scapy_wrote() -> None:
    record = _hello_record()

    hello = tls.parse_client_hello(record[9:])  # after record and message headers

    assert hello == tls.ClientHello(
        legacy_version=0x0303,
        cipher_suites=(0x1301, 0xC02F),
        sni="cloud.toy.example",
        supported_versions=(0x0304, 0x0303),
        alpn=("h2", "http/1.1"),
        extensions=(0, 43, 16),
    )


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_tls_parse_survives_mutated_hellos(data: st.DataObject) -> None:
    record = bytearray(_hello_record())
    for _ in range(data.draw(st.integers(0, 6))):
        position = data.draw(st.integers(0, len(record) - 1))
        record[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(record)))

    parsed = tls.parse_client_hello(bytes(record[9:cut]))

    assert parsed is None or isinstance(parsed.sni, str | None)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300))
def test_tls_parse_survives_random_bytes(body: bytes) -> None:
    hello = tls.parse_client_hello(body)

    assert hello is None or len(hello.cipher_suites) <= len(body) // 2
