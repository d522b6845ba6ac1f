"""HCI: what passes between a phone's Bluetooth stack and its controller.

An Android btsnoop log or a Linux ``bluetoothN`` capture shows HCI packets,
each typed by its H4 byte (Core spec Vol 4 Part A 2): commands from the host,
events from the controller, ACL data both ways. From events come
advertisements (LE Advertising Report, legacy and extended), connections
(LE Connection Complete and its enhanced forms), disconnections and
encryption changes; ACL data carries L2CAP frames, reassembled here, with ATT
and SMP inside.

Direction: a packet the host sent to the controller was sent by the phone
itself. The phone is taken as the central unless an LE Connection Complete
event says its role on that connection was peripheral. Without a direction
(link type 187) the ATT opcode decides (see :mod:`.att`).

HCI shows traffic after the controller decrypted it, so GATT values on an
encrypted link stay readable; they are marked ``encrypted_link``.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator

from toyaudit.ingest.bluetooth.adstructs import advertisement
from toyaudit.ingest.bluetooth.identifiers import format_address, hci_address_type
from toyaudit.ingest.bluetooth.l2cap import Reassembler
from toyaudit.ingest.bluetooth.link import HandleTables, Link, LinkLosses
from toyaudit.ingest.records import BluetoothObservation, Evidence

logger = logging.getLogger(__name__)

COMMAND = 0x01
ACL_DATA = 0x02
EVENT = 0x04
"""H4 packet types (Core Vol 4 Part A 2)."""

_DISCONNECTION_COMPLETE = 0x05
_ENCRYPTION_CHANGE = (0x08, 0x59)
_LE_META = 0x3E
_LE_CONNECTION_COMPLETE = (0x01, 0x0A, 0x29)
_LE_ADVERTISING_REPORT = 0x02
_LE_EXTENDED_ADVERTISING_REPORT = 0x0D
_LE_START_ENCRYPTION = 0x2019
_LE_LTK_REQUEST_REPLY = 0x201A

_LEGACY_CONNECTABLE = {0: True, 1: True, 2: False, 3: False, 4: None}
"""Legacy report Event_Type → connectable (Vol 4 Part E 7.7.65.2); 4 = SCAN_RSP."""

_RSSI_UNAVAILABLE = 127
MAX_EXTENDED_DATA = 1650
"""Most data one extended advertisement carries (Vol 4 Part E 7.7.65.13)."""
MAX_FRAGMENTED = 64
"""Extended advertisements gathered from several reports at once."""


class HciDecoder:
    """Turns a sequence of HCI packets from one file into observations."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.links: dict[int, Link] = {}
        self.local_central: dict[int, bool] = {}
        self.encryption_requests: dict[int, Evidence] = {}
        """Connection handle → the host's request to encrypt it."""
        self.reassembler = Reassembler()
        self.tables = HandleTables()
        self.losses = LinkLosses()
        self.fragments: dict[tuple[str, int], bytes] = {}

    def packet(
        self, kind: int, body: bytes, sent: bool | None, number: int, time: float
    ) -> Iterator[BluetoothObservation]:
        """Yield the observations of one HCI packet of H4 type ``kind``."""
        evidence = Evidence(self.name, (number,), time=time)
        try:
            if kind == EVENT:
                yield from self._event(body, evidence)
            elif kind == ACL_DATA:
                yield from self._acl(body, sent, evidence)
            elif kind == COMMAND:
                self._command(body, evidence)
        except (IndexError, struct.error):
            logger.debug("%s: HCI packet too short for its fields", evidence.describe())

    def finish(self) -> list[str]:
        """Coverage notes for the whole file, once it has been read."""
        for link in self.links.values():
            self.losses.absorb(link)
        notes = self.losses.notes(self.name)
        lost = self.reassembler.cut + self.reassembler.orphans
        if lost:
            notes.append(
                f"{self.name}: {lost} L2CAP frames over HCI were incomplete, the "
                f"first near frame {self.reassembler.first_loss}; what they "
                "carried was skipped"
            )
        return notes

    def _command(self, body: bytes, evidence: Evidence) -> None:
        """Remember the host asking for encryption, for the evidence."""
        (opcode,) = struct.unpack_from("<H", body)
        if opcode in (_LE_START_ENCRYPTION, _LE_LTK_REQUEST_REPLY):
            (handle,) = struct.unpack_from("<H", body, 3)
            self.encryption_requests[handle & 0x0FFF] = evidence

    def _event(self, body: bytes, evidence: Evidence) -> Iterator[BluetoothObservation]:
        """Dispatch an HCI event by its code (Vol 4 Part E 7.7)."""
        code = body[0]
        parameters = body[2 : 2 + body[1]]
        if code == _LE_META:
            yield from self._le_event(parameters, evidence)
        elif code in _ENCRYPTION_CHANGE:
            yield from self._encryption_change(parameters, evidence)
        elif code == _DISCONNECTION_COMPLETE:
            self._disconnection(parameters)

    def _le_event(
        self, parameters: bytes, evidence: Evidence
    ) -> Iterator[BluetoothObservation]:
        subevent = parameters[0]
        if subevent == _LE_ADVERTISING_REPORT:
            yield from self._advertising_reports(parameters, evidence)
        elif subevent == _LE_EXTENDED_ADVERTISING_REPORT:
            yield from self._extended_reports(parameters, evidence)
        elif subevent in _LE_CONNECTION_COMPLETE:
            self._connection_complete(parameters)

    def _advertising_reports(
        self, parameters: bytes, evidence: Evidence
    ) -> Iterator[BluetoothObservation]:
        """LE Advertising Report (7.7.65.2), reports one after the other."""
        position = 2
        for _ in range(parameters[1]):
            event_type, code = parameters[position], parameters[position + 1]
            raw = parameters[position + 2 : position + 8]
            length = parameters[position + 8]
            payload = parameters[position + 9 : position + 9 + length]
            (rssi,) = struct.unpack_from("b", parameters, position + 9 + length)
            position += 10 + length
            yield advertisement(
                evidence,
                format_address(raw),
                hci_address_type(code, raw),
                payload,
                _LEGACY_CONNECTABLE.get(event_type),
                None if rssi == _RSSI_UNAVAILABLE else rssi,
            )

    def _extended_reports(
        self, parameters: bytes, evidence: Evidence
    ) -> Iterator[BluetoothObservation]:
        """LE Extended Advertising Report (7.7.65.13), gathering fragmented data."""
        position = 2
        for _ in range(parameters[1]):
            event_type, code = struct.unpack_from("<HB", parameters, position)
            raw = parameters[position + 3 : position + 9]
            sid = parameters[position + 11]
            (rssi,) = struct.unpack_from("b", parameters, position + 13)
            length = parameters[position + 23]
            payload = parameters[position + 24 : position + 24 + length]
            position += 24 + length
            address = format_address(raw)
            gathered = self._gather(address, sid, payload, (event_type >> 5) & 0x03)
            if gathered is None:
                continue
            # Bit 3 marks a scan response, which says nothing of connectability.
            connectable = None if event_type & 0x08 else bool(event_type & 0x01)
            kind = hci_address_type(code, raw)
            signal = None if rssi == _RSSI_UNAVAILABLE else rssi
            yield advertisement(evidence, address, kind, gathered, connectable, signal)

    def _gather(
        self, address: str, sid: int, payload: bytes, status: int
    ) -> bytes | None:
        """Join extended advertising data split over reports (data status 01)."""
        key = (address, sid)
        gathered = (self.fragments.pop(key, b"") + payload)[:MAX_EXTENDED_DATA]
        if status != 0x01:
            return gathered
        if len(self.fragments) >= MAX_FRAGMENTED:
            self.fragments.pop(next(iter(self.fragments)))
        self.fragments[key] = gathered
        return None

    def _connection_complete(self, parameters: bytes) -> None:
        """LE (Enhanced) Connection Complete (7.7.65.1, 7.7.65.10)."""
        status, handle, role, code = struct.unpack_from("<BHBB", parameters, 1)
        if status != 0:
            return
        raw = parameters[6:12]
        self._drop(handle)
        self.local_central[handle] = role == 0
        self.links[handle] = Link(format_address(raw), self.tables)
        logger.debug(
            "%s: connection 0x%04x to a %s address",
            self.name,
            handle,
            hci_address_type(code, raw),
        )

    def _disconnection(self, parameters: bytes) -> None:
        """Disconnection Complete (7.7.5): the handle may be reused after it."""
        status, handle = struct.unpack_from("<BH", parameters)
        if status == 0:
            self._drop(handle)

    def _drop(self, handle: int) -> None:
        link = self.links.pop(handle, None)
        if link is not None:
            self.losses.absorb(link)
        self.local_central.pop(handle, None)
        self.encryption_requests.pop(handle, None)
        for direction in (True, False, None):
            self.reassembler.forget((handle, direction))

    def _link(self, handle: int) -> Link:
        """The link of ``handle``, labelled by handle when its start was not seen."""
        link = self.links.get(handle)
        if link is None:
            link = self.links[handle] = Link(f"connection 0x{handle:04x}", self.tables)
        return link

    def _encryption_change(
        self, parameters: bytes, evidence: Evidence
    ) -> Iterator[BluetoothObservation]:
        """Encryption Change (7.7.8): status, handle, on or off."""
        status, handle, enabled = struct.unpack_from("<BHB", parameters)
        if status != 0:
            return
        link = self._link(handle)
        if not enabled:
            link.encrypted = False
            return
        request = self.encryption_requests.pop(handle, None)
        if request is not None:
            evidence = Evidence(
                self.name, (*request.packets, *evidence.packets), time=request.time
            )
        started = link.encryption_started(evidence)
        if started is not None:
            yield started

    def _acl(
        self, body: bytes, sent: bool | None, evidence: Evidence
    ) -> Iterator[BluetoothObservation]:
        """ACL data (Vol 4 Part E 5.4.2): handle, boundary flag, then L2CAP."""
        flags_handle, length = struct.unpack_from("<HH", body)
        handle, boundary = flags_handle & 0x0FFF, (flags_handle >> 12) & 0x03
        fragment = body[4 : 4 + length]
        key = (handle, sent)
        number = evidence.packets[0]
        if boundary == 0x01:
            frame = self.reassembler.continuation(key, fragment, number)
        else:
            frame = self.reassembler.start(key, fragment, number, evidence.time)
        if frame is None:
            return
        sent_by_central = None
        if sent is not None:
            sent_by_central = sent == self.local_central.get(handle, True)
        yield from self._link(handle).l2cap(frame, sent_by_central, evidence)
