"""Read the MQTT packets a toy sends: CONNECT and PUBLISH (MQTT 3.1, 3.1.1, 5).

Many toys report to their cloud over MQTT. The client's CONNECT names the
device (client id, often a serial or MAC) and may carry a user name and
password in clear; each PUBLISH carries a topic and a payload. A stream is
recognised as MQTT by its first packet, a CONNECT (fixed header byte 0x10,
a remaining length, then the protocol name ``MQTT`` or ``MQIsdp``), not by
its port.

Packets follow the OASIS MQTT 3.1.1 (§2, §3.1, §3.3) and MQTT 5.0 (§2.2.2
properties, §3.1.2.11, §3.3.2.3) specifications: every other packet type is
skipped by its length; MQTT 5 properties are skipped, except the topic alias
of a PUBLISH, which is followed so that a PUBLISH that names its topic only by
alias still gets the topic.

User-visible limits: a packet is kept up to :data:`MAX_PACKET` bytes, and a
longer PUBLISH keeps only the start of its payload; a stream whose CONNECT
was not captured is not read as MQTT.
"""

from __future__ import annotations

import logging
from typing import NamedTuple, Protocol

from toyaudit.ingest.streambuf import StreamBuffer
from toyaudit.ingest.wire import Cursor, MalformedPayloadError

logger = logging.getLogger(__name__)

MAX_PACKET = 1 << 20
"""Bytes of one packet kept; the rest of a longer packet is skipped."""
MAX_ALIASES = 1024
"""Topic aliases remembered per connection."""

_CONNECT = 1
_PUBLISH = 3
_PROTOCOL_NAMES = (b"\x00\x04MQTT", b"\x00\x06MQIsdp")
_TOPIC_ALIAS = 0x23
_WILL_FLAG = 0x04
_PASSWORD_FLAG = 0x40
_USERNAME_FLAG = 0x80

# MQTT 5.0 §2.2.2.2: the value type of each property identifier.
_BYTE, _TWO, _FOUR, _VARINT, _STRING, _BINARY, _PAIR = range(7)
_PROPERTY_TYPES = {
    **dict.fromkeys((0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A), _BYTE),
    **dict.fromkeys((0x13, 0x21, 0x22, 0x23), _TWO),
    **dict.fromkeys((0x02, 0x11, 0x18, 0x27), _FOUR),
    0x0B: _VARINT,
    **dict.fromkeys((0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F), _STRING),
    **dict.fromkeys((0x09, 0x16), _BINARY),
    0x26: _PAIR,
}


class MqttPacket(NamedTuple):
    """The fields of a CONNECT or PUBLISH that the audit looks at."""

    packet_type: str
    """``connect`` or ``publish``."""
    protocol_level: int
    client_id: str | None = None
    username: str | None = None
    password: bytes | None = None
    topic: str | None = None
    payload: bytes = b""


class MqttSink(Protocol):
    """Where an :class:`MqttReader` delivers the packets it reads."""

    def add_mqtt(self, packet: MqttPacket, frames: list[int]) -> None:
        """One CONNECT or PUBLISH and the frames that carried it."""


def fixed_header(stream_start: bytes | bytearray) -> tuple[int, int] | None:
    """(remaining length, header size) of the packet at the stream start.

    None while the remaining-length field is incomplete. Raises
    :class:`MalformedPayloadError` when it runs over its four bytes.
    """
    length = 0
    for index in range(1, 5):
        if index >= len(stream_start):
            return None
        byte = stream_start[index]
        length |= (byte & 0x7F) << (7 * (index - 1))
        if not byte & 0x80:
            return length, index + 1
    raise MalformedPayloadError("MQTT remaining length longer than 4 bytes")


def looks_like_connect(stream_start: bytes | bytearray) -> bool | None:
    """Whether a stream starts with an MQTT CONNECT; None if too short to tell."""
    if not stream_start or stream_start[0] != _CONNECT << 4:
        return False
    try:
        header = fixed_header(stream_start)
    except MalformedPayloadError:
        return False
    if header is None or len(stream_start) < header[1] + 8:
        return None
    name = bytes(stream_start[header[1] : header[1] + 8])
    return name.startswith(_PROTOCOL_NAMES[0]) or name == _PROTOCOL_NAMES[1]


