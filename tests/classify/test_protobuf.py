"""Schemaless protobuf: what is kept, by which path, and what is refused."""

from __future__ import annotations

import struct

import pytest

from toyaudit.classify.protobuf import ProtoValue, read_message

Wire = list[tuple[int, "str | bytes | int | float | Wire"]]


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        number, low = divmod(number, 128)
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _message(fields: Wire) -> bytes:
    """Encode fields in wire format: text and bytes and messages as type 2,
    ints as varints, floats as doubles (protobuf.dev encoding guide)."""
    out = bytearray()
    for number, value in fields:
        if isinstance(value, int):
            out += _varint(number << 3) + _varint(value)
        elif isinstance(value, float):
            out += _varint(number << 3 | 1) + struct.pack("<d", value)
        else:
            raw = value.encode() if isinstance(value, str) else value
            if isinstance(raw, list):
                raw = _message(raw)
            out += _varint(number << 3 | 2) + _varint(len(raw)) + raw
    return bytes(out)


def test_protobuf_read_message_keeps_text_nested_and_paths() -> None:
    raw = _message([(1, "TB22910047"), (2, [(1, "Mia"), (7, 3)]), (6, 71)])

    message = read_message(raw, 8)

    assert message is not None
    assert message.values == [
        ProtoValue("1", "TB22910047", ()),
        ProtoValue("2.1", "Mia", ()),
    ]
    assert message.limit is None


def test_protobuf_two_doubles_read_as_a_coordinate_pair() -> None:
    raw = _message([(3, [(1, 51.50134), (2, -0.14189)]), (4, "home")])

    message = read_message(raw, 8)

    assert message is not None
    assert ProtoValue("3.1", "51.50134", ("double",)) in message.values
    assert ProtoValue("3", "51.50134,-0.14189", ("double",)) in message.values


def test_protobuf_whole_numbers_are_not_coordinates() -> None:
    raw = _message([(1, 4.0), (2, 12.0), (3, "volume")])

    message = read_message(raw, 8)

    assert message is not None
    assert [value.path for value in message.values] == ["1", "2", "3"]


def test_protobuf_six_bytes_read_as_a_mac_address() -> None:
    raw = _message([(5, bytes.fromhex("a4cf123b9e01"))])

    message = read_message(raw, 8)

    assert message is not None
    assert message.values == [ProtoValue("5", "a4:cf:12:3b:9e:01", ("raw-bytes",))]


@pytest.mark.parametrize(
    "raw",
    [
        _message([(1, "Mia Lopez")]) + b"\x00",  # field number 0
        _message([(1, "Mia Lopez")])[:-2],  # length runs past the end
        b"\x0b\x02hi",  # wire type 3, a group
        b"\x0e\x02hi",  # wire type 6 does not exist
        _message([(1 << 20, "Mia Lopez")]),  # field number past the limit
        _message([(1, 5), (2, 9)]),  # varints alone: nothing to keep
        b"\x0a",
        bytes(range(200, 240)),
    ],
)
def test_protobuf_refuses_what_does_not_parse_whole(raw: bytes) -> None:
    assert read_message(raw, 8) is None


def test_protobuf_nesting_limit_is_reported() -> None:
    deep: Wire = [(1, "Mia")]
    for _ in range(5):
        deep = [(2, deep)]
    shallow = _message([(1, "Lopez-Home-5G"), (3, deep)])

    message = read_message(shallow, 3)

    assert message is not None
    assert message.values == [ProtoValue("1", "Lopez-Home-5G", ())]
    assert message.limit == "max_nesting"


def test_protobuf_field_limit_is_reported() -> None:
    raw = _message([(number, f"value {number}") for number in range(1, 11)])

    message = read_message(raw, 8, max_fields=3)

    assert message is not None
    assert [value.path for value in message.values] == ["1", "2", "3"]
    assert message.limit == "max_fields"
