"""Tests of ATT interpretation: reads paired, handles named, errors kept."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.bluetooth import (
    ATT_Error_Response,
    ATT_Find_Information_Response,
    ATT_Handle,
    ATT_Handle_Value_Indication,
    ATT_Handle_Value_Notification,
    ATT_Hdr,
    ATT_Read_Blob_Request,
    ATT_Read_Blob_Response,
    ATT_Read_By_Type_Request,
    ATT_Read_Request,
    ATT_Read_Response,
    ATT_Write_Command,
    ATT_Write_Request,
)
from scapy.packet import Packet

from toyaudit.ingest.bluetooth.att import AttInterpreter
from toyaudit.ingest.records import Evidence, GattOperation

BASE = "-0000-1000-8000-00805f9b34fb"
CUSTOM = "0000ffe1" + BASE


def _run(
    pdus: list[Packet | bytes], interpreter: AttInterpreter | None = None
) -> list[GattOperation]:
    """Feed PDUs in order, direction left to the opcode."""
    interpreter = interpreter or AttInterpreter("TOY", {})
    operations: list[GattOperation] = []
    for number, pdu in enumerate(pdus, start=1):
        raw = pdu if isinstance(pdu, bytes) else bytes(ATT_Hdr() / pdu)
        operations.extend(interpreter.pdu(raw, None, Evidence("f", (number,)), False))
    return operations


def _declarations() -> list[Packet | bytes]:
    """Read By Type for 0x2803 and its response declaring handle 11 as 0xFFE1."""
    entry = struct.pack("<HBH", 10, 0x1A, 11) + b"\xe1\xff"
    return [
        ATT_Read_By_Type_Request(start=1, end=0xFFFF, uuid=0x2803),
        b"\x09\x07" + entry,
    ]


def test_att_read_takes_handle_and_uuid_from_discovery() -> None:
    operations = _run(
        [
            *_declarations(),
            ATT_Read_Request(gatt_handle=11),
            ATT_Read_Response(value=b"child=Emma"),
        ]
    )

    assert len(operations) == 1
    read = operations[0]
    assert (read.operation, read.handle, read.uuid, read.value) == (
        "read",
        11,
        CUSTOM,
        b"child=Emma",
    )
    assert read.from_central is False
    assert read.evidence.packets == (3, 4)


def test_att_find_information_maps_handles() -> None:
    response = ATT_Find_Information_Response(
        format=1, handles=[ATT_Handle(handle=13, value=0xFFE2)]
    )

    operations = _run([response, ATT_Write_Request(gatt_handle=13, data=b"\x01unlock")])

    assert operations[0].uuid == "0000ffe2" + BASE
    assert operations[0].operation == "write"
    assert operations[0].from_central is True
    assert operations[0].value == b"\x01unlock"


def test_att_writes_notifications_and_indications() -> None:
    operations = _run(
        [
            ATT_Write_Command(gatt_handle=14, data=b"go"),
            ATT_Handle_Value_Notification(gatt_handle=15, value=b"audio"),
            ATT_Handle_Value_Indication(gatt_handle=16, value=b"state"),
        ]
    )

    assert [(op.operation, op.handle, op.from_central) for op in operations] == [
        ("write-command", 14, True),
        ("notify", 15, False),
        ("indicate", 16, False),
    ]


def test_att_error_responses_keep_code_and_drop_discovery_end() -> None:
    operations = _run(
        [
            ATT_Read_Request(gatt_handle=11),
            ATT_Error_Response(request=0x0A, handle=11, ecode=0x05),
            ATT_Write_Request(gatt_handle=13, data=b"x"),
            ATT_Error_Response(request=0x12, handle=13, ecode=0x0F),
            ATT_Read_By_Type_Request(start=20, end=0xFFFF, uuid=0x2803),
            ATT_Error_Response(request=0x08, handle=20, ecode=0x0A),
        ]
    )

    errors = [op for op in operations if op.operation == "error"]
    assert [(op.handle, op.error_code) for op in errors] == [(11, 0x05), (13, 0x0F)]
    assert errors[0].evidence.packets == (1, 2)


def test_att_read_blob_and_unpaired_response() -> None:
    interpreter = AttInterpreter("TOY", {})

    operations = _run(
        [
            ATT_Read_Response(value=b"orphan"),
            ATT_Read_Blob_Request(gatt_handle=11, offset=22),
            ATT_Read_Blob_Response(value=b"tail"),
        ],
        interpreter,
    )

    assert [(op.handle, op.value) for op in operations] == [(11, b"tail")]
    assert interpreter.unpaired_reads == 1


def test_att_read_by_type_of_a_characteristic_is_a_read() -> None:
    operations = _run(
        [
            ATT_Read_By_Type_Request(start=1, end=8, uuid=0x2A00),
            b"\x09\x08" + struct.pack("<H", 3) + b"ToyBea",
        ]
    )

    assert [(op.handle, op.uuid, op.value) for op in operations] == [
        (3, "00002a00" + BASE, b"ToyBea")
    ]


def test_att_prepared_writes_are_joined_on_execute() -> None:
    operations = _run(
        [
            b"\x16" + struct.pack("<HH", 20, 0) + b"hello ",
            b"\x16" + struct.pack("<HH", 20, 6) + b"world",
            b"\x18\x01",
        ]
    )

    assert [(op.operation, op.handle, op.value) for op in operations] == [
        ("write", 20, b"hello world")
    ]
    assert operations[0].evidence.packets == (1, 2, 3)


def test_att_shared_table_names_handles_in_a_later_connection() -> None:
    table: dict[int, str] = {}
    _run(_declarations(), AttInterpreter("TOY", table))

    later = _run(
        [ATT_Handle_Value_Notification(gatt_handle=11, value=b"x")],
        AttInterpreter("TOY", table),
    )

    assert later[0].uuid == CUSTOM


def test_att_explicit_direction_wins_over_opcode() -> None:
    interpreter = AttInterpreter("TOY", {})
    pdu = bytes(ATT_Hdr() / ATT_Write_Command(gatt_handle=1, data=b"x"))

    operations = list(interpreter.pdu(pdu, False, Evidence("f", (1,)), True))

    assert operations[0].from_central is False
    assert operations[0].encrypted_link is True


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=10))
def test_att_fuzz_never_raises(pdus: list[bytes]) -> None:
    for operation in _run(list(pdus)):
        assert 0 <= operation.handle <= 0xFFFF
