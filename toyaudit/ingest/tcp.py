"""Reassemble TCP streams and hand them to the HTTP and TLS readers.

Each connection is keyed by its 4-tuple and read in both directions. Per
direction, in-order payload goes to a :class:`StreamBuffer`; segments that
arrive early wait in a bounded out-of-order store; retransmitted and
overlapping bytes keep the copy seen first. A capture that starts inside a
connection starts its stream at the first sequence number seen.

The client is the sender of a SYN without ACK; without a handshake in the
capture, the side with the higher (ephemeral) port. Content overrides both: the
side that sends an HTTP request or a TLS ClientHello is the client.

User-visible limits:

* Lost segments are never filled in. When a hole persists until 1 MiB is
  waiting behind it, or until the stream ends, reading skips past it; the
  message it hits is marked truncated and every hole is counted in one
  coverage note per file.
* At most 4096 connections are tracked at once; the least recently active is
  closed (and its messages delivered) to make room. A connection closed this
  way and seen again later is read as if the capture had started mid-stream.
* After a TLS ClientHello, and for streams that are neither HTTP nor TLS, the
  bytes are dropped unread, so memory stays flat for long captures.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from dataclasses import replace

from toyaudit.ingest import http
from toyaudit.ingest.decode import format_address
from toyaudit.ingest.records import (
    Endpoint,
    Evidence,
    HttpRequest,
    HttpResponse,
    Observation,
    TlsClientHello,
    Transport,
)
from toyaudit.ingest.streambuf import Headers, MessageSink, StreamBuffer
from toyaudit.ingest.tls import (
    DONE,
    MORE,
    ClientHello,
    extract_client_hello,
    looks_like_client_hello,
)

logger = logging.getLogger(__name__)

MAX_CONNECTIONS = 4096
"""Connections tracked at once before the least recently active is closed."""
MAX_OUT_OF_ORDER = 1 << 20
"""Bytes waiting behind a hole, per direction, before the hole is skipped."""
MAX_WAITING = 32
"""Requests (or responses) held per connection waiting for their other half."""

FIN = 0x01
SYN = 0x02
RST = 0x04
ACK = 0x10

_MASK = 0xFFFFFFFF
_HALF = 1 << 31
_CLASSIFY, _PARSE, _DROP, _CLOSED = range(4)
_TLS = "tls"
_NO_FIN = 1 << 62

ConnectionKey = tuple[bytes, int, bytes, int]


class _HelloReader:
    """Reads the ClientHello at the start of a TLS client stream, then stops."""

    def __init__(self, sink: MessageSink) -> None:
        self.sink = sink
        self.alive = True

    def feed(self, buffer: StreamBuffer) -> None:
        """Parse the ClientHello once all the records carrying it are in."""
        state, used, hello = extract_client_hello(buffer.data)
        if state == MORE:
            return
        frames: list[int] = []
        buffer.take(used, frames)
        if state == DONE and hello is not None:
            self.sink.add_client_hello(hello, frames)
        self.alive = False

    def gap(self) -> None:
        """Lost bytes inside the hello: give up on it."""
        self.alive = False

    def close(self) -> None:
        """The stream ended before the hello was complete."""
        self.alive = False


Reader = http.RequestReader | http.ResponseReader | _HelloReader


class _Direction:
    """One direction of a connection: sequence tracking, buffer and reader."""

    __slots__ = (
        "connection",
        "side",
        "state",
        "next_seq",
        "next_offset",
        "fin_offset",
        "pending",
        "pending_bytes",
        "buffer",
        "reader",
        "mid_stream",
    )

    def __init__(self, connection: Connection, side: int) -> None:
        self.connection = connection
        self.side = side
        self.state = _CLASSIFY
        self.next_seq: int | None = None
        self.next_offset = 0
        self.fin_offset = _NO_FIN
        self.pending: dict[int, tuple[bytes, int]] = {}
        """Early segments by stream offset: (payload, frame number)."""
        self.pending_bytes = 0
        self.buffer = StreamBuffer()
        self.reader: Reader | None = None
        self.mid_stream = True

    def syn(self, sequence: int) -> None:
        """A SYN fixes where the stream starts: the byte after it."""
        if self.next_seq is None:
            self.next_seq = (sequence + 1) & _MASK
            self.mid_stream = False

    def segment(self, sequence: int, payload: bytes, frame: int, fin: int) -> None:
        """Take one segment's payload; ``fin`` is nonzero when it ends the stream."""
        if self.next_seq is None:
            self.next_seq = sequence
        delta = ((sequence - self.next_seq + _HALF) & _MASK) - _HALF
        if fin:
            self.fin_offset = min(
                self.fin_offset, self.next_offset + delta + len(payload)
            )
        if delta > 0:
            self._hold(self.next_offset + delta, payload, frame)
        elif -delta < len(payload):
            self._accept(payload[-delta:] if delta else payload, frame)
            if self.pending:
                self._drain()
            self._deliver()
        if self.next_offset >= self.fin_offset and self.state < _DROP:
            self.finish()

    def finish(self) -> None:
        """End the stream: skip remaining holes, let the reader close."""
        while self.pending and self.state < _DROP:
            self._skip_hole()
            self._deliver()
        if self.state == _CLASSIFY:
            self._classify(final=True)
            self._deliver()
        if self.reader is not None and self.state == _PARSE:
            self.reader.close()
        self._release(_CLOSED)

    def _accept(self, payload: bytes, frame: int) -> None:
        """Append in-order payload to the buffer."""
        self.buffer.append(payload, frame)
        self.next_offset += len(payload)
        self.next_seq = ((self.next_seq or 0) + len(payload)) & _MASK

    def _hold(self, offset: int, payload: bytes, frame: int) -> None:
        """Keep an early segment until the bytes before it arrive."""
        held = self.pending.get(offset)
        if held is None:
            self.pending[offset] = (payload, frame)
            self.pending_bytes += len(payload)
        elif len(payload) > len(held[0]):
            tail_offset = offset + len(held[0])
            if tail_offset not in self.pending:
                self.pending[tail_offset] = (payload[len(held[0]) :], frame)
                self.pending_bytes += len(payload) - len(held[0])
        if self.pending_bytes > MAX_OUT_OF_ORDER:
            self._skip_hole()
            self._deliver()

    def _drain(self) -> None:
        """Move held segments that now continue the stream into the buffer."""
        while self.pending:
            held = self.pending.pop(self.next_offset, None)
            overlap = 0
            if held is None:
                first = min(self.pending)
                if first > self.next_offset:
                    return
                held = self.pending.pop(first)
                overlap = self.next_offset - first
            self.pending_bytes -= len(held[0])
            if overlap < len(held[0]):
                self._accept(held[0][overlap:], held[1])

    def _skip_hole(self) -> None:
        """Jump over bytes the capture never had, to the first held segment."""
        first = min(self.pending)
        lost = first - self.next_offset
        self.connection.reassembler.note_hole(lost, self.pending[first][1])
        if self.reader is not None:
            self.reader.gap()
        self.mid_stream = True
        self.buffer.skip_to(first)
        self.next_seq = ((self.next_seq or 0) + lost) & _MASK
        self.next_offset = first
        self._drain()

    def _deliver(self) -> None:
        """Let the reader (or the classifier) look at the new bytes."""
        if self.state == _CLASSIFY:
            self._classify(final=False)
        if self.state == _PARSE and self.reader is not None:
            self.reader.feed(self.buffer)
            if not self.reader.alive:
                self._release(_DROP)

    def _classify(self, final: bool) -> None:
        """Choose the reader from the first bytes of the stream."""
        data = self.buffer.data
        if not data and not final:
            return
        hello = looks_like_client_hello(data)
        kind = _TLS if hello else http.detect(data, self.mid_stream)
        if hello is None and kind == http.OTHER and not final:
            return
        if kind is None:
            if not final:
                return
            kind = http.OTHER
        self.connection.classified(self.side, kind)
        if kind == _TLS:
            self.reader = _HelloReader(self.connection)
        elif kind == http.REQUEST:
            self.reader = http.RequestReader(self.connection)
        elif kind == http.RESPONSE:
            self.reader = http.ResponseReader(self.connection)
        self.state = _PARSE if self.reader is not None else _DROP
        if self.state == _DROP:
            self._release(_DROP)

    def _release(self, state: int) -> None:
        """Free the buffers of a direction that reads nothing more."""
        self.state = state
        self.pending = {}
        self.pending_bytes = 0
        self.buffer = StreamBuffer(self.next_offset)


