"""Read the questions of DNS and mDNS queries, over UDP and over TCP.

Only queries are read (header bit QR = 0, RFC 1035 §4.1.1): they show which
names the toy looked up. Names are lower-cased and lose their trailing dot.
Compression pointers (RFC 1035 §4.1.4) are followed with a bound on jumps and
on name length, so a hostile pointer loop ends the parse instead of hanging.
The top bit of an mDNS question's class asks for a unicast response
(RFC 6762 §5.4); it does not change the question, and the query type is read
the same way.

Over TCP (port 53, no magic to recognise it by), each message carries a
2-byte length prefix and a connection may carry several queries
(RFC 1035 §4.2.2, RFC 7766 §6.2.1); :class:`DnsStreamReader` reads them.

User-visible limits: DNS over TLS/HTTPS and the answers of responses are not
read. ICMP error messages quoting a DNS packet are not read as queries, since
only UDP payloads reach this module.
"""

from __future__ import annotations

import logging
from typing import Protocol

from toyaudit.ingest.streambuf import StreamBuffer
from toyaudit.ingest.wire import Cursor, MalformedPayloadError

logger = logging.getLogger(__name__)

DNS_PORTS = frozenset({53, 5353})
"""UDP destination ports whose payloads are read as DNS (53) and mDNS (5353)."""

DNS_HEADER = 12
"""Bytes of the fixed DNS header (RFC 1035 §4.1.1)."""
MAX_QUESTIONS = 64
"""Questions read per message; real queries carry one (mDNS a handful)."""

_MAX_NAME_LENGTH = 255  # RFC 1035 §3.1
_MAX_POINTER_JUMPS = 32
_POINTER = 0xC0


def parse_dns_queries(payload: bytes) -> list[tuple[str, int]]:
    """Return ``(name, qtype)`` for each question of a DNS query.

    Returns an empty list for responses, for payloads shorter than a DNS
    header and, after the questions read so far, for malformed ones.
    """
    questions: list[tuple[str, int]] = []
    if len(payload) < 12 or payload[2] & 0x80:
        return questions
    count = min(int.from_bytes(payload[4:6], "big"), MAX_QUESTIONS)
    cursor = Cursor(payload, 12)
    try:
        for _ in range(count):
            name = _read_name(cursor)
            qtype = cursor.integer(2)
            cursor.integer(2)  # qclass; its top bit is mDNS's unicast-response bit
            questions.append((name, qtype))
    except MalformedPayloadError as error:
        logger.debug("malformed DNS question: %s", error)
    return questions


def _read_name(cursor: Cursor) -> str:
    """Read a possibly compressed domain name and leave the cursor after it."""
    labels: list[str] = []
    length_total = 0
    jumps = 0
    reader = cursor
    while True:
        length = reader.integer(1)
        if length == 0:
            break
        if length & _POINTER == _POINTER:
            target = ((length & 0x3F) << 8) | reader.integer(1)
            jumps += 1
            if jumps > _MAX_POINTER_JUMPS:
                raise MalformedPayloadError("DNS name compression loops")
            reader = Cursor(cursor.payload, target)
            continue
        if length & _POINTER:
            raise MalformedPayloadError(f"reserved DNS label type {length:#x}")
        length_total += length + 1
        if length_total > _MAX_NAME_LENGTH:
            raise MalformedPayloadError("DNS name longer than 255 bytes")
        labels.append(reader.raw(length).decode("ascii", "backslashreplace"))
    return ".".join(labels).lower()


class DnsSink(Protocol):
    """Where a :class:`DnsStreamReader` delivers the questions it reads."""

    def add_dns_queries(
        self, questions: list[tuple[str, int]], frames: list[int]
    ) -> None:
        """The questions of one query message and the frames that carried it."""


class DnsStreamReader:
    """Reads the length-prefixed DNS queries a client sends over TCP."""

    def __init__(self, sink: DnsSink) -> None:
        self.sink = sink
        self.alive = True

    def feed(self, buffer: StreamBuffer) -> None:
        """Read every complete message the buffer holds."""
        data = buffer.data
        while self.alive and len(data) >= 2:
            length = int.from_bytes(data[:2], "big")
            if len(data) < 2 + length:
                return  # a message is at most 64 KiB, so the wait is bounded
            frames: list[int] = []
            message = buffer.take(2 + length, frames)[2:]
            questions = parse_dns_queries(message)
            if questions:
                self.sink.add_dns_queries(questions, frames)

    def gap(self) -> None:
        """Lost bytes break the length framing: stop reading this stream."""
        self.alive = False

    def close(self) -> None:
        """Nothing is held between messages."""
