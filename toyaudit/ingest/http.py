"""Read HTTP/1.x requests and responses out of reassembled TCP streams.

A stream is recognised as HTTP by its content, not its port: a request line
(``METHOD target HTTP/1.x``) or a status line (``HTTP/1.x 200 ...``) at its
start, or, for a capture that began mid-connection, at a line start within
its first 64 KiB. Messages follow RFC 9112: Content-Length and chunked bodies,
keep-alive and pipelining. Bodies are de-chunked but not decompressed; the
Content-Encoding header stays with the message for classification.

User-visible limits:

* A body is kept up to 16 MiB; the rest is skipped and the message is marked
  truncated.
* After lost bytes (a gap in the TCP stream) the message being read is cut
  there and marked truncated; reading resumes at the next line that starts a
  message. Bytes are never invented to fill a gap.
* Headers continued on the next line (obsolete line folding) lose the
  continuation. CONNECT tunnels and upgrades other than WebSocket (h2c) are
  not read past the upgrade. HTTP/2 and HTTP/3 are not read.

After a request that asks for an upgrade (RFC 9110 §7.8) the request reader
waits for the answer before reading on: the connection switches both
directions to WebSocket frames on ``101 Switching Protocols``
(:mod:`toyaudit.ingest.websocket`), or calls :meth:`RequestReader.resume`
for any other answer.
"""

from __future__ import annotations

import logging
import re

from toyaudit.ingest.streambuf import Headers, MessageSink, StreamBuffer

logger = logging.getLogger(__name__)

MAX_HEAD = 64 << 10
"""Longest header block (start line and header fields) read, in bytes."""
MAX_BODY = 16 << 20
"""Longest body kept per message, in bytes; longer ones are marked truncated."""
SEARCH_WINDOW = 64 << 10
"""Bytes searched for a message start in a stream that began mid-connection."""

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]"
REQUEST_LINE = re.compile(_TOKEN + rb"{1,32} [^\s]+ HTTP/1\.[01]\r?\n")
"""An HTTP/1.x request line (RFC 9112 §3)."""
STATUS_LINE = re.compile(rb"HTTP/1\.[01] [0-9]{3}(?: [^\r\n]*)?\r?\n")
"""An HTTP/1.x status line (RFC 9112 §4)."""

_REQUEST_PREFIX = re.compile(_TOKEN + rb"{1,32}(?: |\Z)")
_STATUS_PREFIX = re.compile(rb"(?:HTTP/|HTTP\Z|HTT\Z|HT\Z|H\Z)")
_REQUEST_RESYNC = re.compile(rb"\n(?=" + REQUEST_LINE.pattern + rb")")
_STATUS_RESYNC = re.compile(rb"\n(?=" + STATUS_LINE.pattern + rb")")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_MAX_CHUNK_LINE = 1024
_SYNC_KEEP = 4096

REQUEST = "request"
RESPONSE = "response"
OTHER = "other"

(_SYNC, _HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS) = range(7)
(_UNTIL_CLOSE, _DEAD, _UPGRADE) = range(7, 10)
_BODY_STATES = frozenset({_LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _UNTIL_CLOSE})


def detect(stream_start: bytes | bytearray, mid_stream: bool) -> str | None:
    """Tell whether a stream carries HTTP requests, responses or neither.

    Returns :data:`REQUEST`, :data:`RESPONSE`, :data:`OTHER`, or None while
    more bytes are needed to decide. ``mid_stream`` allows the first message
    to start at a later line, for captures that began inside a connection.
    """
    if REQUEST_LINE.match(stream_start):
        return REQUEST
    if STATUS_LINE.match(stream_start):
        return RESPONSE
    waiting = b"\n" not in stream_start and len(stream_start) < MAX_HEAD
    if waiting and (
        _REQUEST_PREFIX.match(stream_start) or _STATUS_PREFIX.match(stream_start)
    ):
        return None
    if not mid_stream:
        return OTHER
    window = stream_start[:SEARCH_WINDOW]
    if _REQUEST_RESYNC.search(window):
        return REQUEST
    if _STATUS_RESYNC.search(window):
        return RESPONSE
    return None if len(stream_start) < SEARCH_WINDOW else OTHER


def header_value(headers: Headers, name: str) -> str | None:
    """The last value of header ``name`` (case-insensitive), or None."""
    found = None
    for field_name, value in headers:
        if field_name.lower() == name:
            found = value
    return found


def split_target(target: str) -> tuple[str | None, str, str]:
    """Split a request target into (authority or None, path, raw query).

    The absolute form a proxy receives (``http://host/path?query``) yields its
    authority; the origin form (``/path?query``) yields None.
    """
    authority = None
    if "://" in target:
        authority, _, rest = target.split("://", 1)[1].partition("/")
        target = "/" + rest
    path, _, query = target.partition("?")
    return authority, path, query


