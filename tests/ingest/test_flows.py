"""Tests of the mitmproxy flow-file reader with flows written by mitmproxy.

Files are written by the installed mitmproxy (11.0.2 on Python 3.11) through
``flows/write_every_kind.py``; ``flows/every_kind.mitmproxy12.mitm`` is that
script's output under mitmproxy 12.3.1, so both versions' files are read.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import io as mitmproxy_io
from mitmproxy import tcp
from mitmproxy.io import tnetstring
from mitmproxy.test import tflow

from toyaudit.errors import IngestError
from toyaudit.ingest import Shard, read_evidence
from toyaudit.ingest.flows import read_flows
from toyaudit.ingest.payload import SAMPLE_LIMIT
from toyaudit.ingest.records import (
    Coverage,
    DnsQuery,
    Endpoint,
    Evidence,
    HttpRequest,
    MqttMessage,
    Observation,
    PayloadKind,
    RawPayload,
    Transport,
    WebSocketMessage,
)

FLOWS = Path(__file__).parent / "flows"
MITMPROXY12_FILE = FLOWS / "every_kind.mitmproxy12.mitm"
BUILDERS = runpy.run_path(str(FLOWS / "write_every_kind.py"))
write_every_kind: Callable[[Path], None] = BUILDERS["write_every_kind"]
START: float = BUILDERS["START"]
TOY = Endpoint("10.77.0.2", 40000)
CLOUD = Endpoint("203.0.113.7", 443)

# mitmproxy's writer and messages have no annotations
flow_writer: Any = mitmproxy_io.FlowWriter
tcp_message: Any = tcp.TCPMessage


def _read(path: Path, name: str = "flows.mitm") -> tuple[list[Observation], Coverage]:
    coverage = Coverage()
    return list(read_evidence(path, name, coverage)), coverage


def _write(path: Path, flows: list[Any]) -> None:
    with path.open("wb") as stream:
        writer: Any = flow_writer(stream)
        for flow in flows:
            writer.add(flow)


def _of_kind(observations: list[Observation], kind: type[Any]) -> list[Any]:
    return [item for item in observations if isinstance(item, kind)]


@pytest.fixture(params=["mitmproxy-installed", "mitmproxy-12"])
def every_kind(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A flow file of every kind, written by this mitmproxy or by mitmproxy 12."""
    if request.param == "mitmproxy-12":
        return MITMPROXY12_FILE
    path = tmp_path / "flows.mitm"
    write_every_kind(path)
    return path


def test_flows_http_flow_becomes_request_with_response(every_kind: Path) -> None:
    observations, _ = _read(every_kind)

    request = observations[0]
    assert isinstance(request, HttpRequest)
    assert request.evidence == Evidence("flows.mitm", flow_id="http-1", time=START + 1)
    assert request.transport == Transport.TLS and request.scheme == "https"
    assert (request.client, request.server) == (TOY, CLOUD)
    assert (request.method, request.host, request.path, request.query) == (
        "POST",
        "cloud.toy.example",
        "/v1/child",
        "name=Lily%20Doe",
    )
    assert request.body == b'{"child": "Lily"}'
    assert ("content-type", "application/json") in request.headers
    assert request.response is not None and request.response.status == 200
    assert request.response.body == b'{"ok": true}'


def test_flows_websocket_messages_follow_their_upgrade(every_kind: Path) -> None:
    observations, _ = _read(every_kind)

    upgrade = observations[1]
    messages = _of_kind(observations, WebSocketMessage)
    assert isinstance(upgrade, HttpRequest) and upgrade.query == "token=abc"
    assert observations[2:5] == messages
    assert [
        (item.from_client, item.text, item.payload, item.evidence.time)
        for item in messages
    ] == [
        (True, True, b'{"child": "Lily"}', START + 2.1),
        (True, False, b"\x00\x01voice", START + 2.2),
        (False, True, b"ok", START + 2.3),
    ]
    for message in messages:
        assert message.evidence.flow_id == "ws-1"
        assert (message.host, message.path) == ("cloud.toy.example", "/ws")
        assert message.transport == Transport.TLS
        assert (message.client, message.server) == (TOY, CLOUD)


