"""Read one direction of a TLS stream record by record.

TLS cuts its stream into records (RFC 8446 §5.1, RFC 5246 §6.2): a content
type, a version and a length, then the record's bytes. :class:`TlsReader`
takes whole records off a :class:`StreamBuffer` and gathers the handshake
messages that travel in clear:

* on the client side, the ClientHello;
* on the server side, the ServerHello and, up to TLS 1.2, the Certificate
  message with the server's certificate chain. A HelloRetryRequest is
  skipped: the ServerHello that follows it is the one that counts.

Once these are read, the plaintext handshake is over for the audit. Without
a :class:`TlsRecordConsumer` the reader then stops and the connection drops
the rest of the stream's bytes unread, which keeps memory flat. With one, it
keeps reading and passes on every record of the stream.

User-visible limits: handshake messages larger than :data:`MAX_HANDSHAKE`
are not read; a stream that does not follow the record framing (for
example after lost bytes) is read no further.
"""

from __future__ import annotations

import logging
from typing import NamedTuple, Protocol

from toyaudit.ingest.streambuf import StreamBuffer
from toyaudit.ingest.tls import (
    ClientHello,
    ServerHello,
    parse_certificates,
    parse_client_hello,
    parse_server_hello,
)

logger = logging.getLogger(__name__)

MAX_HANDSHAKE = 256 << 10
"""Bytes of clear handshake messages gathered per direction."""
MAX_RECORD = (1 << 14) + 2048
"""Largest record body accepted (RFC 5246 §6.2.3, the ciphertext bound)."""

CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23
_CONTENT_TYPES = frozenset({20, 21, 22, 23, 24})
_CLIENT_HELLO = 1
_SERVER_HELLO = 2
_CERTIFICATE = 11
_TLS_1_3 = 0x0304


class TlsRecord(NamedTuple):
    """One complete TLS record as it crossed the wire."""

    content_type: int
    """20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data."""
    version: int
    """The record header's legacy version field (0x0303 for TLS 1.2 and 1.3)."""
    fragment: bytes
    """The record's body (ciphertext once encryption started), without header."""
    frames: tuple[int, ...]
    """Frame numbers of the packets that carried the record."""
    time: float | None = None
    """Capture time of the record's first frame, seconds since the epoch."""


class TlsRecordConsumer(Protocol):
    """Receives every TLS record of both directions of one connection.

    Decryption plugs in here: a TLS decryption engine implements this
    interface and is handed to the reassembler through a
    :data:`TlsConsumerFactory`. It sees the records in stream order per
    direction, the handshake records included (their ClientHello and
    ServerHello randoms select the key-log secrets), and can deliver the
    observations it decrypts through the ``emit`` callback the factory got.
    Records of the two directions interleave in capture order.
    """

    def record(self, from_client: bool, record: TlsRecord) -> None:
        """A complete record sent by the client (True) or the server (False)."""

    def gap(self, from_client: bool) -> None:
        """Bytes were lost in that direction: records after this do not
        follow the ones before, and record framing may not resume."""

    def close(self, from_client: bool) -> None:
        """That direction ended (FIN, reset, eviction or end of capture)."""


class TlsSink(Protocol):
    """Where a :class:`TlsReader` delivers what it reads."""

    def add_client_hello(self, hello: ClientHello, frames: list[int]) -> None:
        """A parsed ClientHello and the frames that carried it."""

    def add_server_hello(
        self, hello: ServerHello, certificates: tuple[bytes, ...], frames: list[int]
    ) -> None:
        """A parsed ServerHello, the certificates sent with it, and its frames."""

    def tls_consumer(self) -> TlsRecordConsumer | None:
        """The connection's record consumer, if one was attached."""


def record_header(stream_start: bytes | bytearray) -> tuple[int, int, int] | None:
    """(content type, version, body length) of the record at the stream start.

    None when the bytes cannot be a TLS record header (or are too few).
    """
    if len(stream_start) < 5:
        return None
    content_type, major = stream_start[0], stream_start[1]
    length = int.from_bytes(stream_start[3:5], "big")
    if content_type not in _CONTENT_TYPES or major != 3 or length > MAX_RECORD:
        return None
    return content_type, int.from_bytes(stream_start[1:3], "big"), length


