"""Tests of the DNS query reader against packets built by scapy."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR

from toyaudit.ingest.dns import parse_dns_queries


def test_dns_reads_every_question_like_scapy() -> None:
    query = DNS(
        rd=1,
        qd=[
            DNSQR(qname="Cloud.Toy.Example.", qtype="A"),
            DNSQR(qname="cdn.toy.example", qtype="AAAA"),
        ],
    )
    payload = bytes(query)

    questions = parse_dns_queries(payload)

    expected = [
        (q.qname.decode().rstrip(".").lower(), q.qtype) for q in DNS(payload).qd
    ]
    assert questions == expected == [("cloud.toy.example", 1), ("cdn.toy.example", 28)]


def test_dns_ignores_responses() -> None:
    response = DNS(qr=1, qd=[DNSQR(qname="toy.example")])

    assert parse_dns_queries(bytes(response)) == []


def test_dns_follows_compression_pointer() -> None:
    header = b"\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00"
    first = b"\x03toy\x07example\x00\x00\x01\x00\x01"
    second = b"\x03api\xc0\x0c\x00\x1c\x00\x01"  # "api" + pointer to offset 12

    assert parse_dns_queries(header + first + second) == [
        ("toy.example", 1),
        ("api.toy.example", 28),
    ]


def test_dns_compression_loop_ends_without_hanging() -> None:
    header = b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    looping = b"\x01a\xc0\x0c\x00\x01\x00\x01"  # label, then a pointer back to itself

    assert parse_dns_queries(header + looping) == []


@settings(max_examples=400, deadline=None)
@given(payload=st.binary(max_size=200))
def test_dns_survives_random_payloads(payload: bytes) -> None:
    for name, qtype in parse_dns_queries(b"\x00\x01\x01\x00\x00\x05" + payload):
        assert len(name) <= 255 * 4 and 0 <= qtype <= 0xFFFF
