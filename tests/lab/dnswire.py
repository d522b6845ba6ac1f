"""Just enough of the DNS wire format (RFC 1035) for the lab's resolver and server.

The simulated toy resolves names itself, like the small network stacks in toys
do, by sending one A query over UDP to the server it was given. The cloud's
server answers with one A record per known name, NXDOMAIN for the rest.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

TYPE_A = 1
CLASS_IN = 1
FLAG_RESPONSE = 0x8000
FLAG_AUTHORITATIVE = 0x0400
FLAG_RECURSION_DESIRED = 0x0100
RCODE_NXDOMAIN = 3
HEADER = struct.Struct("!HHHHHH")
"""RFC 1035 §4.1.1: id, flags, then the four section counts."""
MAX_POINTERS = 16
"""Compression pointers followed in one name before it counts as a loop."""
TTL = 60


@dataclass(frozen=True, slots=True)
class DnsQuestion:
    """The one question of a query, and where it ends in the packet."""

    ident: int
    flags: int
    name: str
    record_type: int
    end: int
    """Offset of the first byte after the question section."""


def read_name(packet: bytes, offset: int) -> tuple[str, int]:
    """The name at ``offset`` (following pointers, §4.1.4) and the offset after it."""
    labels: list[str] = []
    end: int | None = None
    for _ in range(MAX_POINTERS):
        while True:
            length = packet[offset]
            if length & 0xC0 == 0xC0:
                break
            if length == 0:
                return ".".join(labels), end if end is not None else offset + 1
            labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii"))
            offset += 1 + length
        if end is None:
            end = offset + 2
        offset = ((length & 0x3F) << 8) | packet[offset + 1]
    raise ValueError("DNS name has a compression pointer loop")


def decode_question(packet: bytes) -> DnsQuestion:
    """The first question of a query; raises ValueError or IndexError if malformed."""
    ident, flags, questions, _, _, _ = HEADER.unpack_from(packet)
    if questions < 1 or flags & FLAG_RESPONSE:
        raise ValueError("not a DNS query with a question")
    name, offset = read_name(packet, HEADER.size)
    record_type, _ = struct.unpack_from("!HH", packet, offset)
    return DnsQuestion(ident, flags, name.lower(), record_type, offset + 4)


def encode_answer(query: bytes, question: DnsQuestion, address: str | None) -> bytes:
    """Answer ``question``: with ``address``, NODATA for other types, or NXDOMAIN."""
    flags = FLAG_RESPONSE | FLAG_AUTHORITATIVE
    flags |= question.flags & FLAG_RECURSION_DESIRED
    records = b""
    if address is None:
        flags |= RCODE_NXDOMAIN
    elif question.record_type == TYPE_A:
        # The answer's name is a pointer to the question's (offset 12).
        records = b"\xc0\x0c" + struct.pack("!HHIH", TYPE_A, CLASS_IN, TTL, 4)
        records += socket.inet_aton(address)
    header = HEADER.pack(question.ident, flags, 1, 1 if records else 0, 0, 0)
    return header + query[HEADER.size : question.end] + records


def decode_answer(packet: bytes, ident: int) -> tuple[int, list[str]]:
    """The response code and A addresses of a response to query ``ident``."""
    got, flags, questions, answers, _, _ = HEADER.unpack_from(packet)
    if got != ident or not flags & FLAG_RESPONSE:
        raise ValueError(f"DNS response id {got} does not answer query {ident}")
    offset = HEADER.size
    for _ in range(questions):
        offset = read_name(packet, offset)[1] + 4
    addresses = []
    for _ in range(answers):
        offset = read_name(packet, offset)[1]
        record_type, _, _, length = struct.unpack_from("!HHIH", packet, offset)
        offset += 10
        if record_type == TYPE_A and length == 4:
            addresses.append(socket.inet_ntoa(packet[offset : offset + 4]))
        offset += length
    return flags & 0x000F, addresses