def test_flows_tcp_and_udp_directions_become_classified_payloads(
    every_kind: Path,
) -> None:
    observations, _ = _read(every_kind)

    payloads = _of_kind(observations, RawPayload)
    assert [
        (
            item.evidence.flow_id,
            item.protocol,
            item.from_client,
            item.kind,
            item.size,
            item.media_type,
            item.transport,
        )
        for item in payloads
    ] == [
        ("tcp-1", "tcp", True, PayloadKind.PLAINTEXT, 23, None, Transport.PLAINTEXT),
        ("tcp-1", "tcp", False, PayloadKind.ENCRYPTED, 1024, None, Transport.PLAINTEXT),
        ("tcp-2", "tcp", True, PayloadKind.MEDIA, 206, "audio/ogg", Transport.TLS),
        (
            "udp-1",
            "udp",
            True,
            PayloadKind.COMPRESSED,
            33,
            "application/gzip",
            Transport.PLAINTEXT,
        ),
    ]
    assert payloads[0].payload == b"HELLO child=Lily age=7\n"
    assert [item.payload for item in payloads[1:]] == [b"", b"", b""]
    assert [item.evidence.time for item in payloads] == [
        START + 3.1,
        START + 3.3,
        START + 4.1,
        START + 5.1,
    ]
    assert (payloads[0].client, payloads[0].server) == (TOY, CLOUD)


def test_flows_mqtt_tcp_flow_gives_connect_and_publish(every_kind: Path) -> None:
    observations, _ = _read(every_kind)

    connect, publish = _of_kind(observations, MqttMessage)
    assert (connect.packet_type, connect.protocol_level) == ("connect", 4)
    assert (connect.client_id, connect.username, connect.password) == (
        "toybear-123",
        "toy",
        b"s3cret",
    )
    assert (publish.packet_type, publish.topic, publish.payload) == (
        "publish",
        "toy/child",
        b'{"child": "Lily"}',
    )
    assert [item.evidence for item in (connect, publish)] == [
        Evidence("flows.mitm", flow_id="mqtt-1", time=START + 7.2),
        Evidence("flows.mitm", flow_id="mqtt-1", time=START + 7.4),
    ]
    assert {item.transport for item in (connect, publish)} == {Transport.TLS}
    assert not [
        item
        for item in _of_kind(observations, RawPayload)
        if item.evidence.flow_id == "mqtt-1"
    ]


def test_flows_dns_flow_gives_one_query_per_question(every_kind: Path) -> None:
    observations, _ = _read(every_kind)

    queries = _of_kind(observations, DnsQuery)
    assert [(item.name, item.qtype) for item in queries] == [
        ("cloud.toy.example", 1),
        ("cloud.toy.example", 28),
    ]
    for query in queries:
        assert query.evidence == Evidence("flows.mitm", flow_id="dns-1", time=START + 6)
        assert (query.client, query.server) == (TOY, Endpoint("192.0.2.53", 53))
        assert query.transport == Transport.PLAINTEXT


def test_flows_counts_every_flow_kind_without_notes(every_kind: Path) -> None:
    observations, coverage = _read(every_kind)

    assert [type(item).__name__ for item in observations] == [
        "HttpRequest",
        "HttpRequest",
        *["WebSocketMessage"] * 3,
        *["RawPayload"] * 3,
        *["MqttMessage"] * 2,
        "RawPayload",
        *["DnsQuery"] * 2,
    ]
    assert coverage.flows == 7
    assert coverage.files_read == ["flows.mitm"]
    assert coverage.problems == []


