"""Read Protocol Buffers wire format without a schema, refusing anything unclear.

A toy that speaks protobuf sends numbered fields, not names: without the
vendor's ``.proto`` file, field 2 may be the child's name or a volume level.
What the wire format itself says is enough to search it, though
(protobuf.dev/programming-guides/encoding): each field starts with a varint
tag holding its number and wire type; type 0 is a varint, 1 eight bytes, 2 a
length and that many bytes, 5 four bytes (types 3 and 4, the deprecated
groups, and 6 and 7 do not exist).

:func:`read_message` keeps what can hold personal data, keyed by the path of
field numbers (``3.1`` is field 1 of the message in field 3):

* length-delimited bytes that are printable UTF-8 text, as that text;
* length-delimited bytes that are themselves a whole message, read in turn
  (nesting bounded by ``max_nesting``);
* six length-delimited bytes that are neither, as a MAC address in colon
  notation (step ``raw-bytes``): the one binary value toys commonly send;
* eight- and four-byte values that read as ordinary decimal numbers, as
  doubles and floats (step ``double`` or ``float``), and when a message holds
  exactly two that fit latitude and longitude, the pair as ``lat,lon`` too.

Varints (counters, enums, timestamps) are skipped. Bytes that do not parse as
wire format to their last byte are refused: random or encrypted bytes often
parse for a few fields, never for all of them, and a false reading would put
made-up text in front of the detectors.
"""

from __future__ import annotations

import logging
import math
import struct
from typing import NamedTuple

from toyaudit.classify.fields import printable_text

logger = logging.getLogger(__name__)

MAX_FIELD_NUMBER = 1 << 16
"""Largest field number accepted. The format allows 2**29 - 1, but schemas
number their fields from 1 and rarely past a few thousand, while random bytes
read as tags give huge numbers: refusing them refuses most non-protobuf."""

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_MAC_BYTES = 6
_SMALLEST, _LARGEST = 1e-4, 1e9
"""Magnitudes between which a float reads as an ordinary decimal number."""


class ProtoValue(NamedTuple):
    """One kept value of a message, as text."""

    path: str
    """Field numbers from the outer message in, dotted: ``3.1``."""
    text: str
    steps: tuple[str, ...]
    """How the bytes became text: () for text, ``raw-bytes``, ``double``..."""


class ProtoMessage(NamedTuple):
    """What :func:`read_message` kept of a message."""

    values: list[ProtoValue]
    limit: str | None
    """The limit reading stopped at (``max_nesting`` or ``max_fields``), if any."""


class _Reader:
    """Reads nested messages, sharing the value budget and the limit reached."""

    def __init__(self, max_nesting: int, max_fields: int) -> None:
        self.max_nesting = max_nesting
        self.budget = max_fields
        self.limit: str | None = None

    def message(self, raw: bytes, prefix: str, depth: int) -> list[ProtoValue] | None:
        """The kept values of one whole message, or None if ``raw`` is not one."""
        fields = _fields(raw)
        if fields is None:
            return None
        kept: list[ProtoValue] = []
        floats: list[ProtoValue] = []
        for number, wire_type, payload in fields:
            if self.budget <= 0:
                self.limit = "max_fields"
                break
            self.budget -= 1
            path = f"{prefix}{number}"
            if wire_type == _LEN:
                kept += self._length_delimited(payload, path, depth)
            elif wire_type in (_I64, _I32) and isinstance(payload, bytes):
                number_read = _decimal(payload)
                if number_read is not None:
                    step = "double" if wire_type == _I64 else "float"
                    text = _text_of(number_read, wire_type == _I64)
                    kept.append(ProtoValue(path, text, (step,)))
                    floats.append(kept[-1])
        pair = _coordinates(floats)
        if pair is not None:
            kept.append(pair)
        return kept

    def _length_delimited(
        self, payload: int | bytes, path: str, depth: int
    ) -> list[ProtoValue]:
        if not isinstance(payload, bytes) or not payload:
            return []
        text = printable_text(payload)
        if text is not None:
            return [ProtoValue(path, text, ())]
        if depth + 1 < self.max_nesting:
            nested = self.message(payload, f"{path}.", depth + 1)
            if nested:
                return nested
        elif _fields(payload) is not None:
            self.limit = "max_nesting"
            return []
        if len(payload) == _MAC_BYTES:
            return [ProtoValue(path, payload.hex(":"), ("raw-bytes",))]
        return []


def read_message(
    raw: bytes, max_nesting: int, max_fields: int = 5000
) -> ProtoMessage | None:
    """The values of ``raw`` read as one protobuf message, or None.

    None when ``raw`` does not parse as wire format to its last byte, or when
    nothing in it is kept (a message of varints alone says nothing). Reading
    stops after ``max_fields`` fields, nested ones included.
    """
    if len(raw) < 2:
        return None
    reader = _Reader(max_nesting, max_fields)
    values = reader.message(raw, "", 0)
    if not values:
        return None
    return ProtoMessage(values, reader.limit)


def _fields(raw: bytes) -> list[tuple[int, int, int | bytes]] | None:
    """(number, wire type, value) of every field, or None unless all parse."""
    fields: list[tuple[int, int, int | bytes]] = []
    position, end = 0, len(raw)
    while position < end:
        tag, position = _varint(raw, position)
        if tag < 0:
            return None
        number, wire_type = tag >> 3, tag & 7
        if not 0 < number <= MAX_FIELD_NUMBER:
            return None
        if wire_type == _VARINT:
            value, position = _varint(raw, position)
            if value < 0:
                return None
            fields.append((number, wire_type, value))
            continue
        if wire_type == _LEN:
            size, position = _varint(raw, position)
            if size < 0:
                return None
        elif wire_type == _I64:
            size = 8
        elif wire_type == _I32:
            size = 4
        else:
            return None
        if position + size > end:
            return None
        fields.append((number, wire_type, raw[position : position + size]))
        position += size
    return fields


def _varint(raw: bytes, position: int) -> tuple[int, int]:
    """(value, next position) of the varint at ``position``; value -1 if broken."""
    value = shift = 0
    for offset in range(10):
        if position + offset >= len(raw):
            return -1, position
        byte = raw[position + offset]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position + offset + 1
        shift += 7
    return -1, position


def _decimal(payload: bytes) -> float | None:
    """A little-endian double or float that reads as an ordinary number."""
    layout = "<d" if len(payload) == 8 else "<f"
    (number,) = struct.unpack(layout, payload)
    if not math.isfinite(number) or not _SMALLEST <= abs(number) <= _LARGEST:
        return None
    return float(number)


def _text_of(number: float, double: bool) -> str:
    """A number as text: a double as it round-trips, a float to 7 digits."""
    return repr(number) if double else f"{number:.7g}"


def _coordinates(floats: list[ProtoValue]) -> ProtoValue | None:
    """Two numbers of one message that fit latitude and longitude, as one pair.

    A position is the usual reason for a message of two floating numbers; read
    together they are a ``lat,lon`` text the location detectors recognise.
    Numbers with no fraction (a volume, a count) are not coordinates.
    """
    if len(floats) != 2:
        return None
    first, second = floats
    latitude, longitude = float(first.text), float(second.text)
    if abs(latitude) > 90 or abs(longitude) > 180:
        return None
    if latitude.is_integer() or longitude.is_integer():
        return None
    parent = first.path.rpartition(".")[0] or first.path
    return ProtoValue(parent, f"{first.text},{second.text}", first.steps)
