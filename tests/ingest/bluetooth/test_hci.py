"""Tests of HCI captures (link types 201 and 187): adverts, GATT, pairing."""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.bluetooth import (
    ATT_Hdr,
    ATT_Read_Request,
    ATT_Read_Response,
    ATT_Write_Request,
    EIR_CompleteLocalName,
    EIR_Hdr,
    EIR_Manufacturer_Specific_Data,
    HCI_Event_Hdr,
    HCI_Event_LE_Meta,
    HCI_Hdr,
    HCI_LE_Meta_Advertising_Report,
    HCI_LE_Meta_Advertising_Reports,
    SM_Hdr,
    SM_Pairing_Request,
    SM_Pairing_Response,
)

from toyaudit.ingest.bluetooth.hci import HciDecoder
from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    BleEncryption,
    BlePairing,
    GattOperation,
    PairingMethod,
)

H4_WITH_PHDR, H4 = 201, 187


def _advertising_report() -> Any:
    report = HCI_LE_Meta_Advertising_Report(
        type=0,
        addr_type=1,
        addr="c0:ff:ee:12:34:56",
        data=[
            EIR_Hdr() / EIR_CompleteLocalName(local_name=b"ToyBear"),
            EIR_Hdr()
            / EIR_Manufacturer_Specific_Data(company_identifier=0x0059)
            / b"\x01\x02",
        ],
        rssi=-48,
    )
    return (
        HCI_Hdr()
        / HCI_Event_Hdr()
        / HCI_Event_LE_Meta()
        / HCI_LE_Meta_Advertising_Reports(reports=[report])
    )


def test_hci_advertising_report_fields_match_scapy(read_frames: Any) -> None:
    packet = _advertising_report()

    observations, coverage = read_frames([bytes(packet)], H4)

    oracle = packet[HCI_LE_Meta_Advertising_Report]
    (advert,) = observations
    assert isinstance(advert, BleAdvertisement)
    assert advert.address == oracle.addr.upper()
    assert advert.address_type == BleAddressType.RANDOM_STATIC
    assert advert.name == "ToyBear"
    assert advert.manufacturer_data == ((0x0059, b"\x01\x02"),)
    assert (advert.rssi, advert.connectable) == (-48, True)
    assert advert.evidence.packets == (1,)
    assert coverage.problems == []


def test_hci_extended_report_joins_fragments(read_frames: Any, ble: Any) -> None:
    data = bytes(EIR_Hdr() / EIR_CompleteLocalName(local_name=b"Toy Bear Deluxe"))

    def report(event_type: int, part: bytes) -> bytes:
        fixed = struct.pack("<HB", event_type, 0) + ble.le_address("00:11:22:33:44:55")
        fixed += struct.pack("<BBBbbHB", 1, 0, 3, 127, -70, 0, 0) + bytes(6)
        return bytes(ble.event(0x3E, b"\x0d\x01" + fixed + bytes([len(part)]) + part))

    frames = [report(0x0001 | 0x20, data[:5]), report(0x0001, data[5:])]

    observations, _ = read_frames(frames, H4)

    (advert,) = observations
    assert advert.name == "Toy Bear Deluxe"
    assert advert.address_type == BleAddressType.PUBLIC
    assert (advert.rssi, advert.connectable) == (-70, True)


def _connection(ble: Any) -> list[bytes]:
    """A connection to the toy: discovery-less read and write, then pairing."""
    handle = 0x0040
    read_request = bytes(ATT_Hdr() / ATT_Read_Request(gatt_handle=11))
    read_response = bytes(ATT_Hdr() / ATT_Read_Response(value=b"fw 1.0"))
    write = bytes(ATT_Hdr() / ATT_Write_Request(gatt_handle=13, data=b"\x01"))
    pairing_request = bytes(SM_Hdr() / SM_Pairing_Request(iocap=4, authentication=0x0D))
    pairing_response = bytes(SM_Hdr() / SM_Pairing_Response(iocap=3, authentication=1))
    return [
        ble.h4_with_direction(ble.le_connection_complete(handle, ble.TOY), False),
        ble.h4_with_direction(ble.acl(handle, ble.l2cap(4, read_request)), True),
        ble.h4_with_direction(ble.acl(handle, ble.l2cap(4, read_response)), False),
        ble.h4_with_direction(ble.acl(handle, ble.l2cap(6, pairing_request)), True),
        ble.h4_with_direction(ble.acl(handle, ble.l2cap(6, pairing_response)), False),
        ble.h4_with_direction(ble.encryption_change(handle), False),
        ble.h4_with_direction(ble.acl(handle, ble.l2cap(4, write)), True),
        ble.h4_with_direction(ble.disconnection(handle), False),
    ]


def test_hci_connection_yields_gatt_pairing_and_encryption(
    read_frames: Any, ble: Any
) -> None:
    observations, coverage = read_frames(_connection(ble), H4_WITH_PHDR)

    read, pairing, encryption, write = observations
    assert isinstance(read, GattOperation) and read.device == ble.TOY
    assert (read.operation, read.handle, read.value, read.from_central) == (
        "read",
        11,
        b"fw 1.0",
        False,
    )
    assert read.evidence.packets == (2, 3)
    assert isinstance(pairing, BlePairing)
    assert (pairing.method, pairing.secure_connections) == (
        PairingMethod.JUST_WORKS,
        False,
    )
    assert isinstance(encryption, BleEncryption) and encryption.device == ble.TOY
    assert isinstance(write, GattOperation)
    assert (write.from_central, write.encrypted_link) == (True, True)
    assert coverage.packets == 8 and coverage.problems == []


def test_hci_peripheral_role_flips_direction(read_frames: Any, ble: Any) -> None:
    notify = bytes.fromhex("1b0b00") + b"hi"
    frames = [
        ble.h4_with_direction(ble.le_connection_complete(1, ble.PHONE, role=1), False),
        ble.h4_with_direction(ble.acl(1, ble.l2cap(4, notify)), True),
    ]

    (operation,), _ = read_frames(frames, H4_WITH_PHDR)

    assert operation.from_central is False and operation.device == ble.PHONE


def test_hci_l2cap_split_over_acl_fragments(read_frames: Any, ble: Any) -> None:
    value = bytes(range(40))
    frame = ble.l2cap(
        4, bytes(ATT_Hdr() / ATT_Write_Request(gatt_handle=9, data=value))
    )
    frames = [
        ble.acl(0x0041, frame[:10], boundary=2),
        ble.acl(0x0041, frame[10:30], boundary=1),
        ble.acl(0x0041, frame[30:], boundary=1),
    ]

    (write,), coverage = read_frames(frames, H4)

    assert write.value == value and write.evidence.packets == (1, 2, 3)
    assert write.device == "connection 0x0041"
    assert coverage.problems == []


def test_hci_lost_fragment_is_a_coverage_note(read_frames: Any, ble: Any) -> None:
    frame = ble.l2cap(
        4, bytes(ATT_Hdr() / ATT_Write_Request(gatt_handle=9, data=bytes(40)))
    )
    frames = [ble.acl(1, frame[10:], boundary=1)]

    observations, coverage = read_frames(frames, H4)

    assert observations == []
    assert "1 L2CAP frames over HCI were incomplete" in coverage.problems[0]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2, 4, 5]), st.binary(max_size=60)), max_size=12
    )
)
def test_hci_fuzz_never_raises(packets: list[tuple[int, bytes]]) -> None:
    decoder = HciDecoder("f")
    for number, (kind, body) in enumerate(packets, start=1):
        list(decoder.packet(kind, body, number % 2 == 0, number, 0.0))
    decoder.finish()