def test_flows_long_tcp_direction_is_counted_whole_but_kept_bounded(
    tmp_path: Path,
) -> None:
    flow = tflow.ttcpflow()
    line = b'{"child": "Lily", "age": 7}\n' * 1000
    flow.messages = [tcp_message(True, line, 1.0 + index) for index in range(5)]
    path = tmp_path / "flows.mitm"
    _write(path, [flow])

    observations, _ = _read(path)

    (payload,) = observations
    assert isinstance(payload, RawPayload)
    assert payload.size == 5 * len(line)
    assert payload.payload == (line * 5)[:SAMPLE_LIMIT]
    assert payload.kind == PayloadKind.PLAINTEXT
    assert payload.evidence.time == 1.0


def test_flows_empty_tcp_flow_yields_nothing_but_is_counted(tmp_path: Path) -> None:
    flow = tflow.ttcpflow()
    flow.messages = []
    path = tmp_path / "flows.mitm"
    _write(path, [flow])

    observations, coverage = _read(path)

    assert observations == []
    assert coverage.flows == 1 and coverage.problems == []


def test_flows_plain_http_websocket_is_plaintext(tmp_path: Path) -> None:
    flow = tflow.tflow(ws=True)
    path = tmp_path / "flows.mitm"
    _write(path, [flow])

    observations, _ = _read(path)

    messages = _of_kind(observations, WebSocketMessage)
    assert len(messages) == 3
    assert {message.transport for message in messages} == {Transport.PLAINTEXT}


def test_flows_truncated_file_keeps_earlier_flows(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mitm"
    write_every_kind(whole)
    content = whole.read_bytes()
    path = tmp_path / "flows.mitm"
    path.write_bytes(content[: len(content) // 2])

    observations, coverage = _read(path)

    assert 1 <= coverage.flows < 7
    assert observations[0].evidence.flow_id == "http-1"
    assert len(coverage.problems) == 1
    assert coverage.problems[0].startswith("flows.mitm: unreadable from byte ")
    assert f"(after flow {coverage.flows})" in coverage.problems[0]


def test_flows_unreadable_from_the_start_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "flows.mitm"
    path.write_bytes(b"12:not a flow!!")

    with pytest.raises(
        IngestError, match="flows.mitm: not a readable mitmproxy flow file"
    ):
        _read(path)


def test_flows_notes_count_this_files_flows_only(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mitm"
    write_every_kind(whole)
    cut = tmp_path / "cut.mitm"
    cut.write_bytes(whole.read_bytes()[:-10])
    bad = tmp_path / "bad.mitm"
    bad.write_bytes(b"12:not a flow!!")
    coverage = Coverage(flows=50)

    list(read_evidence(cut, "cut.mitm", coverage))
    with pytest.raises(IngestError, match="bad.mitm: not a readable mitmproxy"):
        list(read_evidence(bad, "bad.mitm", coverage))

    assert coverage.flows == 56
    assert "(after flow 6)" in coverage.problems[0]


def test_flows_unloadable_flow_is_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    first, second = tflow.tflow(), tflow.tflow()
    first.id, second.id = "before", "after"
    path = tmp_path / "flows.mitm"
    with path.open("wb") as stream:
        writer: Any = flow_writer(stream)
        writer.add(first)
        stream.write(tnetstring.dumps({"type": "carrier-pigeon", "version": 21}))
        writer.add(second)

    observations, coverage = _read(path)

    assert [item.evidence.flow_id for item in observations] == ["before", "after"]
    assert coverage.flows == 2
    [note] = coverage.problems
    assert note.startswith("flows.mitm: flow 2 at byte ")
    assert note.endswith("it was skipped")


def test_flows_shards_read_every_flow_once(every_kind: Path) -> None:
    whole, _ = _read(every_kind)

    parts: list[Observation] = []
    for index in range(3):
        coverage = Coverage()
        with every_kind.open("rb") as stream:
            parts += read_flows(
                stream, "flows.mitm", coverage, 0, None, Shard(index, 3)
            )

    assert sorted(map(repr, parts)) == sorted(map(repr, whole))
