"""Bounds-checked reading of big-endian protocol fields (TLS, DNS).

Payloads come from the network and may be truncated, fuzzed or hostile, so
every read checks its bounds and a bad length ends the parse with
:class:`MalformedPayloadError`, which the protocol parsers catch themselves.
"""

from __future__ import annotations

from toyaudit.errors import IngestError


class MalformedPayloadError(IngestError):
    """A protocol field runs past the end of its payload or holds an
    impossible value. Parsers catch it and skip the payload; it never leaves
    the ingest stage."""


class Cursor:
    """Reads network-order fields one after another from ``payload``."""

    __slots__ = ("payload", "position", "end")

    def __init__(self, payload: bytes, position: int = 0, end: int | None = None):
        self.payload = payload
        self.position = position
        self.end = len(payload) if end is None else min(end, len(payload))

    def remaining(self) -> int:
        """Bytes left before the end of the payload or of the current field."""
        return self.end - self.position

    def integer(self, size: int) -> int:
        """Read an unsigned big-endian integer of ``size`` bytes."""
        return int.from_bytes(self.raw(size), "big")

    def raw(self, size: int) -> bytes:
        """Read ``size`` raw bytes."""
        stop = self.position + size
        if size < 0 or stop > self.end:
            raise MalformedPayloadError(
                f"field of {size} bytes at offset {self.position} runs past "
                f"the end ({self.end})"
            )
        piece = self.payload[self.position : stop]
        self.position = stop
        return piece

    def vector(self, length_size: int) -> Cursor:
        """Read a length-prefixed field and return a cursor over its content."""
        length = self.integer(length_size)
        start = self.position
        self.raw(length)
        return Cursor(self.payload, start, start + length)
