"""Builders for the Bluetooth ingest tests: HCI, link-layer and btsnoop bytes.

scapy builds what it can (HCI events, ACL, ATT, SMP, link-layer PDUs) and
serves as the oracle; what scapy cannot write (btsnoop files, the nRF
Sniffer header, PPI) is written here with struct, following the formats'
specifications.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scapy.layers.bluetooth import HCI_ACL_Hdr, HCI_Hdr, HCI_PHDR_Hdr, L2CAP_Hdr
from scapy.layers.bluetooth4LE import BTLE, BTLE_DATA
from scapy.packet import Raw
from scapy.utils import wrpcap

from toyaudit.ingest import read_evidence
from toyaudit.ingest.records import Coverage, Observation

TOY = "C0:FF:EE:12:34:56"
"""The toy's address: random static (top bits 11)."""
PHONE = "11:22:33:44:55:66"
ACCESS_ADDRESS = 0x50654A27
BTSNOOP_EPOCH = 0x00DCDDB30F2F8000

Read = Callable[..., tuple[list[Observation], Coverage]]


def le_address(text: str) -> bytes:
    """A colon-form address as the 6 little-endian bytes HCI and the air use."""
    return bytes.fromhex(text.replace(":", ""))[::-1]


def acl(handle: int, l2cap: bytes, boundary: int = 2) -> bytes:
    """An H4 ACL packet (type byte included) of ``l2cap`` bytes."""
    return bytes(
        HCI_Hdr(type=2)
        / HCI_ACL_Hdr(connection_handle=handle, PB=boundary)
        / Raw(l2cap)
    )


def l2cap(cid: int, payload: bytes) -> bytes:
    """A basic L2CAP frame, built by scapy."""
    return bytes(L2CAP_Hdr(cid=cid) / Raw(payload))


def event(code: int, parameters: bytes) -> bytes:
    """An H4 HCI event packet."""
    return bytes([0x04, code, len(parameters)]) + parameters


def le_connection_complete(handle: int, peer: str, role: int = 0) -> bytes:
    """LE Connection Complete (Core Vol 4 Part E 7.7.65.1), random peer."""
    body = struct.pack("<BBHBB", 0x01, 0x00, handle, role, 0x01) + le_address(peer)
    return event(0x3E, body + struct.pack("<HHHB", 24, 0, 400, 0))


def encryption_change(handle: int, enabled: int = 1) -> bytes:
    return event(0x08, struct.pack("<BHB", 0, handle, enabled))


def disconnection(handle: int) -> bytes:
    return event(0x05, struct.pack("<BHB", 0, handle, 0x13))


def ll_packet(access_address: int, header: int, payload: bytes) -> bytes:
    """A link-layer packet: access address, 2-byte header, payload, zero CRC."""
    return (
        struct.pack("<IBB", access_address, header, len(payload)) + payload + b"\0\0\0"
    )


def ll_data(llid: int, payload: bytes, sn: int = 0) -> bytes:
    """A data channel PDU on :data:`ACCESS_ADDRESS`, built by scapy."""
    pdu = BTLE(access_addr=ACCESS_ADDRESS) / BTLE_DATA(LLID=llid, SN=sn) / Raw(payload)
    return bytes(pdu)


def connect_ind(initiator: str, advertiser: str) -> bytes:
    """CONNECT_IND (Vol 6 Part B 2.3.3.1) with both addresses random."""
    payload = le_address(initiator) + le_address(advertiser)
    payload += struct.pack("<I", ACCESS_ADDRESS) + bytes(18)
    return ll_packet(0x8E89BED6, 0x05 | 0x40 | 0x80, payload)


def rf_header(packet: bytes, rssi: int = -50, flags: int = 0x0C03) -> bytes:
    """LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR: 10-byte RF header (signal valid)."""
    return struct.pack("<BbbBIH", 37, rssi, -90, 0, 0, flags) + packet


def nordic(packet: bytes, central_sent: bool = True, crc_ok: bool = True) -> bytes:
    """LINKTYPE_NORDIC_BLE, header version 2: board, UART header, event header."""
    flags = (0x01 if crc_ok else 0) | (0x02 if central_sent else 0)
    event_header = struct.pack("<BBBBHI", 10, flags, 37, 55, 0, 0)
    uart = struct.pack("<HBHB", len(event_header) + len(packet), 2, 1, 0x06)
    return b"\x00" + uart + event_header + packet


def ppi(packet: bytes) -> bytes:
    """LINKTYPE_PPI with no fields around an inner DLT 147 (Ubertooth)."""
    return struct.pack("<BBHI", 0, 0, 8, 147) + packet


def h4_with_direction(h4: bytes, sent: bool) -> bytes:
    """LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR, built by scapy."""
    return bytes(HCI_PHDR_Hdr(direction=0 if sent else 1) / HCI_Hdr(h4))


def btsnoop(records: list[tuple[int, bytes]], datalink: int = 1002) -> bytes:
    """A btsnoop file of (flags, packet) records, one second apart from 2026."""
    out = b"btsnoop\0" + struct.pack(">II", 1, datalink)
    start = BTSNOOP_EPOCH + 1_767_225_600 * 1_000_000
    for index, (flags, packet) in enumerate(records):
        stamp = start + index * 1_000_000
        out += struct.pack(">IIIIq", len(packet), len(packet), flags, 0, stamp)
        out += packet
    return out


@pytest.fixture
def read_bytes(tmp_path: Path) -> Read:
    """Write raw bytes to a file and read it back with ingest."""

    def run(content: bytes, name: str = "capture.btsnoop") -> Any:
        path = tmp_path / name
        path.write_bytes(content)
        coverage = Coverage()
        return list(read_evidence(path, name, coverage)), coverage

    return run


@pytest.fixture
def read_frames(tmp_path: Path) -> Read:
    """Write raw frames as a pcap of ``linktype`` and read it back with ingest."""

    def run(frames: list[bytes], linktype: int, name: str = "ble.pcap") -> Any:
        path = tmp_path / name
        wrpcap(str(path), [Raw(frame) for frame in frames], linktype=linktype)
        coverage = Coverage()
        return list(read_evidence(path, name, coverage)), coverage

    return run


@pytest.fixture
def ble() -> Any:
    """The byte builders of this module, for tests to call."""
    return SimpleNamespace(
        TOY=TOY,
        PHONE=PHONE,
        ACCESS_ADDRESS=ACCESS_ADDRESS,
        le_address=le_address,
        acl=acl,
        l2cap=l2cap,
        event=event,
        le_connection_complete=le_connection_complete,
        encryption_change=encryption_change,
        disconnection=disconnection,
        ll_packet=ll_packet,
        ll_data=ll_data,
        connect_ind=connect_ind,
        rf_header=rf_header,
        nordic=nordic,
        ppi=ppi,
        h4_with_direction=h4_with_direction,
        btsnoop=btsnoop,
    )
