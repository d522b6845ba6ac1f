"""Read the flows of mitmproxy flow files, as written by mitmproxy 11 and 12.

A flow file holds what mitmproxy decrypted, so HTTPS exchanges and TLS-wrapped
TCP streams appear here in clear. Each kind of flow becomes observations:

* an HTTP flow gives one :class:`HttpRequest` (transport TLS when the request
  scheme was https) with its response attached, then one
  :class:`WebSocketMessage` per message when the flow was upgraded;
* a TCP or UDP flow gives one :class:`RawPayload` per direction that carried
  bytes, the messages of that direction joined and classified by their look,
  except a TCP flow that starts with an MQTT CONNECT, which gives one
  :class:`MqttMessage` per CONNECT and PUBLISH the client sent;
* a DNS flow gives one :class:`DnsQuery` per question of its request.

Bodies are kept raw: content encodings are not undone, and the
Content-Encoding header stays in the headers so classification can undo it
and say so. Flows are dispatched on their ``type`` attribute and read through
attributes both mitmproxy versions share (``mitmproxy.dns.Message`` became
``DNSMessage`` in 12, so no class is imported by name).

User-visible limits: as for packet captures, the broker's side of an MQTT
flow is not read, nor is MQTT whose CONNECT is missing; and only the first
:data:`~toyaudit.ingest.payload.SAMPLE_LIMIT` bytes (64 KiB) of a TCP or UDP
direction are classified and kept, the rest only counted; DNS answers are not
read. A flow mitmproxy cannot load is skipped with a note; a file whose
series of flows breaks partway keeps the flows before the break and notes
where it stopped (:mod:`~toyaudit.ingest.flowrecords`, which also lets a
shard of a parallel audit load only its own flows).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, BinaryIO

from toyaudit.ingest.flowrecords import FlowTally, shard_flows
from toyaudit.ingest.http import host_without_port
from toyaudit.ingest.mqtt import MqttPacket, MqttReader, looks_like_connect
from toyaudit.ingest.payload import SAMPLE_LIMIT, classify_payload
from toyaudit.ingest.pcapfile import PROGRESS_STEP, ProgressCallback
from toyaudit.ingest.records import (
    Coverage,
    DnsQuery,
    Endpoint,
    Evidence,
    HttpRequest,
    HttpResponse,
    MqttMessage,
    Observation,
    PayloadKind,
    RawPayload,
    Transport,
    WebSocketMessage,
)
from toyaudit.ingest.shard import Shard
from toyaudit.ingest.streambuf import Headers, StreamBuffer

__all__ = ["flow_to_request", "read_flows"]

logger = logging.getLogger(__name__)

_MQTT_HEAD = 16
"""Client bytes enough to recognise an MQTT CONNECT (fixed header + name)."""
_UNKNOWN_PEER = ("0.0.0.0", 0)  # noqa: S104 - a placeholder, nothing binds to it


def read_flows(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int,
    progress: ProgressCallback | None = None,
    shard: Shard | None = None,
) -> Iterator[Observation]:
    """Yield the observations of every flow of a mitmproxy flow file.

    With a ``shard``, only its flows are loaded (flow ``i`` is shard
    ``i % count``'s); the others are passed over unparsed. Raises
    :class:`IngestError` when not even the first flow can be read. A flow
    mitmproxy cannot load is skipped with a note; a file whose series of
    flows breaks later keeps the flows before the break and notes where.
    """
    tally = FlowTally(name)
    next_report = PROGRESS_STEP
    for offset, flow in shard_flows(stream, name, tally, shard or Shard(0, 1)):
        coverage.flows += 1
        yield from _observations(flow, name, tally)
        if progress is not None and offset >= next_report:
            progress(name, offset, total)
            next_report = offset + PROGRESS_STEP
    coverage.add_tally(tally)
    if progress is not None:
        progress(name, total, total)


def _observations(flow: Any, name: str, tally: FlowTally) -> Iterator[Observation]:
    """The observations of one flow, by its kind; other kinds are counted."""
    kind = flow.type
    if kind == "http":
        yield flow_to_request(flow, name)
        if flow.websocket is not None:
            yield from _websocket_messages(flow, name)
    elif kind == "tcp" or kind == "udp":
        yield from _raw_payloads(flow, name, kind)
    elif kind == "dns":
        yield from _dns_queries(flow, name)
    else:
        tally.other_kinds[kind.upper()] += 1


def flow_to_request(flow: Any, name: str) -> HttpRequest:
    """Turn a mitmproxy ``HTTPFlow`` into an :class:`HttpRequest`."""
    request = flow.request
    path, _, query = request.path.partition("?")
    response = None
    if flow.response is not None:
        response = HttpResponse(
            status=flow.response.status_code,
            headers=_headers(flow.response.headers),
            body=flow.response.raw_content or b"",
        )
    tls = request.scheme == "https"
    return HttpRequest(
        evidence=Evidence(file=name, flow_id=flow.id, time=request.timestamp_start),
        client=_endpoint(flow.client_conn.peername),
        server=_server(flow),
        transport=Transport.TLS if tls else Transport.PLAINTEXT,
        method=request.method,
        host=host_without_port(request.pretty_host),
        path=path,
        query=query,
        headers=_headers(request.headers),
        body=request.raw_content or b"",
        scheme=request.scheme,
        response=response,
    )


def _websocket_messages(flow: Any, name: str) -> Iterator[WebSocketMessage]:
    """One :class:`WebSocketMessage` per message of an upgraded HTTP flow.

    Host and path are the upgrade request's; the query stays with the
    :class:`HttpRequest` of the upgrade, which is yielded as well.
    """
    request = flow.request
    client = _endpoint(flow.client_conn.peername)
    server = _server(flow)
    # mitmproxy keeps the upgrade request's scheme (http/https) for ws/wss.
    tls = request.scheme in ("https", "wss")
    host = host_without_port(request.pretty_host)
    path = request.path.partition("?")[0]
    for message in flow.websocket.messages:
        if message.injected:
            # Sent by a mitmproxy script, not by either end: not the toy's traffic.
            continue
        yield WebSocketMessage(
            evidence=Evidence(file=name, flow_id=flow.id, time=message.timestamp),
            client=client,
            server=server,
            transport=Transport.TLS if tls else Transport.PLAINTEXT,
            host=host,
            path=path,
            from_client=bool(message.from_client),
            text=bool(message.is_text),
            payload=message.content or b"",
        )


def _raw_payloads(
    flow: Any, name: str, protocol: str
) -> Iterator[RawPayload | MqttMessage]:
    """One :class:`RawPayload` per direction of a TCP or UDP flow, or its MQTT.

    Each direction's messages are joined (datagrams too, for UDP) and
    classified by their first bytes, which are kept only when they look like
    text. A TCP flow whose client starts with an MQTT CONNECT is read as MQTT
    instead: the client's CONNECT and PUBLISH packets, and, as for packet
    captures, nothing of the broker's side.
    """
    client = _endpoint(flow.client_conn.peername)
    server = _server(flow)
    # The toy's side of the connection: TLS there means mitmproxy decrypted it.
    transport = (
        Transport.TLS if flow.client_conn.tls_established else Transport.PLAINTEXT
    )
    if protocol == "tcp" and _starts_with_mqtt_connect(flow.messages):
        yield from _mqtt_messages(flow, name, client, server, transport)
        return
    for from_client in (True, False):
        sample, size, sent_at = _direction(flow.messages, from_client)
        if not size:
            continue
        kind, media_type = classify_payload(sample)
        yield RawPayload(
            evidence=Evidence(
                file=name,
                flow_id=flow.id,
                time=sent_at or flow.client_conn.timestamp_start,
            ),
            client=client,
            server=server,
            protocol=protocol,
            from_client=from_client,
            kind=kind,
            size=size,
            payload=sample if kind is PayloadKind.PLAINTEXT else b"",
            media_type=media_type,
            transport=transport,
        )


def _starts_with_mqtt_connect(messages: Any) -> bool:
    """Whether the client's first bytes are an MQTT CONNECT packet."""
    head = b""
    for message in messages:
        if message.from_client:
            head += message.content or b""
            if len(head) >= _MQTT_HEAD:
                break
    return bool(looks_like_connect(head))


class _MqttPackets:
    """Collects what an :class:`MqttReader` reads (frames mean nothing here)."""

    def __init__(self) -> None:
        self.packets: list[MqttPacket] = []

    def add_mqtt(self, packet: MqttPacket, frames: list[int]) -> None:
        self.packets.append(packet)


def _mqtt_messages(
    flow: Any, name: str, client: Endpoint, server: Endpoint, transport: Transport
) -> Iterator[MqttMessage]:
    """The CONNECT and PUBLISH packets of the client's side of an MQTT flow.

    Each is timed by the TCP message that completed it.
    """
    collector = _MqttPackets()
    reader = MqttReader(collector)
    buffer = StreamBuffer()
    for number, message in enumerate(flow.messages):
        if not message.from_client or not message.content:
            continue
        buffer.append(message.content, number)
        reader.feed(buffer)
        evidence = Evidence(file=name, flow_id=flow.id, time=message.timestamp)
        for packet in collector.packets:
            yield MqttMessage(
                evidence=evidence,
                client=client,
                server=server,
                transport=transport,
                packet_type=packet.packet_type,
                protocol_level=packet.protocol_level,
                client_id=packet.client_id,
                username=packet.username,
                password=packet.password,
                topic=packet.topic,
                payload=packet.payload,
            )
        collector.packets.clear()


def _direction(messages: Any, from_client: bool) -> tuple[bytes, int, float | None]:
    """One direction's first :data:`~toyaudit.ingest.payload.SAMPLE_LIMIT` bytes.

    Returns the sample, the direction's whole size and when it first sent.
    """
    pieces: list[bytes] = []
    kept = size = 0
    sent_at: float | None = None
    for message in messages:
        if message.from_client != from_client or not message.content:
            continue
        if sent_at is None:
            sent_at = message.timestamp
        size += len(message.content)
        if kept < SAMPLE_LIMIT:
            pieces.append(message.content[: SAMPLE_LIMIT - kept])
            kept += len(pieces[-1])
    return b"".join(pieces), size, sent_at


def _dns_queries(flow: Any, name: str) -> Iterator[DnsQuery]:
    """One :class:`DnsQuery` per question of a DNS flow's request."""
    request = flow.request
    evidence = Evidence(
        file=name,
        flow_id=flow.id,
        time=getattr(request, "timestamp", None) or flow.client_conn.timestamp_start,
    )
    client = _endpoint(flow.client_conn.peername)
    server = _server(flow)
    tls = bool(flow.client_conn.tls_established)
    for question in request.questions:
        yield DnsQuery(
            evidence=evidence,
            client=client,
            server=server,
            name=str(question.name).rstrip(".").lower(),
            qtype=int(question.type),
            transport=Transport.TLS if tls else Transport.PLAINTEXT,
        )


def _headers(headers: Any) -> Headers:
    """mitmproxy headers as (name, value) text pairs, in wire order."""
    return tuple(
        (field_name.decode("latin-1"), value.decode("latin-1"))
        for field_name, value in headers.fields
    )


def _server(flow: Any) -> Endpoint:
    """The server a flow went to: the address connected to, else the one asked."""
    return _endpoint(flow.server_conn.peername or flow.server_conn.address)


def _endpoint(peer: Any) -> Endpoint:
    """An endpoint from a mitmproxy (host, port, ...) tuple, or a placeholder."""
    if not peer:
        peer = _UNKNOWN_PEER
    return Endpoint(str(peer[0]), int(peer[1]))
