"""Attribute Protocol: the reads, writes and notifications of a connection.

Each ATT PDU starts with its opcode (Core spec Vol 3 Part F 3.3, opcodes in
3.4.8). Reads are paired with their request, since a Read Response carries
only the value; discovery responses map attribute handles to UUIDs, so the
operations that follow name their characteristic.

Which side sent a PDU: the caller passes it when the capture shows the
direction. When it does not, the opcode decides: requests, commands and
confirmations come from the GATT client, the rest from the GATT server, and
the client is assumed to be the central (the phone), as it is in nearly
every toy app.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from toyaudit.ingest.bluetooth.identifiers import BASE_UUID_SUFFIX, uuid_from_bytes
from toyaudit.ingest.records import Evidence, GattOperation

logger = logging.getLogger(__name__)

ERROR_RESPONSE = 0x01
FIND_INFORMATION_RESPONSE = 0x05
READ_BY_TYPE_REQUEST = 0x08
READ_BY_TYPE_RESPONSE = 0x09
READ_REQUEST = 0x0A
READ_RESPONSE = 0x0B
READ_BLOB_REQUEST = 0x0C
READ_BLOB_RESPONSE = 0x0D
WRITE_REQUEST = 0x12
PREPARE_WRITE_REQUEST = 0x16
EXECUTE_WRITE_REQUEST = 0x18
NOTIFICATION = 0x1B
INDICATION = 0x1D
MULTIPLE_NOTIFICATION = 0x23
WRITE_COMMAND = 0x52
SIGNED_WRITE_COMMAND = 0xD2

CHARACTERISTIC_DECLARATION = 0x2803
"""UUID of a characteristic declaration attribute (Vol 3 Part G 3.3.1)."""

_DECLARATION_UUIDS = {
    number: f"{number:08x}{BASE_UUID_SUFFIX}" for number in range(0x2800, 0x2804)
}
"""Primary and secondary service, include and characteristic declarations."""
_DECLARATION_UUID_SET = frozenset(_DECLARATION_UUIDS.values())

MAX_QUEUED_WRITE = 4096
"""Bytes of prepared writes kept per connection before later parts are cut."""

_SERVER_OPCODES = frozenset(
    {0x01, 0x03, 0x05, 0x07, 0x09, 0x0B, 0x0D, 0x0F, 0x11, 0x13, 0x17, 0x19}
    | {0x1B, 0x1D, 0x21, 0x23}
)
"""Responses, notifications and indications: sent by the GATT server."""

_DISCOVERY_REQUESTS = frozenset({0x04, 0x06, 0x08, 0x10})
"""Find Information, Find By Type Value, Read By Type, Read By Group Type."""
ATTRIBUTE_NOT_FOUND = 0x0A
"""Error code that ends every discovery procedure (Vol 3 Part G 4.4 to 4.7)."""

_WRITES = {WRITE_REQUEST: "write", WRITE_COMMAND: "write-command"}
_PUSHES = {NOTIFICATION: "notify", INDICATION: "indicate"}
_READ_PAIRS = {READ_RESPONSE: READ_REQUEST, READ_BLOB_RESPONSE: READ_BLOB_REQUEST}


@dataclass(frozen=True, slots=True)
class _Request:
    """A request waiting for its response."""

    opcode: int
    handle: int
    frames: tuple[int, ...]
    type_uuid: str | None = None
    time: float | None = None
    """Capture time of the request, which times the operation it starts."""


class AttInterpreter:
    """Turns the ATT PDUs of one connection into :class:`GattOperation` records.

    ``handles`` maps attribute handles to characteristic UUIDs; it may be
    shared by every connection to the same device, since a toy's attribute
    table does not change between connections and phones cache discovery.
    """

    def __init__(self, device: str, handles: dict[int, str]) -> None:
        self.device = device
        self.handles = handles
        self.pending: dict[bool, _Request] = {}
        """The open request of each side, keyed by ``from_central`` of its sender."""
        self.queued: list[tuple[int, bytes, Evidence]] = []
        """Prepared writes: (handle, value part, the request's evidence)."""
        self.unpaired_reads = 0
        """Read responses whose request the capture did not show."""

    def pdu(
        self,
        pdu: bytes,
        sent_by_central: bool | None,
        evidence: Evidence,
        encrypted: bool,
    ) -> Iterator[GattOperation]:
        """Yield the operations one ATT PDU makes visible (often none)."""
        if not pdu:
            return
        opcode = pdu[0]
        if sent_by_central is None:
            sent_by_central = opcode not in _SERVER_OPCODES
        try:
            yield from self._dispatch(opcode, pdu, sent_by_central, evidence, encrypted)
        except (IndexError, struct.error):
            logger.debug("%s: ATT PDU 0x%02x too short", evidence.describe(), opcode)

    def _dispatch(
        self,
        opcode: int,
        pdu: bytes,
        central: bool,
        evidence: Evidence,
        encrypted: bool,
    ) -> Iterator[GattOperation]:
        """Route a PDU by opcode; short PDUs raise struct.error."""
        if opcode in _WRITES or opcode == SIGNED_WRITE_COMMAND:
            (handle,) = struct.unpack_from("<H", pdu, 1)
            # A signed write ends with a 12-byte signature (Vol 3 Part F 3.4.5.4).
            value = pdu[3:-12] if opcode == SIGNED_WRITE_COMMAND else pdu[3:]
            name = _WRITES.get(opcode, "write-command")
            yield self._operation(name, handle, central, evidence, encrypted, value)
        elif opcode in _PUSHES:
            (handle,) = struct.unpack_from("<H", pdu, 1)
            yield self._operation(
                _PUSHES[opcode], handle, central, evidence, encrypted, pdu[3:]
            )
        elif opcode == MULTIPLE_NOTIFICATION:
            yield from self._multiple_notification(pdu, central, evidence, encrypted)
        elif opcode in (READ_REQUEST, READ_BLOB_REQUEST, READ_BY_TYPE_REQUEST):
            self._remember_request(opcode, pdu, central, evidence)
        elif opcode in _READ_PAIRS:
            yield from self._read_response(opcode, pdu, central, evidence, encrypted)
        elif opcode == ERROR_RESPONSE:
            error = self._error(pdu, central, evidence, encrypted)
            if error is not None:
                yield error
        elif opcode == READ_BY_TYPE_RESPONSE:
            yield from self._read_by_type_response(pdu, central, evidence, encrypted)
        elif opcode == FIND_INFORMATION_RESPONSE:
            self._find_information(pdu)
        elif opcode == PREPARE_WRITE_REQUEST:
            self._queue_write(pdu, evidence)
        elif opcode == EXECUTE_WRITE_REQUEST:
            yield from self._execute_writes(pdu, central, evidence, encrypted)

    def _operation(
        self,
        name: str,
        handle: int,
        central: bool,
        evidence: Evidence,
        encrypted: bool,
        value: bytes = b"",
        error_code: int | None = None,
    ) -> GattOperation:
        return GattOperation(
            evidence=evidence,
            device=self.device,
            operation=name,
            handle=handle,
            from_central=central,
            uuid=self.handles.get(handle),
            value=value,
            error_code=error_code,
            encrypted_link=encrypted,
        )

    def _remember_request(
        self, opcode: int, pdu: bytes, central: bool, evidence: Evidence
    ) -> None:
        """Keep a read request until its response names no handle of its own."""
        (handle,) = struct.unpack_from("<H", pdu, 1)
        type_uuid = uuid_from_bytes(pdu[5:]) if opcode == READ_BY_TYPE_REQUEST else None
        self.pending[central] = _Request(
            opcode, handle, evidence.packets, type_uuid, evidence.time
        )

    def _read_response(
        self,
        opcode: int,
        pdu: bytes,
        central: bool,
        evidence: Evidence,
        encrypted: bool,
    ) -> Iterator[GattOperation]:
        """A Read (Blob) Response takes the handle of the request it answers."""
        request = self.pending.pop(not central, None)
        if request is None or request.opcode != _READ_PAIRS[opcode]:
            self.unpaired_reads += 1
            return
        paired = Evidence(
            evidence.file, request.frames + evidence.packets, time=request.time
        )
        yield self._operation(
            "read", request.handle, central, paired, encrypted, pdu[1:]
        )

    def _error(
        self, pdu: bytes, central: bool, evidence: Evidence, encrypted: bool
    ) -> GattOperation | None:
        """Error Response: request opcode, handle, code (Vol 3 Part F 3.4.1.1).

        "Attribute not found" after a discovery request only ends the
        discovery; it is not an operation on a characteristic, and is dropped.
        """
        request_opcode, handle, code = struct.unpack_from("<BHB", pdu, 1)
        request = self.pending.pop(not central, None)
        if request_opcode in _DISCOVERY_REQUESTS and code == ATTRIBUTE_NOT_FOUND:
            return None
        if request is not None and request.handle == handle:
            evidence = Evidence(
                evidence.file, request.frames + evidence.packets, time=request.time
            )
        return self._operation("error", handle, central, evidence, encrypted, b"", code)

    def _read_by_type_response(
        self, pdu: bytes, central: bool, evidence: Evidence, encrypted: bool
    ) -> Iterator[GattOperation]:
        """A Read By Type Response (3.4.4.2): declarations, or values read by UUID.

        Asked for characteristic declarations, each entry is a declaration
        handle, properties, value handle and UUID (Vol 3 Part G 3.3.1), which
        map value handles to UUIDs. Asked for another characteristic UUID
        (Vol 3 Part G 4.8.2), each entry is a handle and the value read.
        Without the request, entries of 7 or 21 bytes are taken as
        declarations and others are skipped.
        """
        request = self.pending.pop(not central, None)
        length = pdu[1]
        entries = [
            pdu[start : start + length]
            for start in range(2, len(pdu) - length + 1, max(length, 1))
        ]
        if request is None or request.opcode != READ_BY_TYPE_REQUEST:
            if length in (7, 21):
                self._map_declarations(entries)
            return
        if request.type_uuid == _DECLARATION_UUIDS[CHARACTERISTIC_DECLARATION]:
            self._map_declarations(entries)
            return
        if request.type_uuid is None or request.type_uuid in _DECLARATION_UUID_SET:
            return
        paired = Evidence(
            evidence.file, request.frames + evidence.packets, time=request.time
        )
        for entry in entries:
            handle = int.from_bytes(entry[:2], "little")
            self.handles[handle] = request.type_uuid
            yield self._operation("read", handle, central, paired, encrypted, entry[2:])

    def _map_declarations(self, entries: list[bytes]) -> None:
        for entry in entries:
            uuid = uuid_from_bytes(entry[5:])
            if uuid is not None:
                self.handles[int.from_bytes(entry[3:5], "little")] = uuid

    def _find_information(self, pdu: bytes) -> None:
        """Map handles to UUIDs from a Find Information Response (3.4.3.2)."""
        width = {1: 2, 2: 16}.get(pdu[1])
        if width is None:
            return
        for start in range(2, len(pdu) - width - 1, width + 2):
            uuid = uuid_from_bytes(pdu[start + 2 : start + 2 + width])
            if uuid is not None:
                self.handles[int.from_bytes(pdu[start : start + 2], "little")] = uuid

    def _multiple_notification(
        self, pdu: bytes, central: bool, evidence: Evidence, encrypted: bool
    ) -> Iterator[GattOperation]:
        """Handle/length/value tuples of a Multiple Notification (3.4.7.4)."""
        position = 1
        while position + 4 <= len(pdu):
            handle, length = struct.unpack_from("<HH", pdu, position)
            value = pdu[position + 4 : position + 4 + length]
            yield self._operation("notify", handle, central, evidence, encrypted, value)
            position += 4 + length

    def _queue_write(self, pdu: bytes, evidence: Evidence) -> None:
        """Keep a Prepare Write Request's part until the execute (3.4.6.1)."""
        (handle,) = struct.unpack_from("<H", pdu, 1)
        queued = sum(len(part) for _handle, part, _request in self.queued)
        part = pdu[5 : 5 + max(0, MAX_QUEUED_WRITE - queued)]
        self.queued.append((handle, part, evidence))

    def _execute_writes(
        self, pdu: bytes, central: bool, evidence: Evidence, encrypted: bool
    ) -> Iterator[GattOperation]:
        """Execute Write Request flag 1 writes the queue, 0 cancels it (3.4.6.3)."""
        queued, self.queued = self.queued, []
        if pdu[1] != 0x01:
            return
        handles = list(dict.fromkeys(handle for handle, _part, _request in queued))
        for handle in handles:
            parts = [
                (part, request) for each, part, request in queued if each == handle
            ]
            frames = tuple(
                frame for _part, request in parts for frame in request.packets[:1]
            )
            joined = Evidence(
                evidence.file, frames + evidence.packets, time=parts[0][1].time
            )
            value = b"".join(part for part, _request in parts)
            yield self._operation("write", handle, central, joined, encrypted, value)