class Connection:
    """Both directions of one TCP connection and the messages between them."""

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
        self.directions = (_Direction(self, 0), _Direction(self, 1))
        self.requests: deque[HttpRequest] = deque()
        self.responses: deque[tuple[HttpResponse, list[int]]] = deque()
        self.closed = False

    def segment(
        self, side: int, sequence: int, flags: int, payload: bytes, frame: int
    ) -> None:
        """Take one segment sent by ``side``."""
        if flags & RST:
            self.close()
            return
        direction = self.directions[side]
        if direction.state >= _DROP:
            return
        if flags & SYN:
            direction.syn(sequence)
            sequence = (sequence + 1) & _MASK
        if payload or flags & FIN:
            direction.segment(sequence, payload, frame, flags & FIN)
        if self.directions[1 - side].state >= _DROP and direction.state >= _DROP:
            self.close()

    def classified(self, side: int, kind: str) -> None:
        """Fix the roles from content: who sends requests or hellos is the client."""
        if kind in (_TLS, http.REQUEST):
            client = side
        elif kind == http.RESPONSE:
            client = 1 - side
        else:
            return
        if not self.roles_fixed:
            if client != self.client_side:
                logger.debug("content shows the client is the other side")
            self.client_side = client
            self.roles_fixed = True

    def close(self) -> None:
        """End both directions and deliver every request still held."""
        if self.closed:
            return
        self.closed = True
        for direction in self.directions:
            if direction.state < _DROP:
                direction.finish()
        while self.requests:
            self.reassembler.ready.append(self.requests.popleft())
        if self.responses:
            logger.debug("%d responses without a request dropped", len(self.responses))
            self.responses.clear()

    def endpoints(self) -> tuple[Endpoint, Endpoint]:
        """(client, server) endpoints of the connection."""
        client = self.ends[self.client_side]
        server = self.ends[1 - self.client_side]
        return (
            Endpoint(format_address(client[0]), client[1]),
            Endpoint(format_address(server[0]), server[1]),
        )

    def add_request(
        self,
        head: tuple[str, str, Headers],
        body: bytes,
        frames: list[int],
        truncated: bool,
    ) -> None:
        """Hold a request until its response arrives (or pair it at once)."""
        method, target, headers = head
        client, server = self.endpoints()
        authority, path, query = http.split_target(target)
        host_header = http.header_value(headers, "host") or authority or ""
        request = HttpRequest(
            evidence=Evidence(self.reassembler.name, tuple(sorted(set(frames)))),
            client=client,
            server=server,
            transport=Transport.PLAINTEXT,
            method=method,
            host=http.host_without_port(host_header) or server.ip,
            path=path,
            query=query,
            headers=headers,
            body=body,
            truncated=truncated,
        )
        if self.responses:
            response, response_frames = self.responses.popleft()
            self._pair(request, response, response_frames)
            return
        self.requests.append(request)
        if len(self.requests) > MAX_WAITING:
            self.reassembler.ready.append(self.requests.popleft())

    def add_response(
        self, head: tuple[int, Headers], body: bytes, frames: list[int]
    ) -> None:
        """Attach a response to the oldest request still waiting for one."""
        response = HttpResponse(status=head[0], headers=head[1], body=body)
        if self.requests:
            self._pair(self.requests.popleft(), response, frames)
            return
        self.responses.append((response, list(frames)))
        if len(self.responses) > MAX_WAITING:
            self.responses.popleft()

    def response_method(self) -> str | None:
        """Method of the oldest request still waiting for its response."""
        return self.requests[0].method if self.requests else None

    def add_client_hello(self, hello: ClientHello, frames: list[int]) -> None:
        """Deliver a TLS ClientHello observation."""
        client, server = self.endpoints()
        self.reassembler.ready.append(
            TlsClientHello(
                evidence=Evidence(self.reassembler.name, tuple(sorted(set(frames)))),
                client=client,
                server=server,
                sni=hello.sni,
                legacy_version=hello.legacy_version,
                supported_versions=hello.supported_versions,
                cipher_suites=hello.cipher_suites,
                alpn=hello.alpn,
            )
        )

    def _pair(
        self, request: HttpRequest, response: HttpResponse, frames: list[int]
    ) -> None:
        """Deliver a request with its response; evidence covers both."""
        packets = tuple(sorted(set(request.evidence.packets).union(frames)))
        evidence = Evidence(request.evidence.file, packets)
        self.reassembler.ready.append(
            replace(request, response=response, evidence=evidence)
        )


class Reassembler:
    """Every TCP connection of one capture file.

    Feed it segments with :meth:`segment`; finished observations collect in
    :attr:`ready`, which the caller empties. :meth:`close_all` ends every
    connection at the end of the file.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.connections: OrderedDict[ConnectionKey, Connection] = OrderedDict()
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
    ) -> None:
        """Take one TCP segment from ``source`` (address, port) to ``destination``."""
        if source < destination:
            key, side = (source[0], source[1], destination[0], destination[1]), 0
        else:
            key, side = (destination[0], destination[1], source[0], source[1]), 1
        connection = self.connections.get(key)
        if connection is None or (connection.closed and flags & SYN):
            if not payload and not flags & SYN:
                return
            connection = Connection(self, key, side, flags)
            self.connections[key] = connection
            if len(self.connections) > MAX_CONNECTIONS:
                self.connections.popitem(last=False)[1].close()
        else:
            self.connections.move_to_end(key)
        if not connection.closed:
            connection.segment(side, sequence, flags, payload, frame)

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
