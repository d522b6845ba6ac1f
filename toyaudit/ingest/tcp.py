"""Reassemble TCP streams and hand them to the protocol readers.

Each connection is keyed by its 4-tuple and read in both directions. Per
direction, in-order payload goes to a :class:`StreamBuffer`; segments that
arrive early wait in a bounded out-of-order store; retransmitted and
overlapping bytes keep the copy seen first. A capture that starts inside a
connection starts its stream at the first sequence number seen.

The client is the sender of a SYN without ACK; without a handshake in the
capture, the side with the higher (ephemeral) port. Content overrides both: the
side that sends an HTTP request, a TLS ClientHello, an MQTT CONNECT or a DNS
query is the client.

A direction's reader is chosen from its first bytes by
:meth:`Connection.recognise`: TLS records, an MQTT CONNECT, HTTP/1.x; DNS by
port 53, since it has no magic. A direction of no recognised protocol is
sampled and classified as raw payload (:mod:`toyaudit.ingest.payload`). What
the readers find goes to the connection's
:class:`~toyaudit.ingest.conversation.Conversation`. Each segment's capture
time travels with its bytes, so every observation is timed by the packet
that carried its first byte (:meth:`StreamBuffer.sent_at`).

User-visible limits:

* Lost segments are never filled in. When a hole persists until 1 MiB is
  waiting behind it, or until the stream ends, reading skips past it; the
  message it hits is marked truncated and every hole is counted in one
  coverage note per file.
* At most 4096 connections are tracked at once; the least recently active is
  closed (and its messages delivered) to make room. A connection closed this
  way and seen again later is read as if the capture had started mid-stream.
* After the clear TLS handshake messages, and on the server side of MQTT and
  DNS, the bytes are dropped unread, so memory stays flat for long captures.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from toyaudit.ingest import http
from toyaudit.ingest.conversation import Conversation, TlsConsumerFactory
from toyaudit.ingest.decode import format_address
from toyaudit.ingest.dns import DnsStreamReader
from toyaudit.ingest.mqtt import MqttReader, looks_like_connect
from toyaudit.ingest.payload import RawStreamReader
from toyaudit.ingest.records import Endpoint, Observation, Transport
from toyaudit.ingest.tcpdirection import (
    DROP,
    MASK,
    Direction,
    Reader,
)
from toyaudit.ingest.tlsstream import TlsReader, record_header
from toyaudit.ingest.websocket import Deflate, WebSocketReader

logger = logging.getLogger(__name__)

MAX_CONNECTIONS = 4096
"""Connections tracked at once before the least recently active is closed."""

FIN = 0x01
SYN = 0x02
RST = 0x04
ACK = 0x10

_DNS_PORT = 53

# What a direction's first bytes say it carries.
TLS_CLIENT = "tls-client"
TLS_SERVER = "tls-server"
TLS_RECORDS = "tls"
"""TLS records that start with neither hello: a capture begun mid-connection."""
MQTT = "mqtt"
MQTT_SERVER = "mqtt-server"
DNS_QUERIES = "dns-queries"
DNS_ANSWERS = "dns-answers"
_CLIENT_KINDS = frozenset({TLS_CLIENT, http.REQUEST, MQTT, DNS_QUERIES})
_SERVER_KINDS = frozenset({TLS_SERVER, http.RESPONSE, MQTT_SERVER, DNS_ANSWERS})

ConnectionKey = tuple[bytes, int, bytes, int]


class Connection:
    """Both directions of one TCP connection and the readers that read them."""

    def __init__(
        self, reassembler: Reassembler, key: ConnectionKey, side: int, flags: int
    ) -> None:
        self.reassembler = reassembler
        self.ends = ((key[0], key[1]), (key[2], key[3]))
        if flags & SYN:
            self.client_side = side if not flags & ACK else 1 - side
        elif key[1] != key[3]:
            self.client_side = 0 if key[1] > key[3] else 1
        else:
            self.client_side = side
        self.roles_fixed = False
        self.kinds: list[str | None] = [None, None]
        self.directions = (Direction(self, 0), Direction(self, 1))
        self.conversation = Conversation(self)
        self.closed = False

    def segment(
        self,
        side: int,
        sequence: int,
        flags: int,
        payload: bytes,
        frame: int,
        time: float | None,
    ) -> None:
        """Take one segment sent by ``side``, captured at ``time``."""
        if flags & RST:
            self.close()
            return
        direction = self.directions[side]
        if direction.state >= DROP:
            return
        if flags & SYN:
            direction.syn(sequence)
            sequence = (sequence + 1) & MASK
        if payload or flags & FIN:
            direction.segment(sequence, payload, frame, flags & FIN, time)
        if self.directions[1 - side].state >= DROP and direction.state >= DROP:
            self.close()

    def recognise(
        self, side: int, stream_start: bytearray, mid_stream: bool, final: bool
    ) -> str | None:
        """What the first bytes of ``side``'s stream carry; None to wait for more."""
        other = self.kinds[1 - side]
        if _DNS_PORT in (self.ends[0][1], self.ends[1][1]):
            # DNS over TCP has no magic: the side that sends to port 53 asks.
            return DNS_QUERIES if self.ends[1 - side][1] == _DNS_PORT else DNS_ANSWERS
        tls = _tls_kind(stream_start)
        if tls is not None:
            return tls
        mqtt = looks_like_connect(stream_start)
        if mqtt:
            return MQTT
        if other == MQTT:
            return MQTT_SERVER
        kind = http.detect(stream_start, mid_stream)
        undecided = kind is None or mqtt is None or _tls_undecided(stream_start)
        if undecided and not final:
            return None
        return http.OTHER if kind is None else kind

    def classified(self, side: int, kind: str) -> None:
        """Fix the roles from content: who sends requests or hellos is the client."""
        self.kinds[side] = kind
        if kind in _CLIENT_KINDS:
            client = side
        elif kind in _SERVER_KINDS:
            client = 1 - side
        else:
            return
        if not self.roles_fixed:
            if client != self.client_side:
                logger.debug("content shows the client is the other side")
            self.client_side = client
            self.roles_fixed = True

    def reader_for(self, side: int, kind: str) -> Reader | None:
        """The reader for a direction of ``kind``; None to drop its bytes."""
        conversation = self.conversation
        if kind in (TLS_CLIENT, TLS_SERVER, TLS_RECORDS):
            return TlsReader(conversation, side == self.client_side)
        if kind == http.REQUEST:
            return http.RequestReader(conversation)
        if kind == http.RESPONSE:
            return http.ResponseReader(conversation)
        if kind == MQTT:
            return MqttReader(conversation)
        if kind == DNS_QUERIES:
            return DnsStreamReader(conversation)
        if kind == http.OTHER:
            return RawStreamReader(conversation, side)
        return None

    def upgrade_to_websocket(self, deflate: Deflate | None) -> None:
        """Read both directions as WebSocket frames from their next byte on."""
        logger.debug("connection upgraded to WebSocket")
        for direction in self.directions:
            from_client = direction.side == self.client_side
            reader = WebSocketReader(self.conversation, from_client, deflate)
            # The server's direction is inside its reader's feed; the client's
            # waits with the bytes sent after the upgrade request.
            direction.switch(reader, deliver=from_client)

    def open_tunnel(self) -> None:
        """A proxy answered CONNECT: recognise both directions afresh from their
        next byte on, as the start of the tunnelled stream."""
        logger.debug("CONNECT tunnel opened")
        for direction in self.directions:
            # As for an upgrade, the server's direction is inside its reader's
            # feed, and its own delivery goes on with the new reader.
            direction.reopen(deliver=direction.side == self.client_side)

    def resume_requests(self) -> None:
        """An upgrade was refused: the client's requests go on as HTTP."""
        reader = self.directions[self.client_side].reader
        if isinstance(reader, http.RequestReader):
            reader.resume()
            self.directions[self.client_side].switch(reader, deliver=True)

    def close(self) -> None:
        """End both directions and deliver every message still held."""
        if self.closed:
            return
        self.closed = True
        for direction in self.directions:
            if direction.state < DROP:
                direction.finish()
        self.conversation.close()

    def sent_at(self, frames: list[int]) -> float | None:
        """When the message carried by ``frames`` (first frame first) started.

        The capture time of the frame that carried its first byte, from
        whichever direction's buffer the message was taken (see
        :meth:`StreamBuffer.sent_at`); None if unknown.
        """
        tables = [direction.buffer.starts for direction in self.directions]
        for frame in frames:
            for starts in tables:
                time = starts.get(frame)
                if time is not None:
                    return time
        return None

    def endpoints(self) -> tuple[Endpoint, Endpoint]:
        """(client, server) endpoints of the connection."""
        client = self.ends[self.client_side]
        server = self.ends[1 - self.client_side]
        return (
            Endpoint(format_address(client[0]), client[1]),
            Endpoint(format_address(server[0]), server[1]),
        )


