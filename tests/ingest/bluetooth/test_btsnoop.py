"""Tests of btsnoop logs: H4 and H1 datalinks, Linux monitor, damage."""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.bluetooth import (
    ATT_Hdr,
    ATT_Read_Request,
    ATT_Read_Response,
    ATT_Write_Command,
    SM_Hdr,
    SM_Pairing_Request,
    SM_Pairing_Response,
)

from toyaudit.errors import IngestError
from toyaudit.ingest.bluetooth.btsnoop import read_btsnoop
from toyaudit.ingest.records import BleEncryption, BlePairing, Coverage, GattOperation

SENT, RECEIVED = 0x00, 0x01
COMMAND_OR_EVENT = 0x02


def _write(ble: Any, handle: int = 0x0040) -> bytes:
    """An H4 ACL packet carrying an ATT Write Command."""
    att = bytes(ATT_Hdr() / ATT_Write_Command(gatt_handle=0x0E, data=b"\x01go"))
    return bytes(ble.acl(handle, ble.l2cap(4, att)))


def test_btsnoop_h4_log_reads_connection(read_bytes: Any, ble: Any) -> None:
    log = ble.btsnoop(
        [
            (RECEIVED | COMMAND_OR_EVENT, ble.le_connection_complete(0x40, ble.TOY)),
            (SENT, _write(ble)),
        ]
    )

    (write,), coverage = read_bytes(log)

    assert isinstance(write, GattOperation)
    assert (write.device, write.handle, write.value) == (ble.TOY, 0x0E, b"\x01go")
    assert write.from_central is True
    assert write.evidence.packets == (2,)
    assert write.evidence.time == pytest.approx(1_767_225_601.0)
    assert coverage.files_read == ["capture.btsnoop"]
    assert coverage.packets == 2 and coverage.problems == []


def test_btsnoop_h1_log_takes_type_from_flags(read_bytes: Any, ble: Any) -> None:
    start_encryption = struct.pack("<HBH", 0x2019, 28, 0x40) + bytes(26)
    log = ble.btsnoop(
        [
            (
                RECEIVED | COMMAND_OR_EVENT,
                ble.le_connection_complete(0x40, ble.TOY)[1:],
            ),
            (SENT | COMMAND_OR_EVENT, start_encryption),
            (RECEIVED | COMMAND_OR_EVENT, ble.encryption_change(0x40)[1:]),
            (SENT, _write(ble)[1:]),
        ],
        datalink=1001,
    )

    (encryption, write), coverage = read_bytes(log)

    assert isinstance(encryption, BleEncryption)
    assert encryption.evidence.packets == (2, 3)
    assert write.encrypted_link is True
    assert coverage.problems == []


def test_btsnoop_linux_monitor_opcodes(read_bytes: Any, ble: Any) -> None:
    acl_tx = 4
    log = ble.btsnoop([(acl_tx, _write(ble)[1:])], datalink=2001)

    (write,), _ = read_bytes(log)

    assert write.from_central is True


def test_btsnoop_truncated_keeps_earlier_records(read_bytes: Any, ble: Any) -> None:
    log = ble.btsnoop([(SENT, _write(ble)), (SENT, _write(ble))])
    cut = len(log) - 5

    observations, coverage = read_bytes(log[:cut])

    assert len(observations) == 1
    assert coverage.problems == [
        f"capture.btsnoop: truncated at byte {cut} inside the record of record 2; "
        "records after it are lost"
    ]


FIRST_RECORD = 1_767_225_600.0
"""Capture time of the first record of :func:`ble.btsnoop`; one second apart."""


def test_btsnoop_times_split_l2cap_frame_by_its_first_fragment(
    read_bytes: Any, ble: Any
) -> None:
    att = bytes(ATT_Hdr() / ATT_Write_Command(gatt_handle=0x0E, data=b"x" * 40))
    frame = ble.l2cap(4, att)
    log = ble.btsnoop(
        [
            (RECEIVED | COMMAND_OR_EVENT, ble.le_connection_complete(0x40, ble.TOY)),
            (SENT, ble.acl(0x40, frame[:10], boundary=2)),
            (SENT, ble.acl(0x40, frame[10:30], boundary=1)),
            (SENT, ble.acl(0x40, frame[30:], boundary=1)),
        ]
    )

    (write,), _ = read_bytes(log)

    assert write.evidence.packets == (2, 3, 4)
    assert write.evidence.time == pytest.approx(FIRST_RECORD + 1)


def test_btsnoop_times_answered_request_by_the_request(
    read_bytes: Any, ble: Any
) -> None:
    read = bytes(ATT_Hdr() / ATT_Read_Request(gatt_handle=0x0E))
    answer = bytes(ATT_Hdr() / ATT_Read_Response(value=b"serial"))
    pairing = bytes(SM_Hdr() / SM_Pairing_Request(authentication=1))
    paired = bytes(SM_Hdr() / SM_Pairing_Response(authentication=1))
    log = ble.btsnoop(
        [
            (RECEIVED | COMMAND_OR_EVENT, ble.le_connection_complete(0x40, ble.TOY)),
            (SENT, ble.acl(0x40, ble.l2cap(4, read))),
            (RECEIVED, ble.acl(0x40, ble.l2cap(4, answer))),
            (SENT, ble.acl(0x40, ble.l2cap(6, pairing))),
            (RECEIVED, ble.acl(0x40, ble.l2cap(6, paired))),
        ]
    )

    (value, pairs), _ = read_bytes(log)

    assert isinstance(value, GattOperation) and isinstance(pairs, BlePairing)
    assert value.evidence.packets == (2, 3)
    assert value.evidence.time == pytest.approx(FIRST_RECORD + 1)
    assert pairs.evidence.packets == (4, 5)
    assert pairs.evidence.time == pytest.approx(FIRST_RECORD + 3)


def test_btsnoop_times_encryption_by_the_hosts_request(
    read_bytes: Any, ble: Any
) -> None:
    start_encryption = struct.pack("<HBH", 0x2019, 28, 0x40) + bytes(26)
    log = ble.btsnoop(
        [
            (RECEIVED | COMMAND_OR_EVENT, ble.le_connection_complete(0x40, ble.TOY)),
            (SENT | COMMAND_OR_EVENT, b"\x01" + start_encryption),
            (RECEIVED | COMMAND_OR_EVENT, ble.encryption_change(0x40)),
        ]
    )

    (encryption,), _ = read_bytes(log)

    assert encryption.evidence.packets == (2, 3)
    assert encryption.evidence.time == pytest.approx(FIRST_RECORD + 1)


def test_btsnoop_refuses_unknown_datalink(ble: Any) -> None:
    log = ble.btsnoop([], datalink=1003)

    with pytest.raises(IngestError) as raised:
        list(read_btsnoop(io.BytesIO(log), "x.log", Coverage()))

    assert "datalink 1003" in raised.value.message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([1001, 1002, 2001]))
def test_btsnoop_fuzz_never_raises(tail: bytes, datalink: int) -> None:
    log = b"btsnoop\0" + struct.pack(">II", 1, datalink) + tail
    coverage = Coverage()

    list(read_btsnoop(io.BytesIO(log), "fuzz.log", coverage))
