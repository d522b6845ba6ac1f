"""Tests of IPv4 and IPv6 fragment reassembly, against scapy's fragmenters."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers import inet, inet6
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import Ether

from toyaudit.ingest import fragments
from toyaudit.ingest.records import DnsQuery, HttpRequest

# scapy's fragmenters carry no annotations; typed as Any for mypy --strict.
fragment: Any = inet.fragment
fragment6: Any = inet6.fragment6

NAMES = [f"host{index}.toy.example" for index in range(60)]
BIG_QUERY = DNS(qd=[DNSQR(qname=name) for name in NAMES])


def _names(observations: list[Any]) -> list[str]:
    return [item.name for item in observations if isinstance(item, DnsQuery)]


def test_fragments_ipv4_udp_reassembled_in_any_order(read_capture: Any) -> None:
    datagram = IP(src="10.0.0.2", dst="10.0.0.1", id=4242) / UDP(dport=53) / BIG_QUERY
    pieces = [Ether() / piece for piece in fragment(datagram, fragsize=400)]
    assert len(pieces) >= 3
    pieces.reverse()

    observations, coverage = read_capture(pieces)

    assert _names(observations) == NAMES
    (first,) = {item.evidence.packets for item in observations}
    assert first == tuple(range(1, len(pieces) + 1))
    assert coverage.problems == []


def test_fragments_ipv6_udp_reassembled(read_capture: Any) -> None:
    datagram = (
        IPv6(src="2001:db8::2", dst="2001:db8::1")
        / IPv6ExtHdrFragment(id=7)
        / UDP(dport=53)
        / BIG_QUERY
    )
    pieces = [Ether() / piece for piece in fragment6(datagram, 600)]

    observations, _ = read_capture(pieces)

    assert _names(observations) == NAMES


def test_fragments_tcp_segment_reassembled(read_capture: Any) -> None:
    body = b"x" * 3000
    request = b"POST /up HTTP/1.1\r\nHost: toy\r\nContent-Length: 3000\r\n\r\n" + body
    segment = IP(src="10.0.0.2", dst="10.0.0.1", id=9) / TCP(
        sport=50000, dport=80, flags="PA", seq=1
    )
    pieces = [Ether() / piece for piece in fragment(segment / request, fragsize=1000)]

    observations, _ = read_capture(pieces)

    (http_request,) = [item for item in observations if isinstance(item, HttpRequest)]
    assert http_request.body == body


def test_fragments_missing_piece_is_noted(read_capture: Any) -> None:
    datagram = IP(src="10.0.0.2", dst="10.0.0.1", id=5) / UDP(dport=53) / BIG_QUERY
    pieces = [Ether() / piece for piece in fragment(datagram, fragsize=400)]
    del pieces[1]

    observations, coverage = read_capture(pieces)

    assert observations == []
    assert any("1 fragmented IP datagrams" in note for note in coverage.problems)


def test_fragments_overlap_keeps_first_copy() -> None:
    table = fragments.FragmentTable()
    key = (-4, b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01", 1, 17)

    assert table.add(key, 0, 1, b"AAAAAAAA", 1) is None
    assert table.add(key, 8, 1, b"BBBBBBBB", 2) is None
    assert table.add(key, 4, 1, b"XXXXXXXXXXXX", 3) is None  # overlaps both
    whole = table.add(key, 16, 0, b"CC", 4)

    assert whole == (b"AAAAAAAABBBBBBBBCC", (1, 2, 3, 4))
    assert table.pending() == 0 and table.held == 0


def test_fragments_time_out_by_frame_count() -> None:
    table = fragments.FragmentTable()
    key = (-4, b"\x01" * 4, b"\x02" * 4, 1, 17)
    table.add(key, 8, 0, b"tail", 1)

    other = (-4, b"\x01" * 4, b"\x02" * 4, 2, 17)
    table.add(other, 8, 0, b"tail", fragments.TIMEOUT_FRAMES + 5)

    assert table.dropped == 1 and table.pending() == 1


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 70000),
            st.integers(0, 1),
            st.binary(max_size=64),
        ),
        max_size=80,
    )
)
def test_fragments_table_stays_bounded(
    pieces: list[tuple[int, int, int, bytes]],
) -> None:
    table = fragments.FragmentTable()
    for frame, (ident, offset, more, piece) in enumerate(pieces, start=1):
        key = (-6, b"\x00" * 16, b"\x01" * 16, ident, 17)
        whole = table.add(key, offset, more, piece, frame)
        if whole is not None:
            assert len(whole[0]) <= fragments.MAX_DATAGRAM

        assert table.held <= fragments.MAX_BYTES
        assert table.pending() <= fragments.MAX_DATAGRAMS
