"""Tests of frames → observations: DNS queries, ignored traffic, coverage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import ICMP, IP, UDP, IPerror, UDPerror
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from toyaudit import synth
from toyaudit.ingest import Shard, read_evidence
from toyaudit.ingest.records import (
    Coverage,
    DnsQuery,
    Endpoint,
    Evidence,
    HttpRequest,
    Observation,
    RawPayload,
)
from toyaudit.synthmessages import (
    dns_query,
    http_request,
    http_response,
    tls_client_hello,
)


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
    assert first.evidence == Evidence("traffic.pcap", (1,), time=first.evidence.time)
    assert first.evidence.time == pytest.approx(float(packets[0].time), abs=1e-6)
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


START = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC).timestamp()
TOY = synth.Host("02:1a:7d:5e:33:c1", "192.168.4.23")
GATEWAY = synth.Host("02:00:5e:c0:04:01", "192.168.4.1")
SERVER = synth.Host("02:00:5e:c0:04:01", "203.0.113.10")


def _timed_capture() -> list[synth.TimedFrame]:
    """DNS, two HTTP exchanges, a TLS hello and a UDP stream at known times."""
    frames = [
        synth.TimedFrame(
            START,
            synth.udp_frame(TOY, GATEWAY, (40000, 53), dns_query(7, "api.toy.example")),
        )
    ]
    web = synth.TcpConversation((TOY, 50000), (SERVER, 80), START + 1, mss=40)
    frames += web.open()
    web.wait(2)
    frames += web.send(True, http_request("POST", "api.toy.example", "/a", {}))
    frames += web.send(False, http_response(204))
    web.wait(60)
    body = b'{"child": "Mirabel Quince", "pad": "' + b"x" * 80 + b'"}'
    frames += web.send(True, http_request("POST", "api.toy.example", "/b", {}, body))
    frames += web.send(False, http_response(200, body=b"{}"))
    frames += web.close()
    secure = synth.TcpConversation((TOY, 50001), (SERVER, 443), START + 100)
    frames += secure.open()
    frames += secure.send(True, tls_client_hello("api.toy.example"))
    for second in range(3):
        stream = synth.udp_frame(TOY, SERVER, (41000, 9000), b"\x00\x01" * 20)
        frames.append(synth.TimedFrame(START + 200 + second, stream))
    return sorted(frames, key=lambda timed: timed.timestamp)


def _read_timed(
    tmp_path: Path, frames: list[synth.TimedFrame], shard: Shard | None = None
) -> list[Observation]:
    path = tmp_path / "traffic.pcap"
    with path.open("wb") as stream:
        synth.PcapWriter(stream).write_frames(frames)
    return list(read_evidence(path, "traffic.pcap", Coverage(), shard=shard))


def _first_times(frames: list[synth.TimedFrame]) -> dict[int, float]:
    return {number: timed.timestamp for number, timed in enumerate(frames, start=1)}


def test_packets_time_every_observation_by_its_first_packet(tmp_path: Path) -> None:
    frames = _timed_capture()

    observations = _read_timed(tmp_path, frames)

    times = _first_times(frames)
    kinds = {type(item).__name__ for item in observations}
    assert kinds == {"DnsQuery", "HttpRequest", "TlsClientHello", "RawPayload"}
    for observation in observations:
        evidence = observation.evidence
        assert evidence.time == pytest.approx(times[evidence.packets[0]], abs=1e-6)


def test_packets_time_a_request_by_its_own_first_segment(tmp_path: Path) -> None:
    frames = _timed_capture()

    observations = _read_timed(tmp_path, frames)

    first, second = [item for item in observations if isinstance(item, HttpRequest)]
    # The second request shares its connection with the first and waits a
    # minute; each is timed when it started, not when the connection opened
    # or when the response completed it.
    assert first.evidence.time == pytest.approx(START + 1 + 0.003 + 2, abs=1e-6)
    assert second.evidence.time is not None and first.evidence.time is not None
    assert second.evidence.time - first.evidence.time > 60
    assert second.response is not None and len(second.evidence.packets) > 4


def test_packets_time_raw_udp_stream_by_its_first_datagram(tmp_path: Path) -> None:
    observations = _read_timed(tmp_path, _timed_capture())

    (stream,) = [item for item in observations if isinstance(item, RawPayload)]

    assert stream.evidence.time == pytest.approx(START + 200, abs=1e-6)


def test_packets_time_out_of_order_segment_by_the_first_byte(tmp_path: Path) -> None:
    web = synth.TcpConversation((TOY, 50002), (SERVER, 80), START, mss=20)
    frames = web.open()
    frames += web.send(True, http_request("GET", "toy.example", "/late"))
    # The request's first segment is captured last, five seconds later.
    first_segment = frames.pop(3)
    frames.append(synth.TimedFrame(START + 5, first_segment.frame))

    (request,) = _read_timed(tmp_path, frames)

    assert isinstance(request, HttpRequest) and request.path == "/late"
    assert request.evidence.time == pytest.approx(START + 5, abs=1e-6)


def test_packets_times_are_the_same_in_every_shard(tmp_path: Path) -> None:
    frames = _timed_capture()
    whole = _read_timed(tmp_path, frames)

    parts = [
        observation
        for index in range(3)
        for observation in _read_timed(tmp_path, frames, Shard(index, 3))
    ]

    def timing(observations: list[Observation]) -> list[tuple[int, ...]]:
        return sorted(
            (*item.evidence.packets, round((item.evidence.time or 0) * 1e6))
            for item in observations
        )

    assert timing(parts) == timing(whole)
