"""Tests of the DNS query and answer readers against packets built by scapy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR

from toyaudit.ingest.dns import parse_dns_answers, parse_dns_queries
from toyaudit.ingest.records import DnsQuery, Endpoint


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


def test_dns_mdns_question_with_unicast_response_bit() -> None:
    query = DNS(qd=[DNSQR(qname="_toy._tcp.local", qtype="PTR", unicastresponse=1)])

    assert parse_dns_queries(bytes(query)) == [("_toy._tcp.local", 12)]


def test_dns_over_tcp_reads_several_length_prefixed_queries(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    first = bytes(DNS(id=1, qd=[DNSQR(qname="one.toy.example")]))
    second = bytes(DNS(id=2, qd=[DNSQR(qname="two.toy.example", qtype="AAAA")]))
    stream = b"".join(
        len(message).to_bytes(2, "big") + message for message in (first, second)
    )
    answer = bytes(DNS(id=1, qr=1, qd=[DNSQR(qname="one.toy.example")]))
    conversation = talk(server=("10.0.0.1", 53))
    conversation.handshake()
    conversation.send_pieces(stream, 7)
    conversation.send(len(answer).to_bytes(2, "big") + answer, from_client=False)
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    assert [(query.name, query.qtype) for query in observations] == [
        ("one.toy.example", 1),
        ("two.toy.example", 28),
    ]
    assert all(isinstance(query, DnsQuery) for query in observations)
    assert observations[0].server == Endpoint("10.0.0.1", 53)


def _response(name: str, *answers: Any, rcode: int = 0) -> bytes:
    return bytes(
        DNS(qr=1, rd=1, ra=1, rcode=rcode, qd=[DNSQR(qname=name)], an=list(answers))
    )


def test_dns_answers_give_the_asked_name_its_addresses() -> None:
    response = _response(
        "MQTT.Toy.Example.",
        DNSRR(rrname="mqtt.toy.example", type="A", rdata="203.0.113.13"),
        DNSRR(rrname="mqtt.toy.example", type="AAAA", rdata="2001:db8::13"),
    )

    assert parse_dns_answers(response) == (
        "mqtt.toy.example",
        ["203.0.113.13", "2001:db8::13"],
    )


def test_dns_answers_follow_cname_chains_back_to_the_asked_name() -> None:
    response = _response(
        "mqtt.toy.example",
        # out of order on purpose: RFC 1034 does not fix the order of records
        DNSRR(rrname="edge.cdn.example", type="A", rdata="203.0.113.13"),
        DNSRR(rrname="mqtt.toy.example", type="CNAME", rdata="toy.cdn.example"),
        DNSRR(rrname="toy.cdn.example", type="CNAME", rdata="edge.cdn.example"),
    )

    assert parse_dns_answers(response) == ("mqtt.toy.example", ["203.0.113.13"])


def test_dns_answers_ignore_records_of_other_names() -> None:
    response = _response(
        "mqtt.toy.example",
        DNSRR(rrname="tracker.example", type="A", rdata="198.51.100.1"),
        DNSRR(rrname="mqtt.toy.example", type="A", rdata="203.0.113.13"),
    )

    assert parse_dns_answers(response) == ("mqtt.toy.example", ["203.0.113.13"])


def test_dns_answers_none_for_queries_errors_and_cname_loops() -> None:
    address = DNSRR(rrname="toy.example", type="A", rdata="203.0.113.13")
    loop = (
        DNSRR(rrname="a.example", type="CNAME", rdata="b.example"),
        DNSRR(rrname="b.example", type="CNAME", rdata="a.example"),
    )

    assert parse_dns_answers(bytes(DNS(qd=[DNSQR(qname="toy.example")]))) is None
    assert parse_dns_answers(_response("toy.example", address, rcode=3)) is None
    assert parse_dns_answers(_response("toy.example")) is None
    assert parse_dns_answers(_response("a.example", *loop)) is None


def test_dns_answers_keep_records_read_before_a_cut() -> None:
    response = _response(
        "toy.example",
        DNSRR(rrname="toy.example", type="A", rdata="203.0.113.13"),
        DNSRR(rrname="toy.example", type="A", rdata="203.0.113.14"),
    )

    assert parse_dns_answers(response[:-6]) == ("toy.example", ["203.0.113.13"])


@settings(max_examples=400, deadline=None)
@given(payload=st.binary(max_size=200))
def test_dns_answers_survive_random_payloads(payload: bytes) -> None:
    answered = parse_dns_answers(b"\x00\x01\x81\x80\x00\x01\x00\x03" + payload)

    if answered is not None:
        assert answered[1] and len(answered[0]) <= 255 * 4
