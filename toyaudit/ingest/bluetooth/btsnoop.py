"""Read Android's btsnoop HCI logs (``btsnoop_hci.log``) and ``btmon -w`` files.

The format (RFC 1761 style, all integers big-endian): a 16-byte header,
``btsnoop\\0``, version 1 and a datalink type; then records of a 24-byte
header (original length, included length, flags, cumulative drops, a 64-bit
timestamp in microseconds since midnight, 1 January of year 0) and the
packet.

Datalinks read: 1001 (H1: no packet-type byte; flags bit 1 says command or
event versus data, bit 0 says received), 1002 (H4: the first byte is the
packet type; bit 0 of the flags says received) and 2001 (Linux monitor, the
opcode in the low 16 bits of the flags). BCSP (1003) and H5 (1004) files
are refused.

A log cut short (Android writes it while capturing) keeps every record before
the cut; the cut goes into the coverage with its byte offset.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from typing import BinaryIO

from toyaudit.errors import IngestError
from toyaudit.ingest.bluetooth.decoder import BluetoothDecoder
from toyaudit.ingest.bluetooth.formats import BTSNOOP_MAGIC
from toyaudit.ingest.bluetooth.headers import HciPacket, monitor_packet
from toyaudit.ingest.pcapfile import PROGRESS_STEP, ProgressCallback
from toyaudit.ingest.records import BluetoothObservation, Coverage

logger = logging.getLogger(__name__)

H1, H4, LINUX_MONITOR = 1001, 1002, 2001
_DATALINKS = (H1, H4, LINUX_MONITOR)
EPOCH_OFFSET_US = 0x00DCDDB30F2F8000
"""Microseconds from 1 January of year 0 to the Unix epoch, as btsnoop counts."""

MAX_RECORD = 1 << 16
"""Largest record accepted; HCI packets stay far below this."""

_RECORD = struct.Struct(">IIIIq")
_RECEIVED = 0x01
_COMMAND_OR_EVENT = 0x02
_HCI_COMMAND, _HCI_ACL, _HCI_EVENT = 0x01, 0x02, 0x04


def read_btsnoop(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int = 0,
    progress: ProgressCallback | None = None,
) -> Iterator[BluetoothObservation]:
    """Yield the observations of the btsnoop file read from ``stream``.

    ``total`` is the file size, passed to ``progress`` with the bytes done.

    Raises :class:`IngestError` when the header is not a btsnoop header of a
    datalink toyaudit reads; later damage ends the file with a coverage note.
    """
    datalink = _read_header(stream, name)
    decoder = BluetoothDecoder(name)
    offset, next_report, number = 16, PROGRESS_STEP, 0
    try:
        for number, flags, timestamp, packet in _records(stream, name, coverage):
            time = (timestamp - EPOCH_OFFSET_US) / 1e6
            hci = _hci_packet(datalink, flags, packet)
            if hci is not None:
                yield from decoder.hci_packet(hci, number, time)
            offset += 24 + len(packet)
            if progress is not None and offset >= next_report:
                progress(name, offset, total)
                next_report = offset + PROGRESS_STEP
    finally:
        coverage.packets += number
    if progress is not None:
        progress(name, total, total)
    for note in decoder.finish():
        coverage.skip(note)
    logger.debug("%s: %d btsnoop records", name, number)


def _read_header(stream: BinaryIO, name: str) -> int:
    """Check the 16-byte file header; return the datalink type."""
    header = stream.read(16)
    if len(header) < 16 or header[:8] != BTSNOOP_MAGIC:
        raise IngestError(
            f"{name}: not a btsnoop file (header {header[:8].hex() or 'empty'})",
            "check that the file is an Android btsnoop_hci.log copied completely",
        )
    version, datalink = struct.unpack_from(">II", header, 8)
    datalink = int(datalink)
    if version != 1 or datalink not in _DATALINKS:
        raise IngestError(
            f"{name}: btsnoop version {version} datalink {datalink} is not read "
            "(expected version 1 with datalink 1001, 1002 or 2001)",
            "convert it with 'editcap -F pcapng' if Wireshark opens it",
        )
    return datalink


def _records(
    stream: BinaryIO, name: str, coverage: Coverage
) -> Iterator[tuple[int, int, int, bytes]]:
    """Yield (1-based record number, flags, timestamp, packet) in file order."""
    offset = 16
    number = 0
    while True:
        head = stream.read(24)
        if len(head) < 24:
            if head:
                _cut(coverage, name, offset + len(head), number, "record header")
            return
        _original, included, flags, _drops, timestamp = _RECORD.unpack(head)
        if included > MAX_RECORD:
            coverage.skip(
                f"{name}: record {number + 1} at byte {offset} claims {included} "
                "bytes, which is not plausible; the rest of the file is not read"
            )
            return
        packet = stream.read(included)
        if len(packet) < included:
            _cut(coverage, name, offset + 24 + len(packet), number, "record")
            return
        number += 1
        offset += 24 + included
        yield number, flags, timestamp, packet


def _cut(coverage: Coverage, name: str, offset: int, number: int, where: str) -> None:
    coverage.skip(
        f"{name}: truncated at byte {offset} inside the {where} of record "
        f"{number + 1}; records after it are lost"
    )


def _hci_packet(datalink: int, flags: int, packet: bytes) -> HciPacket | None:
    """The HCI packet of one record, typed and with its direction."""
    if not packet:
        return None
    received = bool(flags & _RECEIVED)
    if datalink == H4:
        return HciPacket(packet[0], packet[1:], not received)
    if datalink == H1:
        # H1 has no type byte: the flags say command/event or ACL data, and
        # commands go to the controller while events come from it.
        if flags & _COMMAND_OR_EVENT:
            kind = _HCI_EVENT if received else _HCI_COMMAND
        else:
            kind = _HCI_ACL
        return HciPacket(kind, packet, not received)
    monitored = monitor_packet(flags & 0xFFFF, packet)
    return monitored if isinstance(monitored, HciPacket) else None
