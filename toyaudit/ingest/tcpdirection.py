"""One direction of a TCP connection: sequence numbers, holes and the reader.

A :class:`Direction` takes the segments one side of a connection sends, in
any order (:mod:`.tcp` finds the connection): in-order payload goes to a
:class:`~toyaudit.ingest.streambuf.StreamBuffer`, early segments wait in a
bounded out-of-order store, retransmitted and overlapping bytes keep the copy
seen first, and a hole that persists is skipped and counted, never filled
in. Its first bytes choose its reader (the connection recognises them);
what follows is fed to that reader until it is done, and then dropped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from toyaudit.ingest import http
from toyaudit.ingest.dns import DnsStreamReader
from toyaudit.ingest.mqtt import MqttReader
from toyaudit.ingest.payload import RawStreamReader
from toyaudit.ingest.streambuf import StreamBuffer
from toyaudit.ingest.tlsstream import TlsReader
from toyaudit.ingest.websocket import WebSocketReader

if TYPE_CHECKING:
    from toyaudit.ingest.tcp import Connection

logger = logging.getLogger(__name__)

MAX_OUT_OF_ORDER = 1 << 20
"""Bytes waiting behind a hole, per direction, before the hole is skipped."""

MASK = 0xFFFFFFFF
"""Sequence numbers wrap at 32 bits."""
HALF = 1 << 31
CLASSIFY, PARSE, DROP, CLOSED = range(4)
"""A direction's states: choosing its reader, reading, dropping what comes, closed."""
NO_FIN = 1 << 62

Reader = (
    http.RequestReader
    | http.ResponseReader
    | TlsReader
    | DnsStreamReader
    | MqttReader
    | WebSocketReader
    | RawStreamReader
)


class Direction:
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
        self.state = CLASSIFY
        self.next_seq: int | None = None
        self.next_offset = 0
        self.fin_offset = NO_FIN
        self.pending: dict[int, tuple[bytes, int, float | None]] = {}
        """Early segments by stream offset: (payload, frame number, time)."""
        self.pending_bytes = 0
        self.buffer = StreamBuffer()
        self.reader: Reader | None = None
        self.mid_stream = True

    def syn(self, sequence: int) -> None:
        """A SYN fixes where the stream starts: the byte after it."""
        if self.next_seq is None:
            self.next_seq = (sequence + 1) & MASK
            self.mid_stream = False

    def segment(
        self, sequence: int, payload: bytes, frame: int, fin: int, time: float | None
    ) -> None:
        """Take one segment's payload; ``fin`` is nonzero when it ends the stream.

        A direction that is dropping or closed ignores it: nothing more is
        read there, so nothing is kept.
        """
        if self.state >= DROP:
            return
        if self.next_seq is None:
            self.next_seq = sequence
        delta = ((sequence - self.next_seq + HALF) & MASK) - HALF
        if fin:
            self.fin_offset = min(
                self.fin_offset, self.next_offset + delta + len(payload)
            )
        if delta > 0:
            self._hold(self.next_offset + delta, payload, frame, time)
        elif -delta < len(payload):
            self._accept(payload[-delta:] if delta else payload, frame, time)
            if self.pending:
                self._drain()
            self._deliver()
        if self.next_offset >= self.fin_offset and self.state < DROP:
            self.finish()

    def finish(self) -> None:
        """End the stream: skip remaining holes, let the reader close."""
        while self.pending and self.state < DROP:
            self._skip_hole()
            self._deliver()
        if self.state == CLASSIFY:
            self._classify(final=True)
            self._deliver()
        if self.reader is not None and self.state == PARSE:
            self.reader.close()
        self._release(CLOSED)

    def _accept(self, payload: bytes, frame: int, time: float | None) -> None:
        """Append in-order payload to the buffer."""
        self.buffer.append(payload, frame, time)
        self.next_offset += len(payload)
        self.next_seq = ((self.next_seq or 0) + len(payload)) & MASK

    def _hold(
        self, offset: int, payload: bytes, frame: int, time: float | None
    ) -> None:
        """Keep an early segment until the bytes before it arrive."""
        held = self.pending.get(offset)
        if held is None:
            self.pending[offset] = (payload, frame, time)
            self.pending_bytes += len(payload)
        elif len(payload) > len(held[0]):
            tail_offset = offset + len(held[0])
            if tail_offset not in self.pending:
                self.pending[tail_offset] = (payload[len(held[0]) :], frame, time)
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
                self._accept(held[0][overlap:], held[1], held[2])

    def _skip_hole(self) -> None:
        """Jump over bytes the capture never had, to the first held segment."""
        first = min(self.pending)
        lost = first - self.next_offset
        self.connection.reassembler.note_hole(lost, self.pending[first][1])
        if self.reader is not None:
            self.reader.gap()
        self.mid_stream = True
        self.buffer.skip_to(first)
        self.next_seq = ((self.next_seq or 0) + lost) & MASK
        self.next_offset = first
        self._drain()

    def _deliver(self) -> None:
        """Let the reader (or the classifier) look at the new bytes."""
        if self.state == CLASSIFY:
            self._classify(final=False)
        while self.state == PARSE and self.reader is not None:
            reader = self.reader
            reader.feed(self.buffer)
            if self.reader is not reader:
                # The protocol changed: read on with the new reader (an
                # upgrade) or recognise the stream afresh (a tunnel).
                if self.state == CLASSIFY:
                    self._classify(final=False)
                continue
            if not reader.alive:
                self._release(DROP)
            return

    def switch(self, reader: Reader, deliver: bool) -> None:
        """Read on with ``reader`` from the next byte on (after an upgrade)."""
        if self.state >= DROP:
            return
        self.reader = reader
        self.state = PARSE
        if deliver:
            self._deliver()

    def reopen(self, deliver: bool) -> None:
        """Recognise the stream afresh from the next byte on (a tunnel opened)."""
        if self.state >= DROP:
            return
        self.reader = None
        self.state = CLASSIFY
        self.mid_stream = False
        if deliver:
            self._deliver()

    def _classify(self, final: bool) -> None:
        """Choose the reader from the first bytes of the stream."""
        data = self.buffer.data
        if not data and not final:
            return
        kind = self.connection.recognise(self.side, data, self.mid_stream, final)
        if kind is None:
            return
        self.connection.classified(self.side, kind)
        self.reader = self.connection.reader_for(self.side, kind)
        self.state = PARSE if self.reader is not None else DROP
        if self.state == DROP:
            self._release(DROP)

    def _release(self, state: int) -> None:
        """Free the buffers of a direction that reads nothing more."""
        self.state = state
        self.pending = {}
        self.pending_bytes = 0
        self.buffer = StreamBuffer(self.next_offset)
