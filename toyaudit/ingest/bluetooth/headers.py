"""Unwrap the pseudo-header each Bluetooth link type puts before the packet.

Link types are the LINKTYPE_* numbers of the pcap registry. HCI captures
become an H4 packet type, its body and, where the header says, the
direction; sniffer captures become a :class:`~.linklayer.RadioPacket`. A
frame that holds no Bluetooth packet worth reading (a sniffer status
message, a packet whose CRC failed) comes back as a short reason, so the
caller can count it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from toyaudit.ingest.bluetooth.formats import (
    H4,
    H4_WITH_PHDR,
    LE_LL,
    LE_LL_WITH_PHDR,
    LINUX_MONITOR,
    NORDIC_BLE,
    PPI,
)
from toyaudit.ingest.bluetooth.linklayer import RadioPacket

_PPI_BLE_LINKTYPES = frozenset({147, LE_LL})
"""Inner link types read as LE_LL: DLT 147 (USER0) is what Ubertooth writes."""

_MONITOR_OPCODES = {
    2: (0x01, True),
    3: (0x04, False),
    4: (0x02, True),
    5: (0x02, False),
}
"""Linux monitor opcode → (H4 type, sent by the host): command, event, ACL TX/RX."""

_RF_SIGNAL_VALID = 0x0002
_RF_DECRYPTED = 0x0008
_RF_CRC_CHECKED = 0x0400
_RF_CRC_VALID = 0x0800

_NORDIC_CRC_OK = 0x01
_NORDIC_CENTRAL_SENT = 0x02
_NORDIC_ENCRYPTED = 0x04
_NORDIC_MIC_OK = 0x08

BAD_CRC = "bad CRC"
NOT_A_PACKET = "not a Bluetooth packet"
UNSUPPORTED = "unsupported variant"


@dataclass(frozen=True, slots=True)
class HciPacket:
    """One HCI packet: its H4 type, its bytes after that, and who sent it."""

    kind: int
    body: bytes
    sent: bool | None
    """True host→controller, False controller→host, None when not recorded."""


def unwrap(linktype: int, frame: bytes) -> HciPacket | RadioPacket | str:
    """The packet inside ``frame``, or why there is none to read."""
    try:
        if linktype == H4:
            return HciPacket(frame[0], frame[1:], None)
        if linktype == H4_WITH_PHDR:
            # libpcap writes 0 for packets the host sent, 1 for received ones.
            (direction,) = struct.unpack_from(">I", frame)
            return HciPacket(frame[4], frame[5:], direction == 0)
        if linktype == LINUX_MONITOR:
            return _monitor(frame)
        if linktype == LE_LL:
            return RadioPacket(frame)
        if linktype == LE_LL_WITH_PHDR:
            return _rf_header(frame)
        if linktype == NORDIC_BLE:
            return _nordic(frame)
        if linktype == PPI:
            return _ppi(frame)
    except (IndexError, struct.error):
        return NOT_A_PACKET
    return UNSUPPORTED


def _monitor(frame: bytes) -> HciPacket | str:
    """Linux monitor header: adapter index, opcode, both big-endian (btmon)."""
    (opcode,) = struct.unpack_from(">H", frame, 2)
    return monitor_packet(opcode, frame[4:])


def monitor_packet(opcode: int, body: bytes) -> HciPacket | str:
    """The HCI packet of a Linux monitor record of ``opcode``."""
    kind = _MONITOR_OPCODES.get(opcode)
    if kind is None:
        return NOT_A_PACKET
    return HciPacket(kind[0], body, kind[1])


def _rf_header(frame: bytes) -> RadioPacket | str:
    """LE_LL_WITH_PHDR: channel, signal, noise, offenses, reference AA, flags."""
    (signal,) = struct.unpack_from("b", frame, 1)
    (flags,) = struct.unpack_from("<H", frame, 8)
    if flags & _RF_CRC_CHECKED and not flags & _RF_CRC_VALID:
        return BAD_CRC
    return RadioPacket(
        frame[10:],
        rssi=signal if flags & _RF_SIGNAL_VALID else None,
        decrypted=bool(flags & _RF_DECRYPTED),
    )


def _nordic(frame: bytes) -> RadioPacket | str:
    """nRF Sniffer: board id, 6-byte UART header, event header, then LE_LL.

    Header version 1 starts with its header and payload lengths, versions 2
    and 3 with a 2-byte payload length; either way the protocol version is
    the fourth byte and the packet id the seventh. The 0.9.7 format (marked
    0xBEEF) is not read.
    """
    if frame[:2] == b"\xbe\xef":
        return UNSUPPORTED
    version, packet_id = frame[3], frame[6]
    if packet_id != 0x06 and not (version >= 3 and packet_id == 0x02):
        return NOT_A_PACKET
    event_length = frame[7]
    flags, rssi = frame[8], -frame[10]
    if not flags & _NORDIC_CRC_OK:
        return BAD_CRC
    packet = frame[7 + event_length :]
    if packet[:4] == b"\xd6\xbe\x89\x8e":
        return RadioPacket(packet, rssi=rssi)
    encrypted_and_checked = flags & (_NORDIC_ENCRYPTED | _NORDIC_MIC_OK)
    return RadioPacket(
        packet,
        rssi=rssi,
        central_sent=bool(flags & _NORDIC_CENTRAL_SENT),
        decrypted=encrypted_and_checked == (_NORDIC_ENCRYPTED | _NORDIC_MIC_OK),
    )


def _ppi(frame: bytes) -> RadioPacket | str:
    """PPI: version, flags, header length, inner link type, all little-endian."""
    _version, _flags, length, inner = struct.unpack_from("<BBHI", frame)
    if inner in _PPI_BLE_LINKTYPES:
        return RadioPacket(frame[length:])
    if inner == LE_LL_WITH_PHDR:
        return _rf_header(frame[length:])
    return UNSUPPORTED
