"""The BLE link layer, as a radio sniffer hears it.

Every packet starts with its access address (Core spec Vol 6 Part B 2.1).
Advertising channel packets (access address 0x8E89BED6) carry
advertisements, scan responses and CONNECT_IND, which names the central
(InitA), the peripheral (AdvA) and the access address the new connection
will use (Vol 6 Part B 2.3). Data channel packets of that connection carry
LL control PDUs and L2CAP fragments (Vol 6 Part B 2.4).

Once LL_ENC_REQ / LL_START_ENC_REQ start encryption (Vol 6 Part B 5.1.3.1),
data packets are ciphertext: they are counted and not read, unless the
sniffer says it decrypted them (RF-header flag, or the nRF Sniffer's MIC-OK
flag).

Direction: the nRF Sniffer marks each data packet central→peripheral or
back, and that is used. Other sniffers do not, so the ATT opcode decides
(see :mod:`.att`).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from toyaudit.ingest.bluetooth.adstructs import advertisement
from toyaudit.ingest.bluetooth.identifiers import address_type, format_address
from toyaudit.ingest.bluetooth.l2cap import Reassembler
from toyaudit.ingest.bluetooth.link import HandleTables, Link, LinkLosses
from toyaudit.ingest.records import BluetoothObservation, Evidence

logger = logging.getLogger(__name__)

ADVERTISING_ACCESS_ADDRESS = 0x8E89BED6
"""Access address of every advertising channel packet (Vol 6 Part B 2.1.2)."""

MAX_CONNECTIONS = 256
"""Connections followed at once; the oldest is forgotten past this."""

_ADV_IND, _ADV_DIRECT_IND, _ADV_NONCONN_IND = 0x0, 0x1, 0x2
_SCAN_RSP, _CONNECT_IND, _ADV_SCAN_IND = 0x4, 0x5, 0x6
_ADVERTISING_PDUS = {
    _ADV_IND: True,
    _ADV_DIRECT_IND: True,
    _ADV_NONCONN_IND: False,
    _SCAN_RSP: None,
    _ADV_SCAN_IND: False,
}
"""Advertising PDU type → connectable (Vol 6 Part B 2.3, table 2.3)."""

_LLID_CONTINUATION, _LLID_START, _LLID_CONTROL = 0x1, 0x2, 0x3
_LL_ENC_REQ, _LL_ENC_RSP, _LL_START_ENC_REQ = 0x03, 0x04, 0x05
_LL_REJECT_IND, _LL_REJECT_EXT_IND = 0x0D, 0x11
_PLAIN_DURING_SETUP = {_LL_ENC_RSP: 13, _LL_START_ENC_REQ: 1}
"""Control PDUs still sent in the clear while encryption starts, and their length."""
_REJECTS = {_LL_REJECT_IND: 2, _LL_REJECT_EXT_IND: 3}
_MIC_LENGTH = 4


@dataclass(frozen=True, slots=True)
class RadioPacket:
    """One link-layer packet with what the sniffer's header said about it."""

    packet: bytes
    """Access address, PDU header, payload (and CRC, ignored)."""
    rssi: int | None = None
    central_sent: bool | None = None
    """True central→peripheral, False back, None when the sniffer does not say."""
    decrypted: bool = False
    """The sniffer decrypted the payload; a 4-byte MIC still ends it."""


class _Connection:
    """What the reader knows of one connection, found by its access address."""

    __slots__ = ("link", "encryption_request", "setting_up", "last_pdu")

    def __init__(self, link: Link) -> None:
        self.link = link
        self.last_pdu: tuple[bool | None, int, bytes] | None = None
        """Direction, LLID and SN bits, payload of the last non-empty PDU."""
        self.encryption_request: Evidence | None = None
        """LL_ENC_REQ while encryption is being set up."""
        self.setting_up = False


