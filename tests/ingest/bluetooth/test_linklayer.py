"""Tests of sniffer captures: link types 251, 256, 272 and 192 (PPI)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.bluetooth import (
    ATT_Handle_Value_Notification,
    ATT_Hdr,
    ATT_Write_Request,
    EIR_CompleteLocalName,
    EIR_Hdr,
    SM_Hdr,
    SM_Pairing_Request,
    SM_Pairing_Response,
)
from scapy.layers.bluetooth4LE import (
    BTLE,
    BTLE_ADV,
    BTLE_ADV_IND,
    BTLE_RF,
    BTLE_SCAN_RSP,
)

from toyaudit.ingest.bluetooth.linklayer import LinkLayerDecoder, RadioPacket
from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    BleEncryption,
    BlePairing,
    GattOperation,
    PairingMethod,
)

LE_LL, LE_LL_WITH_PHDR, NORDIC_BLE, PPI = 251, 256, 272, 192


def _adv_ind() -> Any:
    return (
        BTLE()
        / BTLE_ADV(TxAdd=1)
        / BTLE_ADV_IND(
            AdvA="c0:ff:ee:12:34:56",
            data=[EIR_Hdr() / EIR_CompleteLocalName(local_name=b"ToyBear")],
        )
    )


def test_linklayer_adv_ind_matches_scapy(read_frames: Any) -> None:
    packet = _adv_ind()

    (advert,), coverage = read_frames([bytes(packet)], LE_LL)

    assert isinstance(advert, BleAdvertisement)
    assert advert.address == packet[BTLE_ADV_IND].AdvA.upper()
    assert advert.address_type == BleAddressType.RANDOM_STATIC
    assert (advert.name, advert.connectable, advert.rssi) == ("ToyBear", True, None)
    assert coverage.problems == []


def test_linklayer_rf_header_gives_rssi_and_scan_response(read_frames: Any) -> None:
    scan_response = (
        BTLE_RF(signal=-61, sig_power_valid=1, crc_checked=1, crc_valid=1)
        / BTLE()
        / BTLE_ADV(TxAdd=0)
        / BTLE_SCAN_RSP(
            AdvA="00:11:22:33:44:55",
            data=[EIR_Hdr() / EIR_CompleteLocalName(local_name=b"Bear")],
        )
    )

    (advert,), _ = read_frames([bytes(scan_response)], LE_LL_WITH_PHDR)

    assert advert.address_type == BleAddressType.PUBLIC
    assert (advert.rssi, advert.connectable, advert.name) == (-61, None, "Bear")


def test_linklayer_bad_crc_is_skipped(read_frames: Any, ble: Any) -> None:
    frame = ble.rf_header(bytes(_adv_ind()), flags=0x0403)

    observations, coverage = read_frames([frame], LE_LL_WITH_PHDR)

    assert observations == [] and coverage.problems == []


def test_linklayer_nordic_and_ppi_headers(read_frames: Any, ble: Any) -> None:
    packet = bytes(_adv_ind())

    nordic, _ = read_frames([ble.nordic(packet)], NORDIC_BLE, name="nordic.pcap")
    ppi, _ = read_frames([ble.ppi(packet)], PPI, name="ppi.pcap")
    bad, _ = read_frames([ble.nordic(packet, crc_ok=False)], NORDIC_BLE, name="b.pcap")

    assert [advert.name for advert in nordic + ppi] == ["ToyBear", "ToyBear"]
    assert nordic[0].rssi == -55
    assert bad == []


def _connection(ble: Any) -> list[bytes]:
    """CONNECT_IND, legacy Just Works pairing, a write, then encryption."""
    request = bytes(SM_Hdr() / SM_Pairing_Request(iocap=4, authentication=0x01))
    response = bytes(SM_Hdr() / SM_Pairing_Response(iocap=3, authentication=0x01))
    write = bytes(ATT_Hdr() / ATT_Write_Request(gatt_handle=13, data=b"\x01song"))
    return [
        ble.connect_ind(ble.PHONE, ble.TOY),
        ble.ll_data(2, ble.l2cap(6, request), sn=0),
        ble.ll_data(2, ble.l2cap(6, response), sn=0),
        ble.ll_data(2, ble.l2cap(4, write), sn=1),
        ble.ll_data(2, ble.l2cap(4, write), sn=1),  # retransmission
        ble.ll_data(3, b"\x03" + bytes(22), sn=0),  # LL_ENC_REQ
        ble.ll_data(3, b"\x04" + bytes(12), sn=1),  # LL_ENC_RSP
        ble.ll_data(3, b"\x05", sn=1),  # LL_START_ENC_REQ
        ble.ll_data(3, bytes(5), sn=0),  # encrypted LL_START_ENC_RSP
        ble.ll_data(2, bytes(20), sn=1),  # encrypted data
    ]


def test_linklayer_connection_pairing_write_then_encryption(
    read_frames: Any, ble: Any
) -> None:
    observations, coverage = read_frames(_connection(ble), LE_LL)

    pairing, write, encryption = observations
    assert isinstance(pairing, BlePairing) and pairing.device == ble.TOY
    assert pairing.method == PairingMethod.JUST_WORKS
    assert not pairing.secure_connections
    assert isinstance(write, GattOperation)
    assert (write.handle, write.value, write.from_central) == (13, b"\x01song", True)
    assert write.evidence.packets == (4,)
    assert isinstance(encryption, BleEncryption)
    assert encryption.evidence.packets == (6, 8)
    assert len(coverage.problems) == 1
    assert "2 link-layer data packets on encrypted connections" in coverage.problems[0]


def test_linklayer_fragmented_l2cap_and_nordic_direction(
    read_frames: Any, ble: Any
) -> None:
    value = bytes(range(50))
    frame = ble.l2cap(
        4, bytes(ATT_Hdr() / ATT_Handle_Value_Notification(gatt_handle=15, value=value))
    )
    frames = [
        ble.nordic(ble.connect_ind(ble.PHONE, ble.TOY)),
        ble.nordic(ble.ll_data(2, frame[:27], sn=0), central_sent=False),
        ble.nordic(ble.ll_data(1, frame[27:], sn=1), central_sent=False),
    ]

    (notify,), coverage = read_frames(frames, NORDIC_BLE)

    assert (notify.operation, notify.value, notify.from_central) == (
        "notify",
        value,
        False,
    )
    assert notify.evidence.packets == (2, 3)
    assert coverage.problems == []


def test_linklayer_unknown_connection_is_labelled(read_frames: Any, ble: Any) -> None:
    write = bytes(ATT_Hdr() / ATT_Write_Request(gatt_handle=1, data=b"x"))

    (operation,), _ = read_frames([ble.ll_data(2, ble.l2cap(4, write))], LE_LL)

    assert operation.device == f"access address 0x{ble.ACCESS_ADDRESS:08x}"


def test_linklayer_rejected_encryption_keeps_reading(
    read_frames: Any, ble: Any
) -> None:
    write = bytes(ATT_Hdr() / ATT_Write_Request(gatt_handle=1, data=b"x"))
    frames = [
        ble.connect_ind(ble.PHONE, ble.TOY),
        ble.ll_data(3, b"\x03" + bytes(22), sn=0),
        ble.ll_data(3, b"\x0d\x06", sn=0),  # LL_REJECT_IND: PIN or key missing
        ble.ll_data(2, ble.l2cap(4, write), sn=1),
    ]

    observations, coverage = read_frames(frames, LE_LL)

    assert [type(item) for item in observations] == [GattOperation]
    assert coverage.problems == []


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=50), max_size=12))
def test_linklayer_fuzz_never_raises(packets: list[bytes]) -> None:
    decoder = LinkLayerDecoder("f")
    for number, packet in enumerate(packets, start=1):
        # Half the packets land on one data connection, to reach its state.
        if number % 2:
            packet = b"\x27\x4a\x65\x50" + packet
        list(decoder.packet(RadioPacket(packet, central_sent=None), number, 0.0))
    decoder.finish()