def host_without_port(authority: str) -> str:
    """Lower-case an authority and drop its port (``[::1]:80`` gives ``::1``)."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1:].partition("]")[0]
    if authority.count(":") == 1:
        return authority.partition(":")[0]
    return authority


def _parse_headers(lines: list[str]) -> Headers:
    """Header fields from the lines after the start line; blank lines end them."""
    headers: list[tuple[str, str]] = []
    for line in lines:
        name, colon, value = line.rstrip("\r").partition(":")
        if colon and name.strip():
            headers.append((name.strip(), value.strip()))
    return tuple(headers)


class _MessageReader:
    """Incremental reader of HTTP/1.x messages from one direction of a stream.

    :meth:`feed` takes whatever complete pieces the buffer holds and keeps
    its place between calls, so each byte is looked at a bounded number of
    times. Subclasses read the start line and decide how the body is framed.
    """

    start_line: re.Pattern[bytes] = REQUEST_LINE
    prefix: re.Pattern[bytes] = _REQUEST_PREFIX
    resync: re.Pattern[bytes] = _REQUEST_RESYNC

    def __init__(self, sink: MessageSink) -> None:
        self.sink = sink
        self.state = _SYNC
        self.body = bytearray()
        self.remaining = 0
        self.frames: list[int] = []
        self.truncated = False

    @property
    def alive(self) -> bool:
        """False once the stream stopped carrying HTTP (after an upgrade)."""
        return self.state != _DEAD

    def feed(self, buffer: StreamBuffer) -> None:
        """Read every complete piece the buffer holds."""
        while buffer.data and self._step(buffer):
            pass

    def gap(self) -> None:
        """Bytes were lost after what the buffer held: cut the message there."""
        if self.state in _BODY_STATES:
            self._finish(truncated=True)
        elif self.state == _TRAILERS:
            self._finish(truncated=False)
        elif self.state == _HEAD:
            logger.debug("HTTP header block cut by lost bytes; dropped")
        if self.state != _DEAD:
            self.state = _SYNC

    def close(self) -> None:
        """The stream ended: deliver the message being read, if any."""
        if self.state == _UNTIL_CLOSE:
            self._finish(truncated=False)
        elif self.state in _BODY_STATES:
            self._finish(truncated=True)
        elif self.state == _TRAILERS:
            self._finish(truncated=False)
        self.state = _DEAD

    def _step(self, buffer: StreamBuffer) -> bool:
        """Advance by one piece; False when the buffer holds too little."""
        state = self.state
        if state == _SYNC:
            return self._sync(buffer)
        if state == _HEAD:
            return self._head(buffer)
        if state in (_LENGTH, _CHUNK_DATA):
            return self._body(buffer)
        if state == _CHUNK_SIZE:
            return self._chunk_size(buffer)
        if state in (_CHUNK_END, _TRAILERS):
            return self._line_end(buffer)
        if state == _UNTIL_CLOSE:
            self._keep(buffer.take(len(buffer.data), self.frames))
        elif state == _UPGRADE and len(buffer.data) > MAX_HEAD:
            logger.debug("no answer to an upgrade request; reading on as HTTP")
            self.state = _SYNC
            return True
        return False

    def resume(self) -> None:
        """The upgrade asked for did not happen: read the next request."""
        if self.state == _UPGRADE:
            self.state = _SYNC

    def _sync(self, buffer: StreamBuffer) -> bool:
        """Find where the next message starts, discarding what comes before."""
        data = buffer.data
        if self.start_line.match(data):
            self.state = _HEAD
            return True
        found = self.resync.search(data)
        if found is not None:
            buffer.take(found.start() + 1)
            self.state = _HEAD
            return True
        waiting = b"\n" not in data and len(data) < MAX_HEAD
        if not (waiting and self.prefix.match(data)) and len(data) > _SYNC_KEEP:
            buffer.take(len(data) - _SYNC_KEEP)
        return False

    def _head(self, buffer: StreamBuffer) -> bool:
        """Read the start line and header fields once they are all there."""
        end = _HEAD_END.search(buffer.data, 0, MAX_HEAD)
        if end is None:
            if len(buffer.data) >= MAX_HEAD:
                logger.debug("HTTP header block over %d bytes; skipped", MAX_HEAD)
                buffer.take(1)
                self.state = _SYNC
                return True
            return False
        self.frames = []
        self.body = bytearray()
        self.truncated = False
        lines = buffer.take(end.end(), self.frames).decode("latin-1").split("\n")
        self._begin(lines[0].rstrip("\r"), _parse_headers(lines[1:]))
        return True

    def _begin(self, start_line: str, headers: Headers) -> None:
        """Read the start line and set the body framing (in subclasses)."""
        raise NotImplementedError

    def _frame_body(self, headers: Headers, until_close: bool) -> None:
        """Set the state for the body framing the headers announce (RFC 9112 §6)."""
        encoding = header_value(headers, "transfer-encoding")
        if encoding is not None and "chunked" in encoding.lower():
            self.state = _CHUNK_SIZE
            return
        length_text = header_value(headers, "content-length")
        if length_text is not None and length_text.isdigit():
            self.remaining = int(length_text)
            self.state = _LENGTH
            if not self.remaining:
                self._finish(truncated=False)
        elif until_close:
            self.state = _UNTIL_CLOSE
        else:
            self._finish(truncated=False)

    def _body(self, buffer: StreamBuffer) -> bool:
        """Take body bytes of a Content-Length body or of one chunk."""
        piece = buffer.take(self.remaining, self.frames)
        self._keep(piece)
        self.remaining -= len(piece)
        if not self.remaining:
            if self.state == _LENGTH:
                self._finish(truncated=False)
            else:
                self.state = _CHUNK_END
        return True

    def _chunk_size(self, buffer: StreamBuffer) -> bool:
        """Read a chunk-size line (RFC 9112 §7.1)."""
        newline = buffer.data.find(b"\n", 0, _MAX_CHUNK_LINE)
        if newline < 0:
            if len(buffer.data) >= _MAX_CHUNK_LINE:
                self._malformed("chunk-size line too long")
                return True
            return False
        line = buffer.take(newline + 1, self.frames)
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            size = -1
        if size < 0:
            self._malformed("chunk size is not a hexadecimal number")
        elif size == 0:
            self.state = _TRAILERS
        else:
            self.remaining = size
            self.state = _CHUNK_DATA
        return True

    def _line_end(self, buffer: StreamBuffer) -> bool:
        """Read the CRLF after a chunk, or the trailer section after the last."""
        data = buffer.data
        if self.state == _TRAILERS and not data.startswith((b"\r\n", b"\n")):
            end = _HEAD_END.search(data, 0, MAX_HEAD)
            if end is None:
                return False
            buffer.take(end.end(), self.frames)
            self._finish(truncated=False)
            return True
        if data == b"\r":
            return False
        buffer.take(2 if data.startswith(b"\r\n") else 1 if data[:1] == b"\n" else 0)
        if self.state == _TRAILERS:
            self._finish(truncated=False)
        else:
            self.state = _CHUNK_SIZE
        return True

    def _keep(self, piece: bytes) -> None:
        """Add body bytes, up to :data:`MAX_BODY`."""
        room = MAX_BODY - len(self.body)
        if len(piece) > room:
            piece = piece[:room]
            self.truncated = True
        self.body += piece

    def _malformed(self, problem: str) -> None:
        """Cut the current message at a framing error and look for the next."""
        logger.debug("HTTP body framing error: %s", problem)
        self._finish(truncated=True)

    def _finish(self, truncated: bool) -> None:
        """Deliver the message and get ready for the next one."""
        body, frames = bytes(self.body), self.frames
        self.body = bytearray()
        self.frames = []
        if self.state != _DEAD:
            self.state = _SYNC
        self._deliver(body, truncated or self.truncated, frames)

    def _deliver(self, body: bytes, truncated: bool, frames: list[int]) -> None:
        """Hand the finished message to the sink (in subclasses)."""
        raise NotImplementedError


class RequestReader(_MessageReader):
    """Reads the requests a client sends on one connection."""

    def __init__(self, sink: MessageSink) -> None:
        super().__init__(sink)
        self.head: tuple[str, str, Headers] = ("", "", ())

    def _begin(self, start_line: str, headers: Headers) -> None:
        method, target, _version = start_line.split(" ", 2)
        self.head = (method, target, headers)
        if method.upper() == "CONNECT":
            # RFC 9110 §9.3.6: a CONNECT has no body; a 2xx answer turns the
            # connection into a tunnel (read on by the connection, see
            # Conversation.add_response), any other answer leaves it HTTP.
            self._finish(truncated=False)
            return
        self._frame_body(headers, until_close=False)

    def _deliver(self, body: bytes, truncated: bool, frames: list[int]) -> None:
        self.sink.add_request(self.head, body, frames, truncated)
        if self.state != _DEAD and (
            self.head[0].upper() == "CONNECT" or header_value(self.head[2], "upgrade")
        ):
            self.state = _UPGRADE  # wait for 101 (or 2xx to CONNECT) or another answer


class ResponseReader(_MessageReader):
    """Reads the responses a server sends on one connection."""

    start_line = STATUS_LINE
    prefix = _STATUS_PREFIX
    resync = _STATUS_RESYNC

    def __init__(self, sink: MessageSink) -> None:
        super().__init__(sink)
        self.head: tuple[int, Headers] = (0, ())

    def _begin(self, start_line: str, headers: Headers) -> None:
        status = int(start_line[9:12])
        self.head = (status, headers)
        if 100 <= status < 200 and status != 101:
            self.state = _SYNC  # interim response (RFC 9110 §15.2): not the answer
            return
        if status == 101 or (200 <= status < 300 and self._answers_connect()):
            # Switching protocols, or a tunnel opened: no more HTTP/1.x here.
            self.state = _DEAD
            self._finish(truncated=False)
        elif self.sink.response_method() == "HEAD" or status in (204, 304):
            self._finish(truncated=False)
        else:
            self._frame_body(headers, until_close=True)

    def _answers_connect(self) -> bool:
        """Whether this response answers a CONNECT request."""
        method = self.sink.response_method()
        return method is not None and method.upper() == "CONNECT"

    def _deliver(self, body: bytes, truncated: bool, frames: list[int]) -> None:
        self.sink.add_response(self.head, body, frames)