def _tls_kind(stream_start: bytearray) -> str | None:
    """Which TLS hello (or mid-connection record) the stream starts with."""
    header = record_header(stream_start)
    if header is None:
        return None
    if header[0] == 22 and len(stream_start) >= 6:
        if stream_start[5] == 1:
            return TLS_CLIENT
        if stream_start[5] == 2:
            return TLS_SERVER
    return TLS_RECORDS if header[0] in (20, 21, 23) else None


def _tls_undecided(stream_start: bytearray) -> bool:
    """Whether too few bytes arrived to tell a TLS record header from others."""
    return len(stream_start) < 6 and bytes(stream_start[:1]) in (b"", b"\x16", b"\x17")


class _Ended:
    """What stands for a connection that ended, in :attr:`Reassembler.connections`."""

    __slots__ = ()
    closed = True

    def close(self) -> None:
        """It is closed already."""


_ENDED = _Ended()


class Reassembler:
    """Every TCP connection of one capture file.

    Feed it segments with :meth:`segment`; finished observations collect in
    :attr:`ready`, which the caller empties. :meth:`close_all` ends every
    connection at the end of the file. ``tls_consumer_factory``, when given,
    is asked once per TLS connection for a consumer of its records: TLS
    decryption plugs in there (see
    :class:`~toyaudit.ingest.tlsstream.TlsRecordConsumer`).
    """

    def __init__(
        self,
        name: str,
        tls_consumer_factory: TlsConsumerFactory | None = None,
        transport: Transport = Transport.PLAINTEXT,
    ) -> None:
        self.name = name
        self.transport = transport
        """How the streams it reads travelled: TLS for decrypted streams."""
        self.tls_consumer_factory = tls_consumer_factory
        """Makes the TLS record consumer of each TLS connection (decryption)."""
        self.connections: OrderedDict[ConnectionKey, Connection | _Ended]
        self.connections = OrderedDict()
        """Open connections, and markers of those that ended, least recent first."""
        self.ready: list[Observation] = []
        self.holes = 0
        self.lost_bytes = 0
        self.first_hole_frame = 0

    def segment(
        self,
        source: tuple[bytes, int],
        destination: tuple[bytes, int],
        sequence: int,
        flags: int,
        payload: bytes,
        frame: int,
        time: float | None = None,
    ) -> None:
        """Take one TCP segment from ``source`` (address, port) to ``destination``.

        ``time`` is the frame's capture time in seconds since the epoch; the
        observations it starts carry it in their evidence.
        """
        self.segment_between(
            source[0], source[1], destination[0], destination[1],
            sequence, flags, payload, frame, time,
        )  # fmt: skip

    def segment_between(
        self,
        source: bytes,
        source_port: int,
        destination: bytes,
        destination_port: int,
        sequence: int,
        flags: int,
        payload: bytes,
        frame: int,
        time: float | None,
    ) -> None:
        """:meth:`segment` with the ends spelled out: the packet reader's hot path."""
        if source < destination or (
            source == destination and source_port < destination_port
        ):
            key, side = (source, source_port, destination, destination_port), 0
        else:
            key, side = (destination, destination_port, source, source_port), 1
        entry = self.connections.get(key)
        if entry is None or (entry.closed and flags & SYN):
            if not payload and not flags & SYN:
                return
            connection = Connection(self, key, side, flags)
            self.connections[key] = connection
            if len(self.connections) > MAX_CONNECTIONS:
                self.connections.popitem(last=False)[1].close()
        else:
            self.connections.move_to_end(key)
            if entry.closed or isinstance(entry, _Ended):
                return
            connection = entry
        connection.segment(side, sequence, flags, payload, frame, time)
        if connection.closed:
            # Only the fact that it ended is needed from now on (late
            # segments are ignored, a new SYN starts afresh): keeping the
            # whole connection would grow memory with the capture.
            self.connections[key] = _ENDED

    def note_hole(self, lost: int, next_frame: int) -> None:
        """Count bytes the capture lost inside a stream."""
        self.holes += 1
        self.lost_bytes += lost
        if not self.first_hole_frame:
            self.first_hole_frame = next_frame
        logger.debug("%s: %d bytes lost before frame %d", self.name, lost, next_frame)

    def close_all(self) -> None:
        """End every connection, oldest first, delivering what they hold."""
        while self.connections:
            self.connections.popitem(last=False)[1].close()
