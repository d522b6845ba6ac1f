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

Of responses, :func:`parse_dns_answers` reads what names servers: the
addresses (A and AAAA records, RFC 1035 §3.4.1, RFC 3596 §2.2) the answer
section gives the name asked for, directly or at the end of a chain of CNAME
records (RFC 1035 §3.3.1), so that traffic sent to those addresses can be
named (:mod:`~toyaudit.ingest.names`). Records of the authority and
additional sections are not believed: a server may put anything there.

User-visible limits: DNS over TLS/HTTPS is not read, nor are the answers of
DNS over TCP and of mDNS (multicast announcements name devices, not the
servers a client chose). ICMP error messages quoting a DNS packet are not
read as queries, since only UDP payloads reach this module.
"""

from __future__ import annotations

import logging
import socket
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

DNS_SERVER_PORT = 53
"""Source port of the DNS responses whose answers name servers."""
MAX_ANSWERS = 64
"""Answer records read per response."""

_MAX_NAME_LENGTH = 255  # RFC 1035 §3.1
_MAX_POINTER_JUMPS = 32
_MAX_ALIASES = 16
_POINTER = 0xC0
_TYPE_A = 1
_TYPE_CNAME = 5
_TYPE_AAAA = 28
_CLASS_IN = 1
_ADDRESS_FAMILIES = {4: socket.AF_INET, 16: socket.AF_INET6}


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


def parse_dns_answers(payload: bytes) -> tuple[str, list[str]] | None:
    """The name a DNS response answers, and the addresses it gives that name.

    Reads the first question's name, then the answer section: A and AAAA
    records of that name, or of a name it is an alias of through CNAME
    records, in any order (RFC 1034 §3.6.2). Returns None for queries,
    error responses (RCODE not 0) and responses with no address for the
    name; a response cut short keeps the records read before the cut.
    """
    # RFC 1035 §4.1.1: QR set, OPCODE 0 (a standard query), RCODE 0
    if len(payload) < DNS_HEADER or payload[2] & 0xF8 != 0x80 or payload[3] & 0x0F:
        return None
    questions = int.from_bytes(payload[4:6], "big")
    answers = min(int.from_bytes(payload[6:8], "big"), MAX_ANSWERS)
    if not questions or not answers:
        return None
    cursor = Cursor(payload, DNS_HEADER)
    aliases: dict[str, str] = {}
    records: list[tuple[str, str]] = []
    try:
        asked = _read_name(cursor)
        cursor.raw(4)  # qtype and qclass
        for _ in range(min(questions, MAX_QUESTIONS) - 1):
            _read_name(cursor)
            cursor.raw(4)
        for _ in range(answers):
            _read_answer(cursor, aliases, records)
    except MalformedPayloadError as error:
        if not records:
            logger.debug("malformed DNS response: %s", error)
            return None
    names = _alias_chain(asked, aliases)
    addresses = [address for owner, address in records if owner in names]
    return (asked, addresses) if addresses else None


def _read_answer(
    cursor: Cursor, aliases: dict[str, str], records: list[tuple[str, str]]
) -> None:
    """Read one resource record (RFC 1035 §4.1.3); keep CNAMEs and addresses."""
    owner = _read_name(cursor)
    kind = cursor.integer(2)
    klass = cursor.integer(2)
    cursor.raw(4)  # TTL
    rdata = cursor.vector(2)
    if klass & 0x7FFF != _CLASS_IN:
        return
    if kind == _TYPE_CNAME:
        aliases.setdefault(owner, _read_name(rdata))
    elif (kind == _TYPE_A and rdata.remaining() == 4) or (
        kind == _TYPE_AAAA and rdata.remaining() == 16
    ):
        raw = rdata.raw(rdata.remaining())
        records.append((owner, socket.inet_ntop(_ADDRESS_FAMILIES[len(raw)], raw)))


def _alias_chain(asked: str, aliases: dict[str, str]) -> set[str]:
    """The name asked for and every name its CNAME chain leads to (bounded)."""
    names = {asked}
    current = asked
    for _ in range(_MAX_ALIASES):
        target = aliases.get(current)
        if target is None or target in names:
            break
        names.add(target)
        current = target
    return names


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
