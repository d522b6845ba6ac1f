"""Tests of frames → observations: DNS queries, ignored traffic, coverage."""

from __future__ import annotations

from typing import Any

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import ICMP, IP, UDP, IPerror, UDPerror
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from toyaudit.ingest.records import DnsQuery, Endpoint, Evidence


def test_packets_yield_dns_queries_named_like_scapy(read_capture: Any) -> None:
    packets = [
        Ether()
        / IP(src="10.0.0.2", dst="10.0.0.1")
        / UDP(sport=40000, dport=53)
        / DNS(qd=[DNSQR(qname="Cloud.Toy.Example")]),
        Ether()
        / IP(src="10.0.0.1", dst="10.0.0.2")
        / UDP(sport=53, dport=40000)
        / DNS(qr=1, qd=[DNSQR(qname="cloud.toy.example")]),
        Ether()
        / IPv6(src="fe80::2", dst="ff02::fb")
        / UDP(sport=5353, dport=5353)
        / DNS(qd=[DNSQR(qname="_toy._tcp.local", qtype="PTR")]),
    ]

    observations, coverage = read_capture(packets)

    oracle = [
        packet[DNSQR].qname.decode().rstrip(".").lower()
        for packet in packets
        if packet[DNS].qr == 0
    ]
    assert [query.name for query in observations] == oracle
    first = observations[0]
    assert isinstance(first, DnsQuery)
    assert first.evidence == Evidence("traffic.pcap", (1,))
    assert first.client == Endpoint("10.0.0.2", 40000)
    assert first.server == Endpoint("10.0.0.1", 53)
    assert observations[1].qtype == 12
    assert coverage.packets == 3 and coverage.problems == []


def test_packets_do_not_read_dns_quoted_in_icmp_errors(read_capture: Any) -> None:
    quoted = IPerror(src="10.0.0.2", dst="10.0.0.1") / UDPerror(sport=40000, dport=53)
    packet = (
        Ether()
        / IP(src="10.0.0.1", dst="10.0.0.2")
        / ICMP(type=3, code=3)
        / quoted
        / DNS(qd=[DNSQR(qname="leak.example")])
    )

    observations, coverage = read_capture([packet])

    assert observations == [] and coverage.packets == 1


def test_packets_note_undecoded_link_type(read_capture: Any) -> None:
    observations, coverage = read_capture([IP() / UDP()] * 3, linktype=147)

    assert observations == []
    assert coverage.problems == [
        "traffic.pcap: 3 frames of link type 147 are not decoded "
        "(toyaudit reads Ethernet, raw IP, Linux cooked, loopback and 802.11)"
    ]