class TlsReader:
    """Reads the records of one direction of a TLS connection."""

    def __init__(self, sink: TlsSink, from_client: bool) -> None:
        self.sink = sink
        self.from_client = from_client
        self.alive = True
        self.consumer = sink.tls_consumer()
        self.handshake = bytearray()
        self.handshake_frames: list[int] = []
        self.in_clear = True
        """True until the clear handshake messages the audit wants are read."""
        self.hello: ServerHello | None = None
        """A ServerHello held until its Certificate message arrives."""

    def feed(self, buffer: StreamBuffer) -> None:
        """Take every complete record the buffer holds."""
        while self.alive:
            header = record_header(buffer.data)
            if header is None:
                if len(buffer.data) >= 5:
                    logger.debug("TLS record framing lost; stream dropped")
                    self._stop()
                return
            content_type, version, length = header
            if len(buffer.data) < 5 + length:
                return
            frames: list[int] = []
            fragment = buffer.take(5 + length, frames)[5:]
            if self.in_clear:
                self._clear_record(content_type, fragment, frames)
            if self.consumer is not None:
                record = TlsRecord(
                    content_type,
                    version,
                    fragment,
                    tuple(frames),
                    buffer.sent_at(frames),
                )
                self.consumer.record(self.from_client, record)
            elif not self.in_clear:
                self._stop()

    def gap(self) -> None:
        """Lost bytes: deliver what was read, tell the consumer, stop."""
        self._finish_hello()
        if self.consumer is not None:
            self.consumer.gap(self.from_client)
        self._stop()

    def close(self) -> None:
        """The stream ended: deliver a ServerHello still waiting."""
        self._finish_hello()
        if self.consumer is not None:
            self.consumer.close(self.from_client)
            self.consumer = None
        self.alive = False

    def _stop(self) -> None:
        self.in_clear = False
        self.handshake = bytearray()
        self.alive = False

    def _clear_record(
        self, content_type: int, fragment: bytes, frames: list[int]
    ) -> None:
        """Gather handshake messages until encryption starts."""
        if content_type != HANDSHAKE:
            self._finish_hello()  # change_cipher_spec or data: the clear part ended
            self.in_clear = False
            return
        self.handshake += fragment
        self.handshake_frames.extend(frames)
        if len(self.handshake) > MAX_HANDSHAKE:
            logger.debug(
                "TLS handshake messages over %d bytes; not read", MAX_HANDSHAKE
            )
            self._finish_hello()
            self.in_clear = False
            return
        while self.in_clear and len(self.handshake) >= 4:
            needed = 4 + int.from_bytes(self.handshake[1:4], "big")
            if len(self.handshake) < needed:
                return
            kind = self.handshake[0]
            body = bytes(self.handshake[4:needed])
            del self.handshake[:needed]
            self._message(kind, body)

    def _message(self, kind: int, body: bytes) -> None:
        """Act on one complete handshake message."""
        if self.from_client:
            if kind == _CLIENT_HELLO:
                hello = parse_client_hello(body)
                if hello is not None:
                    self.sink.add_client_hello(hello, self.handshake_frames)
            self.in_clear = False
            return
        if self.hello is None:
            self._server_hello(kind, body)
            return
        certificates = parse_certificates(body) if kind == _CERTIFICATE else ()
        self._finish_hello(certificates)
        self.in_clear = False

    def _server_hello(self, kind: int, body: bytes) -> None:
        """Read the ServerHello; TLS 1.3 hides everything after it."""
        hello = parse_server_hello(body) if kind == _SERVER_HELLO else None
        if hello is None:
            self.in_clear = False
            return
        if hello.retry:
            self.handshake_frames = self.handshake_frames[-1:]
            return  # a second ClientHello and ServerHello follow
        self.hello = hello
        if hello.version >= _TLS_1_3:
            self._finish_hello()
            self.in_clear = False

    def _finish_hello(self, certificates: tuple[bytes, ...] = ()) -> None:
        """Deliver the ServerHello held, with the certificates if any."""
        if self.hello is not None:
            self.sink.add_server_hello(self.hello, certificates, self.handshake_frames)
            self.hello = None
