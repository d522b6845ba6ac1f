"""Naming servers by the DNS answers their clients received, in one file and across."""

from __future__ import annotations

import heapq
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import io as mitmproxy_io
from mitmproxy import tcp
from mitmproxy.test import tflow

from toyaudit import synth
from toyaudit.ingest import Shard, read_session
from toyaudit.ingest.names import NameTable
from toyaudit.ingest.records import (
    Coverage,
    DnsName,
    Endpoint,
    Evidence,
    HttpRequest,
    MqttMessage,
    Observation,
    PayloadKind,
    RawPayload,
    TlsClientHello,
    Transport,
    host_of,
)
from toyaudit.ingest.shard import conversation_shard
from toyaudit.session import open_evidence
from toyaudit.synthmessages import dns_query, dns_response

TOY = synth.Host("02:1a:7d:5e:33:c1", "192.168.4.23")
PHONE = synth.Host("02:1a:7d:5e:33:c2", "192.168.4.24")
RESOLVER = synth.Host("02:00:5e:c0:04:01", "192.168.4.1")
BROKER = synth.Host("02:00:5e:c0:04:01", "203.0.113.13")
START = 1_764_000_000.0

# mitmproxy's writer and messages have no annotations
flow_writer: Any = mitmproxy_io.FlowWriter
tcp_message: Any = tcp.TCPMessage


def _raw(client: str, server: str, frames: tuple[int, ...], time: float) -> RawPayload:
    return RawPayload(
        evidence=Evidence("traffic.pcap", frames, time=time),
        client=Endpoint(client, 40000),
        server=Endpoint(server, 1883),
        protocol="tcp",
        from_client=True,
        kind=PayloadKind.BINARY,
        size=10,
    )


def _answer(frame: int, time: float = START, file: str = "traffic.pcap") -> Evidence:
    return Evidence(file, (frame,), time=time)


def test_names_latest_answer_before_the_observation_wins() -> None:
    table = NameTable()
    table.learn("192.168.4.23", "mqtt.toy.example", ["203.0.113.13"], _answer(3))
    table.learn("192.168.4.23", "cdn.toy.example", ["203.0.113.13"], _answer(20))

    early = table.name(_raw("192.168.4.23", "203.0.113.13", (10, 11), START))
    late = table.name(_raw("192.168.4.23", "203.0.113.13", (25,), START))
    before = table.name(_raw("192.168.4.23", "203.0.113.13", (2,), START))

    assert early.evidence.dns_name == DnsName(
        "mqtt.toy.example", "203.0.113.13", _answer(3)
    )
    assert host_of(early) == "mqtt.toy.example"
    assert host_of(late) == "cdn.toy.example"
    assert host_of(before) == "203.0.113.13" and before.evidence.dns_name is None


def test_names_belong_to_the_client_that_asked() -> None:
    table = NameTable()
    table.learn("192.168.4.24", "mqtt.toy.example", ["203.0.113.13"], _answer(3))

    other = table.name(_raw("192.168.4.23", "203.0.113.13", (10,), START))

    assert host_of(other) == "203.0.113.13"


def test_names_repeated_answers_keep_the_first_and_take_no_room() -> None:
    table = NameTable()
    for frame in (3, 30, 300):
        table.learn(
            "192.168.4.23", "mqtt.toy.example", ["203.0.113.13"], _answer(frame)
        )

    named = table.name(_raw("192.168.4.23", "203.0.113.13", (400,), START))

    assert len(table) == 1
    assert named.evidence.dns_name is not None
    assert named.evidence.dns_name.answer == _answer(3)


def test_names_from_another_file_apply_by_time() -> None:
    table = NameTable()
    table.learn("192.168.4.23", "mqtt.toy.example", ["203.0.113.13"], _answer(3, START))
    flow = RawPayload(
        evidence=Evidence("flows.mitm", flow_id="f-1", time=START + 1),
        client=Endpoint("192.168.4.23", 40000),
        server=Endpoint("203.0.113.13", 1883),
        protocol="tcp",
        from_client=True,
        kind=PayloadKind.BINARY,
        size=10,
    )
    earlier = replace(flow, evidence=Evidence("flows.mitm", time=START - 1))

    assert host_of(table.name(flow)) == "mqtt.toy.example"
    assert table.name(flow).evidence.describe() == (
        "flows.mitm flow f-1, server mqtt.toy.example "
        "(203.0.113.13, from the DNS answer in traffic.pcap frame 3)"
    )
    assert host_of(table.name(earlier)) == "203.0.113.13"


def test_names_leave_observations_that_name_their_host_alone() -> None:
    table = NameTable()
    table.learn("192.168.4.23", "mqtt.toy.example", ["203.0.113.13"], _answer(3))
    hello = TlsClientHello(
        evidence=Evidence("traffic.pcap", (10,), time=START),
        client=Endpoint("192.168.4.23", 40000),
        server=Endpoint("203.0.113.13", 443),
        sni="api.toy.example",
        legacy_version=0x0303,
    )
    request = HttpRequest(
        evidence=Evidence("traffic.pcap", (11,), time=START),
        client=Endpoint("192.168.4.23", 40001),
        server=Endpoint("203.0.113.13", 80),
        transport=Transport.PLAINTEXT,
        method="GET",
        host="203.0.113.13",
        path="/",
        query="",
        headers=(),
        body=b"",
    )

    assert table.name(hello) is hello
    assert host_of(table.name(request)) == "mqtt.toy.example"


