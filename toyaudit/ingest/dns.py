"""Read the questions of DNS and mDNS queries carried over UDP.

Only queries are read (header bit QR = 0, RFC 1035 §4.1.1): they show which
names the toy looked up. Names are lower-cased and lose their trailing dot.
Compression pointers (RFC 1035 §4.1.4) are followed with a bound on jumps and
on name length, so a hostile pointer loop ends the parse instead of hanging.

User-visible limits: DNS over TCP, DNS over TLS/HTTPS and the answers of
responses are not read. ICMP error messages quoting a DNS packet are not read
as queries, since only UDP payloads reach this module.
"""

from __future__ import annotations

import logging

from toyaudit.ingest.wire import Cursor, MalformedPayloadError

logger = logging.getLogger(__name__)

DNS_PORTS = frozenset({53, 5353})
"""UDP destination ports whose payloads are read as DNS (53) and mDNS (5353)."""

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
    # TODO: read DNS over TCP (port 53, 2-byte length prefix, RFC 1035 §4.2.2);
    # large or truncated-and-retried lookups are missed until the TCP
    # reassembler hands port-53 streams to this parser.
    if len(payload) < 12 or payload[2] & 0x80:
        return questions
    count = min(int.from_bytes(payload[4:6], "big"), MAX_QUESTIONS)
    cursor = Cursor(payload, 12)
    try:
        for _ in range(count):
            name = _read_name(cursor)
            qtype = cursor.integer(2)
            cursor.integer(2)  # qclass (with the mDNS unicast-response bit)
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