class MqttReader:
    """Reads the packets a client sends on one MQTT connection."""

    def __init__(self, sink: MqttSink) -> None:
        self.sink = sink
        self.alive = True
        self.level = 4
        self.skip = 0
        """Bytes of an oversized packet still to skip."""
        self.aliases: dict[int, str] = {}

    def feed(self, buffer: StreamBuffer) -> None:
        """Read every complete packet the buffer holds."""
        while self.alive and buffer.data:
            if self.skip:
                self.skip -= len(buffer.take(self.skip))
                continue
            try:
                header = fixed_header(buffer.data)
            except MalformedPayloadError as error:
                logger.debug("MQTT framing lost: %s", error)
                self.alive = False
                return
            if header is None:
                return
            remaining, header_size = header
            kept = min(remaining, MAX_PACKET)
            if len(buffer.data) < header_size + kept:
                return
            frames: list[int] = []
            packet = buffer.take(header_size + kept, frames)
            self.skip = remaining - kept
            self._packet(packet[0], packet[header_size:], frames)

    def gap(self) -> None:
        """Lost bytes break the packet framing: stop reading this stream."""
        self.alive = False

    def close(self) -> None:
        """Nothing is held between packets."""

    def _packet(self, first: int, body: bytes, frames: list[int]) -> None:
        """Read a CONNECT or PUBLISH; skip the other packet types."""
        kind = first >> 4
        try:
            if kind == _CONNECT:
                packet = self._connect(Cursor(body))
            elif kind == _PUBLISH:
                packet = self._publish(Cursor(body), (first >> 1) & 0x03)
            else:
                return
        except (MalformedPayloadError, UnicodeDecodeError) as error:
            logger.debug("malformed MQTT packet of type %d: %s", kind, error)
            return
        self.sink.add_mqtt(packet, frames)

    def _connect(self, cursor: Cursor) -> MqttPacket:
        """CONNECT variable header and payload (MQTT 3.1.1 §3.1, 5.0 §3.1)."""
        cursor.vector(2)  # protocol name
        self.level = cursor.integer(1)
        flags = cursor.integer(1)
        cursor.integer(2)  # keep alive
        if self.level >= 5:
            _properties(cursor)
        client_id = _text(cursor)
        if flags & _WILL_FLAG:
            if self.level >= 5:
                _properties(cursor)
            cursor.vector(2)  # will topic
            cursor.vector(2)  # will payload
        username = _text(cursor) if flags & _USERNAME_FLAG else None
        password = None
        if flags & _PASSWORD_FLAG:
            field = cursor.vector(2)
            password = field.raw(field.remaining())
        return MqttPacket("connect", self.level, client_id, username, password)

    def _publish(self, cursor: Cursor, qos: int) -> MqttPacket:
        """PUBLISH variable header and payload (MQTT 3.1.1 §3.3, 5.0 §3.3)."""
        topic = _text(cursor)
        if qos:
            cursor.integer(2)  # packet identifier
        if self.level >= 5:
            alias = _properties(cursor).get(_TOPIC_ALIAS)
            if alias is not None:
                if topic:
                    if len(self.aliases) < MAX_ALIASES or alias in self.aliases:
                        self.aliases[alias] = topic
                else:
                    topic = self.aliases.get(alias, "")
        payload = cursor.raw(cursor.remaining())
        return MqttPacket("publish", self.level, topic=topic or None, payload=payload)


def _text(cursor: Cursor) -> str:
    """A UTF-8 string field with its 2-byte length (MQTT §1.5.4)."""
    field = cursor.vector(2)
    return field.raw(field.remaining()).decode("utf-8", "backslashreplace")


def _varint(cursor: Cursor) -> int:
    """A variable byte integer (MQTT 5.0 §1.5.5)."""
    value = 0
    for shift in range(0, 28, 7):
        byte = cursor.integer(1)
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
    raise MalformedPayloadError("MQTT variable byte integer longer than 4 bytes")


def _properties(cursor: Cursor) -> dict[int, int]:
    """Skip an MQTT 5 property block; return its two-byte integer properties.

    An unknown property identifier ends the walk (its size is unknown), but
    the block's length still lets the cursor skip past the whole block.
    """
    length = _varint(cursor)
    block = Cursor(cursor.raw(length))
    found: dict[int, int] = {}
    while block.remaining():
        identifier = _varint(block)
        kind = _PROPERTY_TYPES.get(identifier)
        if kind is None:
            break
        if kind == _TWO:
            found[identifier] = block.integer(2)
        elif kind == _VARINT:
            _varint(block)
        elif kind == _PAIR:
            block.vector(2)
            block.vector(2)
        elif kind in (_STRING, _BINARY):
            block.vector(2)
        else:
            block.raw(1 if kind == _BYTE else 4)
    return found