def test_names_full_table_counts_and_stops_naming_a_changed_address() -> None:
    table = NameTable(limit=1)
    table.learn("192.168.4.23", "mqtt.toy.example", ["203.0.113.13"], _answer(3))
    table.learn("192.168.4.23", "ads.example", ["198.51.100.1"], _answer(4))
    table.learn("192.168.4.23", "evil.example", ["203.0.113.13"], _answer(5))

    between = table.name(_raw("192.168.4.23", "203.0.113.13", (4,), START))
    after = table.name(_raw("192.168.4.23", "203.0.113.13", (6,), START))
    unknown = table.name(_raw("192.168.4.23", "198.51.100.1", (6,), START))

    assert host_of(between) == "mqtt.toy.example"
    assert host_of(after) == "203.0.113.13"
    assert host_of(unknown) == "198.51.100.1"
    assert table.dropped == 2
    note = table.overflow_note()
    assert note is not None and note.startswith("2 DNS answers were not used")


def _dns_exchange(at: float, ident: int, name: str) -> list[synth.TimedFrame]:
    ports = (50000 + ident, 53)
    query = synth.udp_frame(TOY, RESOLVER, ports, dns_query(ident, name))
    answer = dns_response(ident, name, [BROKER.ip])
    reply = synth.udp_frame(RESOLVER, TOY, ports[::-1], answer)
    return [synth.TimedFrame(at, query), synth.TimedFrame(at + 0.001, reply)]


def _mqtt_connection(at: float, port: int) -> list[synth.TimedFrame]:
    connect = bytes.fromhex("101000044d5154540402003c0004746f7931")  # client id toy1
    talk = synth.TcpConversation((TOY, port), (BROKER, 1883), at)
    return talk.open() + talk.send(True, connect) + talk.close()


def _write_capture(folder: Path, connections: int = 12) -> None:
    streams = [_dns_exchange(START, 1, "MQTT.Toy.Example")]
    streams += [
        _mqtt_connection(START + 0.01 * (number + 1), 41000 + number)
        for number in range(connections)
    ]
    with (folder / "traffic.pcap").open("wb") as stream:
        synth.PcapWriter(stream).write_frames(
            heapq.merge(*streams, key=lambda timed: timed.timestamp)
        )


def _mqtt(observations: list[Observation]) -> list[MqttMessage]:
    return [item for item in observations if isinstance(item, MqttMessage)]


@pytest.mark.parametrize("count", [1, 2, 3])
def test_names_every_shard_names_its_connections_from_any_shards_answer(
    tmp_path: Path, count: int
) -> None:
    _write_capture(tmp_path)
    session = open_evidence(tmp_path / "traffic.pcap")

    messages = []
    for index in range(count):
        messages += _mqtt(
            list(read_session(session, Coverage(), None, Shard(index, count)))
        )

    assert len(messages) == 12
    answered_in = conversation_shard(
        RESOLVER.packed_ip, 53, TOY.packed_ip, 50001, count
    )
    owners = {
        conversation_shard(TOY.packed_ip, 41000 + number, BROKER.packed_ip, 1883, count)
        for number in range(12)
    }
    assert count == 1 or owners - {answered_in}
    assert {host_of(message) for message in messages} == {"mqtt.toy.example"}
    assert {message.evidence.dns_name for message in messages} == {
        DnsName(
            "mqtt.toy.example",
            BROKER.ip,
            Evidence("traffic.pcap", (2,), time=START + 0.001),
        )
    }


def test_names_flow_file_read_before_the_capture_takes_its_answers(
    tmp_path: Path,
) -> None:
    _write_capture(tmp_path, connections=1)
    flow = tflow.ttcpflow()
    flow.client_conn.peername = (TOY.ip, 41000)
    flow.server_conn.peername = (BROKER.ip, 1883)
    flow.server_conn.sni = None
    flow.messages = [tcp_message(True, b"temperature=21", START + 0.5)]
    with (tmp_path / "flows.mitm").open("wb") as stream:
        flow_writer(stream).add(flow)
    session = open_evidence(tmp_path)
    assert session.evidence.index("flows.mitm") < session.evidence.index("traffic.pcap")
    coverage = Coverage()

    observations = list(read_session(session, coverage))

    [payload] = [item for item in observations if isinstance(item, RawPayload)]
    assert payload.evidence.file == "flows.mitm"
    assert host_of(payload) == "mqtt.toy.example"
    assert payload.server.ip == BROKER.ip
    assert coverage.files_read[:2] == ["traffic.pcap", "flows.mitm"]
