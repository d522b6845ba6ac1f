"""Tests of the evidence reference: how a finding names the bytes that prove it."""

from __future__ import annotations

import pytest

from toyaudit.ingest.evidence import DnsName, Evidence, Transport


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        (Evidence("flows.mitm", flow_id="f00d"), "flows.mitm flow f00d"),
        (Evidence("flows.mitm", (3,), flow_id="7"), "flows.mitm flow 7"),
        (Evidence("ble.jsonl"), "ble.jsonl"),
        (Evidence("traffic.pcap", (12,)), "traffic.pcap frame 12"),
        (Evidence("traffic.pcap", (4, 9, 10, 30)), "traffic.pcap frames 4, 9, 10, 30"),
        (
            Evidence("traffic.pcap", (4, 9, 10, 30, 31)),
            "traffic.pcap frames 4-31 (5 packets)",
        ),
    ],
)
def test_evidence_describes_the_place_as_a_person_looks_it_up(
    evidence: Evidence, expected: str
) -> None:
    assert evidence.describe() == expected


def test_evidence_names_the_dns_answer_that_named_the_server() -> None:
    answer = Evidence("traffic.pcap", (5,))
    named = DnsName("mqtt.toy.example", "203.0.113.9", answer)
    evidence = Evidence("traffic.pcap", (40, 41), dns_name=named)

    assert evidence.describe() == (
        "traffic.pcap frames 40, 41, server mqtt.toy.example "
        "(203.0.113.9, from the DNS answer in frame 5)"
    )


def test_dns_name_names_the_answers_file_when_it_is_another() -> None:
    named = DnsName("api.toy.example", "198.51.100.7", Evidence("dns.pcap", (2, 3)))

    assert named.describe("traffic.pcap") == (
        "api.toy.example (198.51.100.7, from the DNS answer in dns.pcap frames 2, 3)"
    )
    assert named.describe("dns.pcap") == (
        "api.toy.example (198.51.100.7, from the DNS answer in frames 2, 3)"
    )


def test_dns_name_without_frames_names_the_whole_answer() -> None:
    named = DnsName(
        "api.toy.example", "198.51.100.7", Evidence("flows.mitm", flow_id="a1")
    )

    assert named.describe("flows.mitm").endswith("in flows.mitm flow a1)")


def test_transport_is_readable_on_path_only_without_encryption() -> None:
    readable = {transport for transport in Transport if transport.readable_on_path}

    assert readable == {Transport.PLAINTEXT, Transport.BLUETOOTH}
