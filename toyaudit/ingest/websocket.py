"""Read WebSocket messages from both directions of an upgraded HTTP connection.

After an HTTP/1.1 request with ``Upgrade: websocket`` is answered with
``101 Switching Protocols``, the connection carries WebSocket frames
(RFC 6455 §5). :class:`WebSocketReader` reads them in one direction:
it unmasks client frames (§5.3), joins fragmented messages (§5.4), skips
control frames (close, ping, pong: §5.5), and inflates messages compressed
with the permessage-deflate extension (RFC 7692) when the 101 response
negotiated it.

Memory is bounded: a message keeps at most :data:`MAX_MESSAGE` bytes (after
inflation too); the rest of a longer message is skipped. A frame's bytes are
read as they arrive, so a huge frame never sits whole in memory.

User-visible limits: extensions other than permessage-deflate are not
undone; a message cut by lost bytes is delivered up to the loss, and the
stream is not read further.
"""

from __future__ import annotations

import logging
import zlib
from typing import NamedTuple, Protocol

from toyaudit.ingest.streambuf import StreamBuffer

logger = logging.getLogger(__name__)

MAX_MESSAGE = 1 << 20
"""Bytes kept per message, before and after inflation."""
MAX_DISCARDED = 64 << 20
"""Inflated bytes thrown away past :data:`MAX_MESSAGE` before giving up the
compression context (it must be kept in step for the next messages)."""

_CONTINUATION, _TEXT, _BINARY = 0, 1, 2
_CONTROL = 0x08
_FIN = 0x80
_RSV1 = 0x40
_MASKED = 0x80
_DEFLATE_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 §7.2.2


class Deflate(NamedTuple):
    """permessage-deflate parameters, as the 101 response agreed them."""

    client_no_context_takeover: bool = False
    server_no_context_takeover: bool = False


def negotiated_deflate(extensions_header: str | None) -> Deflate | None:
    """Parse a response's ``Sec-WebSocket-Extensions`` for permessage-deflate."""
    if not extensions_header:
        return None
    for offer in extensions_header.split(","):
        name, *parameters = (part.strip().lower() for part in offer.split(";"))
        if name == "permessage-deflate":
            names = {parameter.partition("=")[0].strip() for parameter in parameters}
            return Deflate(
                "client_no_context_takeover" in names,
                "server_no_context_takeover" in names,
            )
    return None


class WebSocketSink(Protocol):
    """Where a :class:`WebSocketReader` delivers the messages it reads."""

    def add_websocket(
        self, from_client: bool, text: bool, payload: bytes, frames: list[int]
    ) -> None:
        """One complete (or cut) message and the frames that carried it."""


def unmask(piece: bytes, key: bytes, offset: int) -> bytes:
    """XOR ``piece`` with the masking key, starting at key byte ``offset``."""
    if not piece:
        return piece
    rotated = key[offset % 4 :] + key[: offset % 4]
    stream = (rotated * (len(piece) // 4 + 1))[: len(piece)]
    value = int.from_bytes(piece, "big") ^ int.from_bytes(stream, "big")
    return value.to_bytes(len(piece), "big")


class WebSocketReader:
    """Reads the messages of one direction of a WebSocket connection."""

    def __init__(
        self, sink: WebSocketSink, from_client: bool, deflate: Deflate | None
    ) -> None:
        self.sink = sink
        self.from_client = from_client
        self.alive = True
        self.deflate = deflate
        self.no_takeover = deflate is not None and (
            deflate.client_no_context_takeover
            if from_client
            else deflate.server_no_context_takeover
        )
        self.inflater = zlib.decompressobj(-15)
        self.remaining = 0
        """Payload bytes of the current frame still to read."""
        self.key = b""
        self.first = 0
        """First header byte of the current frame: FIN, RSV bits, opcode."""
        self.read = 0
        self.control = False
        self.message: bytearray | None = None
        self.text = False
        self.compressed = False
        self.frames: list[int] = []

    def feed(self, buffer: StreamBuffer) -> None:
        """Read every frame header and payload byte the buffer holds."""
        while self.alive and buffer.data:
            if self.remaining:
                self._payload(buffer)
            elif not self._header(buffer):
                return

    def gap(self) -> None:
        """Lost bytes: deliver the message cut there, read no further."""
        self._finish()
        self.alive = False

    def close(self) -> None:
        """The stream ended: deliver a message still being read."""
        self._finish()
        self.alive = False

    def _header(self, buffer: StreamBuffer) -> bool:
        """Read one frame header (RFC 6455 §5.2); False if incomplete."""
        data = buffer.data
        if len(data) < 2:
            return False
        first, second = data[0], data[1]
        size = 2 + (4 if second & _MASKED else 0)
        length = second & 0x7F
        if length >= 126:
            extra = 2 if length == 126 else 8
            if len(data) < 2 + extra:
                return False
            length = int.from_bytes(data[2 : 2 + extra], "big")
            size += extra
        if len(data) < size:
            return False
        frames: list[int] = []
        header = buffer.take(size, frames)
        self.key = header[-4:] if second & _MASKED else b""
        self.read = 0
        self.remaining = length
        self.first = first
        self._start_frame(first, frames)
        if not length:
            self._end_frame(first)
        return True

    def _start_frame(self, first: int, frames: list[int]) -> None:
        """Begin a data message, continue it, or mark a control frame."""
        opcode = first & 0x0F
        self.control = bool(opcode & _CONTROL)
        if self.control:
            return
        if opcode in (_TEXT, _BINARY):
            self._finish()  # a message left unfinished is cut here
            self.message = bytearray()
            self.frames = frames
            self.text = opcode == _TEXT
            self.compressed = bool(first & _RSV1) and self.deflate is not None
        elif opcode == _CONTINUATION:
            self.frames.extend(frames)
        else:
            logger.debug("WebSocket frame with reserved opcode %d", opcode)
            self.alive = False

    def _payload(self, buffer: StreamBuffer) -> None:
        """Read what the buffer holds of the current frame's payload."""
        piece = buffer.take(self.remaining, None if self.control else self.frames)
        offset = self.read
        self.read += len(piece)
        self.remaining -= len(piece)
        if not self.control and self.message is not None:
            room = MAX_MESSAGE - len(self.message)
            if room > 0:
                kept = piece[:room]
                self.message += unmask(kept, self.key, offset) if self.key else kept
        if not self.remaining:
            self._end_frame(self.first)

    def _end_frame(self, first: int) -> None:
        """After a frame's payload: deliver the message its FIN bit ends."""
        if first & _FIN and not self.control:
            self._finish()

    def _finish(self) -> None:
        """Deliver the message being read, inflated if it was compressed."""
        if self.message is None:
            return
        payload = bytes(self.message)
        if self.compressed:
            payload = self._inflate(payload)
        self.sink.add_websocket(self.from_client, self.text, payload, self.frames)
        self.message = None
        self.frames = []

    def _inflate(self, compressed: bytes) -> bytes:
        """Undo permessage-deflate, keeping the context for the next message."""
        if self.no_takeover:
            self.inflater = zlib.decompressobj(-15)
        try:
            payload = self.inflater.decompress(compressed + _DEFLATE_TAIL, MAX_MESSAGE)
            discarded = 0
            while self.inflater.unconsumed_tail and discarded < MAX_DISCARDED:
                tail = self.inflater.unconsumed_tail
                discarded += len(self.inflater.decompress(tail, MAX_MESSAGE))
        except zlib.error as error:
            logger.debug("WebSocket message does not inflate: %s", error)
            self.inflater = zlib.decompressobj(-15)
            return compressed
        return payload