class LinkLayerDecoder:
    """Turns the link-layer packets of one file into observations."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.connections: dict[int, _Connection] = {}
        self.reassembler = Reassembler()
        self.tables = HandleTables()
        self.losses = LinkLosses()
        self.retransmissions = 0

    def packet(
        self, radio: RadioPacket, number: int, time: float
    ) -> Iterator[BluetoothObservation]:
        """Yield the observations of one link-layer packet."""
        evidence = Evidence(self.name, (number,), time=time)
        try:
            (access_address,) = struct.unpack_from("<I", radio.packet)
            header, length = radio.packet[4], radio.packet[5]
            payload = radio.packet[6 : 6 + length]
            if access_address == ADVERTISING_ACCESS_ADDRESS:
                yield from self._advertising(header, payload, radio, evidence)
            else:
                yield from self._data(access_address, header, payload, radio, evidence)
        except (IndexError, struct.error):
            logger.debug("%s: link-layer packet cut short", evidence.describe())

    def finish(self) -> list[str]:
        """Coverage notes for the whole file, once it has been read."""
        for connection in self.connections.values():
            self.losses.absorb(connection.link)
        notes = self.losses.notes(self.name)
        logger.debug("%s: %d retransmissions", self.name, self.retransmissions)
        lost = self.reassembler.cut + self.reassembler.orphans
        if lost:
            notes.append(
                f"{self.name}: {lost} L2CAP frames over the air were incomplete "
                f"(sniffer missed packets), the first near frame "
                f"{self.reassembler.first_loss}; what they carried was skipped"
            )
        return notes

    def _advertising(
        self, header: int, payload: bytes, radio: RadioPacket, evidence: Evidence
    ) -> Iterator[BluetoothObservation]:
        """An advertising channel PDU (Vol 6 Part B 2.3): TxAdd is bit 6."""
        pdu_type, tx_random = header & 0x0F, bool(header & 0x40)
        if pdu_type == _CONNECT_IND:
            self._connect(payload, bool(header & 0x80))
            return
        if pdu_type not in _ADVERTISING_PDUS or len(payload) < 6:
            return
        raw = payload[:6]
        data = b"" if pdu_type == _ADV_DIRECT_IND else payload[6:]
        yield advertisement(
            evidence,
            format_address(raw),
            address_type(tx_random, raw),
            data,
            _ADVERTISING_PDUS[pdu_type],
            radio.rssi,
        )

    def _connect(self, payload: bytes, rx_random: bool) -> None:
        """CONNECT_IND: InitA, AdvA, then the access address (2.3.3.1)."""
        if len(payload) < 16:
            return
        peripheral = payload[6:12]
        (access_address,) = struct.unpack_from("<I", payload, 12)
        self._forget(access_address)
        if len(self.connections) >= MAX_CONNECTIONS:
            self._forget(next(iter(self.connections)))
        device = format_address(peripheral)
        self.connections[access_address] = _Connection(Link(device, self.tables))
        logger.debug(
            "%s: connection 0x%08x to a %s address",
            self.name,
            access_address,
            address_type(rx_random, peripheral),
        )

    def _forget(self, access_address: int) -> None:
        connection = self.connections.pop(access_address, None)
        if connection is not None:
            self.losses.absorb(connection.link)
        for direction in (True, False, None):
            self.reassembler.forget((access_address, direction))

    def _connection(self, access_address: int) -> _Connection:
        """The connection using ``access_address``, labelled by it if unseen."""
        connection = self.connections.get(access_address)
        if connection is None:
            if len(self.connections) >= MAX_CONNECTIONS:
                self._forget(next(iter(self.connections)))
            label = f"access address 0x{access_address:08x}"
            connection = _Connection(Link(label, self.tables))
            self.connections[access_address] = connection
        return connection

    def _data(
        self,
        access_address: int,
        header: int,
        payload: bytes,
        radio: RadioPacket,
        evidence: Evidence,
    ) -> Iterator[BluetoothObservation]:
        """A data channel PDU (Vol 6 Part B 2.4): LLID in bits 0-1, CP in bit 5."""
        if header & 0x20:
            # The CTEInfo octet sits between header and payload (2.4.1).
            payload = radio.packet[7 : 7 + radio.packet[5]]
        llid = header & 0x03
        if not payload or llid == 0:
            return
        connection = self._connection(access_address)
        if self._retransmitted(connection, header, payload, radio):
            return
        if radio.decrypted and not connection.link.encrypted:
            yield from self._start_encryption(connection, evidence)
        if connection.link.encrypted or connection.setting_up:
            readable = yield from self._readable(
                connection, llid, payload, radio, evidence
            )
            if readable is None:
                return
            payload = readable
        if llid == _LLID_CONTROL:
            yield from self._control(connection, payload, evidence)
        else:
            yield from self._l2cap(
                access_address, connection, llid, payload, radio, evidence
            )

    def _retransmitted(
        self, connection: _Connection, header: int, payload: bytes, radio: RadioPacket
    ) -> bool:
        """Whether a PDU repeats the last one: a retransmission (Vol 6 Part B 4.5.9).

        A sender repeats a PDU with the same sequence number until it is
        acknowledged, and a sniffer hears every copy. A new PDU flips the SN
        bit, so the same LLID, SN and payload twice in a row is one PDU.
        """
        fingerprint = (radio.central_sent, header & 0x0B, payload)
        if connection.last_pdu == fingerprint:
            self.retransmissions += 1
            return True
        connection.last_pdu = fingerprint
        return False

    def _readable(
        self,
        connection: _Connection,
        llid: int,
        payload: bytes,
        radio: RadioPacket,
        evidence: Evidence,
    ) -> Generator[BluetoothObservation, None, bytes | None]:
        """The plaintext of a PDU on a link being encrypted, or None if unreadable.

        Between LL_ENC_REQ and LL_START_ENC_REQ only LL_ENC_RSP, the start
        request itself and a reject travel in the clear (Vol 6 Part B
        5.1.3.1), and each has a fixed length; anything else means
        encryption has begun.
        """
        opcode = payload[0] if llid == _LLID_CONTROL else -1
        if not connection.link.encrypted:
            if _PLAIN_DURING_SETUP.get(opcode) == len(payload):
                return payload
            if _REJECTS.get(opcode) == len(payload):
                connection.setting_up = False
                return None
            yield from self._start_encryption(connection, evidence)
        if radio.decrypted:
            return payload[:-_MIC_LENGTH]
        self.losses.encrypted_pdus += 1
        if self.losses.first_encrypted_frame is None:
            self.losses.first_encrypted_frame = evidence.packets[0]
        return None

    def _start_encryption(
        self, connection: _Connection, evidence: Evidence
    ) -> Iterator[BluetoothObservation]:
        """Mark the link encrypted; the record names LL_ENC_REQ too, if seen."""
        request = connection.encryption_request or evidence
        frames = evidence.packets
        if request is not evidence:
            frames = (*request.packets, *evidence.packets)
        connection.setting_up = False
        started = connection.link.encryption_started(
            Evidence(self.name, frames, time=request.time)
        )
        if started is not None:
            yield started

    def _control(
        self, connection: _Connection, payload: bytes, evidence: Evidence
    ) -> Iterator[BluetoothObservation]:
        """LL control PDUs (2.4.2): only those that start encryption matter."""
        opcode = payload[0]
        if opcode == _LL_ENC_REQ and not connection.link.encrypted:
            connection.setting_up = True
            connection.encryption_request = evidence
        elif opcode == _LL_START_ENC_REQ and connection.setting_up:
            yield from self._start_encryption(connection, evidence)

    def _l2cap(
        self,
        access_address: int,
        connection: _Connection,
        llid: int,
        payload: bytes,
        radio: RadioPacket,
        evidence: Evidence,
    ) -> Iterator[BluetoothObservation]:
        """Feed an L2CAP fragment; hand a whole frame to the connection."""
        key = (access_address, radio.central_sent)
        number = evidence.packets[0]
        if llid == _LLID_START:
            frame = self.reassembler.start(key, payload, number, evidence.time)
        else:
            frame = self.reassembler.continuation(key, payload, number)
        if frame is not None:
            yield from connection.link.l2cap(frame, radio.central_sent, evidence)
