"""Tests of 802.11 (with and without radiotap) decoding, against scapy frames."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.dot11 import Dot11, Dot11Beacon, Dot11QoS, RadioTap
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import LLC, SNAP

from toyaudit.ingest import ieee80211
from toyaudit.ingest.decode import decode_frame, format_address
from toyaudit.ingest.records import DnsQuery, HttpRequest

QUERY = UDP(sport=40000, dport=53) / DNS(qd=[DNSQR(qname="wifi.toy.example")])
TO_AP = Dot11(type=2, subtype=0, FCfield=0x01, addr1="02:00:00:00:00:01")


def _data_frame(layer: Any, **dot11: Any) -> Any:
    return Dot11(type=2, subtype=0, **dot11) / LLC() / SNAP() / layer


def test_ieee80211_radiotap_data_frame_yields_dns_query(read_capture: Any) -> None:
    frame = RadioTap() / _data_frame(IP(src="10.0.0.2", dst="10.0.0.1") / QUERY)

    observations, coverage = read_capture([frame], linktype=127)

    (query,) = observations
    assert isinstance(query, DnsQuery) and query.name == "wifi.toy.example"
    assert query.client.ip == "10.0.0.2" and coverage.problems == []


def test_ieee80211_without_radiotap_reads_qos_data_and_ipv6(read_capture: Any) -> None:
    qos = (
        Dot11(type=2, subtype=8, FCfield=0x02)
        / Dot11QoS()
        / LLC()
        / SNAP()
        / IPv6(src="fe80::2", dst="fe80::1")
        / TCP(sport=50000, dport=80, flags="PA", seq=1)
        / b"GET /v1 HTTP/1.1\r\nHost: toy.example\r\n\r\n"
    )

    observations, _ = read_capture([qos], linktype=105)

    (request,) = [item for item in observations if isinstance(item, HttpRequest)]
    assert request.path == "/v1" and request.client.ip == "fe80::2"


def test_ieee80211_counts_protected_and_management_frames(read_capture: Any) -> None:
    protected = RadioTap() / Dot11(type=2, FCfield=0x40) / (b"\x00" * 60)
    beacon = RadioTap() / Dot11(type=0, subtype=8) / Dot11Beacon()
    ack = RadioTap() / Dot11(type=1, subtype=13)

    observations, coverage = read_capture(
        [protected, protected, beacon, ack], linktype=127
    )

    assert observations == []
    assert any(
        "2 encrypted 802.11 frames could not be read" in note
        for note in coverage.problems
    )


def test_ieee80211_radiotap_with_fcs_flag_and_tsft() -> None:
    inner = _data_frame(IP(src="10.0.0.2", dst="10.0.0.1") / QUERY, FCfield=0x01)
    frame = bytes(RadioTap(present="TSFT+Flags", mac_timestamp=5, Flags="FCS") / inner)

    segment = decode_frame(127, frame + b"\xde\xad\xbe\xef")

    assert segment is not None and format_address(segment[3]) == "10.0.0.1"
    assert segment[8] == bytes(QUERY[DNS])
    bad = bytes(RadioTap(present="Flags", Flags="FCS+badFCS") / inner)
    assert decode_frame(127, bad) is None


def test_ieee80211_frame_kind_matches_scapy_types() -> None:
    assert ieee80211.frame_kind(105, bytes(TO_AP)) == ieee80211.DATA
    assert ieee80211.frame_kind(105, bytes(Dot11(type=0))) == ieee80211.MANAGEMENT
    assert ieee80211.frame_kind(105, bytes(Dot11(type=1))) == ieee80211.CONTROL
    assert ieee80211.frame_kind(127, b"\x00") == ieee80211.OTHER


@settings(max_examples=300, deadline=None)
@given(
    frame=st.binary(max_size=120),
    linktype=st.sampled_from([ieee80211.RADIOTAP, ieee80211.IEEE802_11]),
)
def test_ieee80211_survives_random_frames(frame: bytes, linktype: int) -> None:
    segment = decode_frame(linktype, frame)

    assert segment is None or len(segment) == 9
    assert ieee80211.frame_kind(linktype, frame) in {
        ieee80211.DATA,
        ieee80211.PROTECTED,
        ieee80211.MANAGEMENT,
        ieee80211.CONTROL,
        ieee80211.OTHER,
    }
