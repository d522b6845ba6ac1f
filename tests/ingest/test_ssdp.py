"""Tests of the SSDP (HTTP-over-UDP) reader."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from toyaudit.ingest.records import SsdpMessage
from toyaudit.ingest.ssdp import MAX_HEADERS, parse_ssdp

SEARCH = (
    b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
    b'MAN: "ssdp:discover"\r\nMX: 2\r\nST: urn:toy:device:Bear:1\r\n\r\n'
)


def test_ssdp_search_and_notify_become_observations(read_capture: Any) -> None:
    notify = (
        b"NOTIFY * HTTP/1.1\nLOCATION: http://10.0.0.7/desc.xml\n"
        b"SERVER: BearOS/1.2 UPnP/1.0\nUSN: uuid:1234::upnp:rootdevice\n\n"
    )
    reply = b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n"
    packets = [
        Ether()
        / IP(src="10.0.0.7", dst="239.255.255.250")
        / UDP(sport=41000, dport=1900)
        / body
        for body in (SEARCH, notify)
    ]
    packets.append(
        Ether()
        / IP(src="10.0.0.1", dst="10.0.0.7")
        / UDP(sport=1900, dport=41000)
        / reply
    )

    observations, _ = read_capture(packets)

    search, notice, answer = observations
    assert isinstance(search, SsdpMessage) and isinstance(notice, SsdpMessage)
    assert search.start_line == "M-SEARCH * HTTP/1.1"
    assert ("ST", "urn:toy:device:Bear:1") in search.headers
    assert notice.headers[1] == ("SERVER", "BearOS/1.2 UPnP/1.0")
    assert isinstance(answer, SsdpMessage) and answer.start_line.startswith("HTTP/1.1")
    assert search.client.ip == "10.0.0.7" and search.server.port == 1900


def test_ssdp_refuses_other_datagrams() -> None:
    assert parse_ssdp(b"\x80\x00binary") is None
    assert parse_ssdp(b"GET") is None


@settings(max_examples=300, deadline=None)
@given(tail=st.binary(max_size=300))
def test_ssdp_survives_random_headers(tail: bytes) -> None:
    message = parse_ssdp(b"NOTIFY * HTTP/1.1\r\n" + tail)

    assert message is not None and len(message.headers) <= MAX_HEADERS
