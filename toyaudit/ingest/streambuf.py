"""Reassembled bytes of one TCP direction, with the frames that carried them.

The TCP reassembler appends in-order payload to a :class:`StreamBuffer`; the
protocol parsers (HTTP, TLS) take complete pieces off its front. Each taken
piece reports the frame numbers that carried it, so an observation can name
every packet it was built from. The parsers report what they extract to a
:class:`MessageSink`, which is the connection they belong to.

The buffer also remembers when each message started: the capture time of the
frame that carried its first byte (:meth:`StreamBuffer.sent_at`). Parsers
collect a message's frames in a list that starts empty, so the first
:meth:`~StreamBuffer.take` into an empty list is a message's first piece; only
then is a time kept, once per message rather than once per packet.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

from toyaudit.ingest.tls import ClientHello

logger = logging.getLogger(__name__)

Headers = tuple[tuple[str, str], ...]
"""HTTP header fields as (name, value) pairs, in wire order."""

MAX_STARTS = 64
"""Message start times remembered per buffer, the oldest forgotten first.

A message is delivered as soon as its last byte arrives, so only the last
few starts are ever looked up: the most a message needs is a TLS handshake
of many records, or a fragmented WebSocket message with control frames
between its fragments. The bound keeps a long connection from growing the
table.
"""


class StreamBuffer:
    """Bytes received in order and not yet taken by a parser.

    ``base`` is the stream offset of the first buffered byte (0 is the first
    byte toyaudit saw in this direction). ``spans`` holds, in order,
    ``(end offset, frame number, capture time)`` for each piece of payload
    appended: the piece covers the bytes from the previous span's end to its
    own end. ``starts`` maps the first frame of each message taken lately to
    its capture time.
    """

    __slots__ = ("data", "base", "spans", "starts")

    def __init__(self, base: int = 0) -> None:
        self.data = bytearray()
        self.base = base
        self.spans: deque[tuple[int, int, float | None]] = deque()
        self.starts: dict[int, float] = {}

    def append(self, payload: bytes, frame: int, time: float | None = None) -> None:
        """Add in-order payload carried by ``frame``, captured at ``time``."""
        self.data += payload
        self.spans.append((self.base + len(self.data), frame, time))

    def take(self, count: int, frames: list[int] | None = None) -> bytes:
        """Remove and return the first ``count`` bytes.

        The numbers of the frames that carried them are appended to ``frames``
        (each once, in order) when a list is given. When that list is empty,
        the bytes start a message: the capture time of their first frame is
        kept for :meth:`sent_at`.
        """
        count = min(count, len(self.data))
        if count <= 0:
            return b""
        stop = self.base + count
        spans = self.spans
        if frames is not None:
            if not frames and spans:
                self._start(spans[0])
            for end, frame, _time in spans:
                if not frames or frames[-1] != frame:
                    frames.append(frame)
                if end >= stop:
                    break
        while spans and spans[0][0] <= stop:
            spans.popleft()
        piece = bytes(self.data[:count])
        del self.data[:count]
        self.base = stop
        return piece

    def sent_at(self, frames: list[int]) -> float | None:
        """When the message carried by ``frames`` (first frame first) started.

        The time of its first frame or, should that be unknown (a handshake
        message restarted after a retry), of the first of its frames that
        started a message. None when the capture gave no time or the message
        was not taken from this buffer.
        """
        starts = self.starts
        for frame in frames:
            time = starts.get(frame)
            if time is not None:
                return time
        return None

    def skip_to(self, offset: int) -> None:
        """Drop everything buffered and continue at stream ``offset`` (a gap).

        Start times stay: a message cut by the gap is still delivered.
        """
        self.data.clear()
        self.spans.clear()
        self.base = offset

    def _start(self, span: tuple[int, int, float | None]) -> None:
        """Remember the capture time of a message's first frame."""
        _end, frame, time = span
        if time is None:
            return
        starts = self.starts
        if len(starts) >= MAX_STARTS and frame not in starts:
            del starts[next(iter(starts))]
        starts[frame] = time


class MessageSink(Protocol):
    """Where the protocol parsers of one TCP connection deliver messages."""

    def add_request(
        self,
        head: tuple[str, str, Headers],
        body: bytes,
        frames: list[int],
        truncated: bool,
    ) -> None:
        """An HTTP request (method, request target, headers) and its body."""

    def add_response(
        self, head: tuple[int, Headers], body: bytes, frames: list[int]
    ) -> None:
        """An HTTP response (status, headers) and its body."""

    def response_method(self) -> str | None:
        """Method of the oldest request still waiting for its response."""

    def add_client_hello(self, hello: ClientHello, frames: list[int]) -> None:
        """A parsed TLS ClientHello."""
