"""Just enough of MQTT 3.1.1 (OASIS standard, 2014) for the toy and the lab broker.

Control packets: CONNECT/CONNACK, PUBLISH at QoS 0 or 1 with PUBACK,
PINGREQ/PINGRESP and DISCONNECT. No subscriptions, no QoS 2, no retained
message store: the broker only acknowledges and logs.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

CONNECT = 1
CONNACK = 2
PUBLISH = 3
PUBACK = 4
PINGREQ = 12
PINGRESP = 13
DISCONNECT = 14
MAX_BODY = 1 << 20
"""Largest packet body either side accepts (the lab sends a few hundred bytes)."""
PROTOCOL_LEVEL = 4
"""§3.1.2.2: level 4 is MQTT 3.1.1."""
FLAG_USERNAME = 0x80
FLAG_PASSWORD = 0x40
FLAG_CLEAN_SESSION = 0x02


@dataclass(frozen=True, slots=True)
class MqttPacket:
    """One control packet: its type, the fixed header's flags and its body."""

    kind: int
    flags: int
    body: bytes


@dataclass(frozen=True, slots=True)
class MqttConnect:
    """The fields of a CONNECT packet the broker logs."""

    protocol: str
    level: int
    keepalive: int
    client_id: str
    username: str | None
    password: str | None


def _length(remaining: int) -> bytes:
    """§2.2.3: the remaining length, seven bits per byte, low bits first."""
    encoded = b""
    while True:
        remaining, digit = divmod(remaining, 128)
        encoded += bytes([digit | (0x80 if remaining else 0)])
        if not remaining:
            return encoded


def _string(text: str) -> bytes:
    """§1.5.3: a UTF-8 string with a two-byte length prefix."""
    raw = text.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


def encode(kind: int, flags: int, body: bytes = b"") -> bytes:
    """A control packet: fixed header (§2.2) and body."""
    return bytes([kind << 4 | flags]) + _length(len(body)) + body


def connect_packet(client_id: str, username: str, password: str) -> bytes:
    """§3.1: CONNECT with a clean session, a user name and a password."""
    flags = FLAG_USERNAME | FLAG_PASSWORD | FLAG_CLEAN_SESSION
    header = _string("MQTT") + bytes([PROTOCOL_LEVEL, flags]) + struct.pack("!H", 60)
    return encode(
        CONNECT, 0, header + _string(client_id) + _string(username) + _string(password)
    )


def publish_packet(topic: str, payload: bytes, packet_id: int | None) -> bytes:
    """§3.3: PUBLISH at QoS 1 when ``packet_id`` is given, else QoS 0."""
    if packet_id is None:
        return encode(PUBLISH, 0, _string(topic) + payload)
    return encode(
        PUBLISH, 0x02, _string(topic) + struct.pack("!H", packet_id) + payload
    )


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    chunks = b""
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("MQTT peer closed the connection mid-packet")
        chunks += chunk
    return chunks


def read_packet(connection: socket.socket) -> MqttPacket | None:
    """The next packet from ``connection``, or None when the peer closed cleanly."""
    first = connection.recv(1)
    if not first:
        return None
    remaining, shift = 0, 0
    for _ in range(4):
        digit = _receive_exactly(connection, 1)[0]
        remaining |= (digit & 0x7F) << shift
        shift += 7
        if not digit & 0x80:
            break
    else:
        raise ValueError("MQTT remaining length is longer than four bytes")
    if remaining > MAX_BODY:
        raise ValueError(f"MQTT packet of {remaining} bytes is over the lab's limit")
    body = _receive_exactly(connection, remaining)
    return MqttPacket(first[0] >> 4, first[0] & 0x0F, body)


def _read_string(body: bytes, offset: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("!H", body, offset)
    end = offset + 2 + length
    return body[offset + 2 : end].decode("utf-8"), end


def parse_connect(body: bytes) -> MqttConnect:
    """§3.1.2 and §3.1.3: the variable header and payload of CONNECT."""
    protocol, offset = _read_string(body, 0)
    level, flags = body[offset], body[offset + 1]
    (keepalive,) = struct.unpack_from("!H", body, offset + 2)
    client_id, offset = _read_string(body, offset + 4)
    if flags & 0x04:  # a will topic and message come first; skip them
        offset = _read_string(body, offset)[1]
        offset = _read_string(body, offset)[1]
    username = password = None
    if flags & FLAG_USERNAME:
        username, offset = _read_string(body, offset)
    if flags & FLAG_PASSWORD:
        password, offset = _read_string(body, offset)
    return MqttConnect(protocol, level, keepalive, client_id, username, password)


def parse_publish(flags: int, body: bytes) -> tuple[str, int | None, bytes]:
    """§3.3.2: the topic, packet id (QoS > 0 only) and payload of PUBLISH."""
    topic, offset = _read_string(body, 0)
    if not (flags >> 1) & 0x03:
        return topic, None, body[offset:]
    (packet_id,) = struct.unpack_from("!H", body, offset)
    return topic, packet_id, body[offset + 2 :]
