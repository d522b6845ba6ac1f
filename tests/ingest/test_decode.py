"""Tests of the struct frame decoder against frames built by scapy."""

from __future__ import annotations

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import CookedLinux, Dot1Q, Ether, Loopback

from toyaudit.ingest.decode import IPV4_FRAGMENT, decode_frame, format_address
from toyaudit.ingest.decode import TCP as TCP_PROTOCOL
from toyaudit.ingest.decode import UDP as UDP_PROTOCOL

SEGMENT = TCP(sport=50000, dport=80, seq=7, ack=9, flags="PA") / b"payload"


def test_decode_ethernet_with_two_vlan_tags() -> None:
    frame = bytes(
        Ether()
        / Dot1Q(vlan=10)
        / Dot1Q(vlan=20)
        / IP(src="10.0.0.2", dst="10.0.0.3")
        / SEGMENT
    )

    segment = decode_frame(1, frame)

    assert segment is not None
    (
        protocol,
        source,
        source_port,
        destination,
        destination_port,
        seq,
        ack,
        flags,
        payload,
    ) = segment
    assert (protocol, source_port, destination_port, seq, ack) == (
        TCP_PROTOCOL,
        50000,
        80,
        7,
        9,
    )
    assert (format_address(source), format_address(destination)) == (
        "10.0.0.2",
        "10.0.0.3",
    )
    assert flags == 0x18 and payload == b"payload"


def test_decode_trims_ethernet_padding_by_ip_length() -> None:
    frame = bytes(Ether() / IP() / UDP(sport=1, dport=53) / b"ab") + b"\x00" * 20

    segment = decode_frame(1, frame)

    assert segment is not None and segment[0] == UDP_PROTOCOL and segment[8] == b"ab"


def test_decode_ipv6_with_hop_by_hop_over_linux_cooked() -> None:
    frame = bytes(
        CookedLinux()
        / IPv6(src="2001:db8::1", dst="2001:db8::2")
        / IPv6ExtHdrHopByHop()
        / SEGMENT
    )

    segment = decode_frame(113, frame)

    assert segment is not None
    assert format_address(segment[1]) == "2001:db8::1" and segment[8] == b"payload"


def test_decode_raw_ip_and_loopback() -> None:
    raw = bytes(IP(src="192.0.2.1", dst="192.0.2.2") / SEGMENT)

    assert decode_frame(101, raw) == decode_frame(0, bytes(Loopback(type=2)) + raw)
    assert decode_frame(101, raw) is not None


def test_decode_hands_fragments_over_and_skips_other_protocols() -> None:
    later_fragment = bytes(IP(frag=185, proto=6, id=77) / (b"x" * 40))

    fragment = decode_frame(101, later_fragment)

    assert fragment is not None and fragment[0] == IPV4_FRAGMENT
    assert fragment[2] == 77 and fragment[4:7] == (6, 185 * 8, 0)
    assert fragment[8] == b"x" * 40
    assert decode_frame(1, bytes(Ether(type=0x0806) / (b"\x00" * 28))) is None
    assert decode_frame(1, b"\x00" * 13) is None
    assert decode_frame(147, bytes(IP() / SEGMENT)) is None
