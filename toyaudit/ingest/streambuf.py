"""Reassembled bytes of one TCP direction, with the frames that carried them.

The TCP reassembler appends in-order payload to a :class:`StreamBuffer`; the
protocol parsers (HTTP, TLS) take complete pieces off its front. Each taken
piece reports the frame numbers that carried it, so an observation can name
every packet it was built from. The parsers report what they extract to a
:class:`MessageSink`, which is the connection they belong to.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

from toyaudit.ingest.tls import ClientHello

logger = logging.getLogger(__name__)

Headers = tuple[tuple[str, str], ...]
"""HTTP header fields as (name, value) pairs, in wire order."""


class StreamBuffer:
    """Bytes received in order and not yet taken by a parser.

    ``base`` is the stream offset of the first buffered byte (0 is the first
    byte toyaudit saw in this direction). ``spans`` holds, in order,
    ``(end offset, frame number)`` for each piece of payload appended: the
    piece covers the bytes from the previous span's end to its own end.
    """

    __slots__ = ("data", "base", "spans")

    def __init__(self, base: int = 0) -> None:
        self.data = bytearray()
        self.base = base
        self.spans: deque[tuple[int, int]] = deque()

    def append(self, payload: bytes, frame: int) -> None:
        """Add in-order payload carried by ``frame``."""
        self.data += payload
        self.spans.append((self.base + len(self.data), frame))

    def take(self, count: int, frames: list[int] | None = None) -> bytes:
        """Remove and return the first ``count`` bytes.

        The numbers of the frames that carried them are appended to ``frames``
        (each once, in order) when a list is given.
        """
        count = min(count, len(self.data))
        if count <= 0:
            return b""
        stop = self.base + count
        spans = self.spans
        if frames is not None:
            for end, frame in spans:
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

    def skip_to(self, offset: int) -> None:
        """Drop everything buffered and continue at stream ``offset`` (a gap)."""
        self.data.clear()
        self.spans.clear()
        self.base = offset


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
