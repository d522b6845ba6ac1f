"""Stream frames out of pcap and pcapng files, naming frames and byte offsets.

Our own reader rather than scapy's or dpkt's, because evidence must name frame
numbers exactly as Wireshark does and a damaged file must be reported by byte
offset. The file is read sequentially through a buffered file object, one
record or block at a time, so memory stays flat whatever the file size.

Frame numbers are 1-based and count every packet record (pcap) or packet block
(pcapng: enhanced, simple and obsolete packet blocks) across the whole file,
sections included, as Wireshark numbers them.

:func:`read_frames` tells the two formats apart by their first four bytes.
The pcap record loop is here; a pcapng file is walked block by block by
:mod:`~toyaudit.ingest.pcapng`, and both count their frames on the same
progress tally.

User-visible limits:

* pcap: both byte orders, microsecond and nanosecond magic. The modified
  "Kuznetzov" pcap format (magic ``a1b2cd34``) is not read.
* pcapng: several sections, either byte order, every interface's link type
  and clock, Decryption Secrets Blocks handed to the caller; damaged block
  framing ends the reading with a coverage note. :mod:`~toyaudit.ingest.pcapng`
  says what is read and what is skipped.
* A file cut short (a capture that crashed mid-write) keeps every complete
  frame before the cut; the cut is recorded with its byte offset.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from toyaudit.errors import IngestError

# Frame and PCAPNG_MAGIC have always been imported from here; the pcapng reader
# needs them too, so they live beside it and imports point one way.
from toyaudit.ingest.pcapng import MAX_BLOCK_LENGTH, SecretsCallback, read_pcapng
from toyaudit.ingest.pcapng import PCAPNG_MAGIC as PCAPNG_MAGIC
from toyaudit.ingest.pcapng import Frame as Frame
from toyaudit.ingest.records import Coverage

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
"""Called with (file name, bytes done, bytes total)."""

PCAP_MAGICS: dict[bytes, tuple[str, float]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
"""Magic number of a pcap file → (struct byte order, seconds per fraction unit)."""

PROGRESS_STEP = 1 << 20
"""Bytes between two progress callbacks."""


class _Tally:
    """Progress of one file: bytes read, frames counted, next progress report."""

    __slots__ = ("name", "total", "callback", "next_report", "frames")

    def __init__(self, name: str, total: int, callback: ProgressCallback | None):
        self.name = name
        self.total = total
        self.callback = callback
        self.next_report = PROGRESS_STEP if callback is not None else 1 << 62
        self.frames = 0

    def report(self, done: int) -> None:
        """Tell the progress callback how many bytes the reader got through."""
        if self.callback is not None:
            self.callback(self.name, done, self.total)
            self.next_report = done + PROGRESS_STEP


def read_frames(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int,
    progress: ProgressCallback | None = None,
    secrets: SecretsCallback | None = None,
) -> Iterator[Frame]:
    """Yield every frame of the pcap or pcapng file read from ``stream``.

    ``stream`` must be at the start of the file and ``total`` is its size, for
    progress. A file whose header is not pcap or pcapng raises
    :class:`IngestError` (a pcap file's, when this is called); a file that
    breaks later ends with a coverage note naming the byte offset, and
    ``coverage.packets`` counts the frames read.

    ``secrets`` is called with the secrets type and the secrets of every
    pcapng Decryption Secrets Block when the reader reaches it, so before
    the frames that follow the block in the file. In ``TLSK`` blocks
    (type 0x544c534b) the secrets are NSS key log text.
    """
    tally = _Tally(name, total, progress)
    head = stream.read(4)
    if head in PCAP_MAGICS:
        # The record loop is handed out as it is: it is the hot path, and a
        # generator around it would cost every frame another step.
        return _pcap_records(stream, coverage, _pcap_layout(stream, head, tally), tally)
    if head == PCAPNG_MAGIC:
        return _counted(
            read_pcapng(stream, head, coverage, tally, secrets), coverage, tally
        )
    raise IngestError(
        f"{name}: not a pcap or pcapng file (unknown magic number "
        f"{head.hex() or 'none: empty file'})",
        "check that the file is a packet capture and was copied completely",
    )


def _counted(
    frames: Iterator[Frame], coverage: Coverage, tally: _Tally
) -> Iterator[Frame]:
    """Pass the frames on; count them into ``coverage`` and report the end."""
    try:
        yield from frames
    finally:
        coverage.packets += tally.frames
    tally.report(tally.total)


def _pcap_layout(
    stream: BinaryIO, magic: bytes, tally: _Tally
) -> tuple[str, float, int]:
    """Check the pcap global header; (byte order, seconds per unit, link type)."""
    header = stream.read(20)
    if len(header) < 20:
        raise IngestError(
            f"{tally.name}: pcap global header cut short "
            f"({4 + len(header)} of 24 bytes)",
            "the file is empty or damaged; capture again or restore a full copy",
        )
    order, unit = PCAP_MAGICS[magic]
    major, _minor, _zone, _sigfigs, _snaplen, linktype = struct.unpack(
        order + "HHiIII", header
    )
    if major != 2:
        raise IngestError(
            f"{tally.name}: pcap version {major} is not supported (expected 2)",
            "convert it with 'editcap -F pcapng'",
        )
    return order, unit, linktype & 0x0FFFFFFF  # the top 4 bits may hold the FCS length


def _pcap_records(
    stream: BinaryIO,
    coverage: Coverage,
    layout: tuple[str, float, int],
    tally: _Tally,
) -> Iterator[Frame]:
    """The record loop of a pcap file: the hot path, so kept flat.

    Counts the frames into ``coverage`` however the loop ends, and reports
    the whole file done when it ends with the file.
    """
    order, unit, linktype = layout
    record = struct.Struct(order + "IIII").unpack
    read = stream.read
    offset = 24
    number = 0
    next_report = tally.next_report
    try:
        while True:
            head = read(16)
            if len(head) < 16:
                if head:
                    coverage.skip(
                        f"{tally.name}: truncated at byte {offset + len(head)} "
                        f"inside the record header of frame {number + 1}; "
                        "frames after it are lost"
                    )
                break
            seconds, fraction, captured, _original = record(head)
            if captured > MAX_BLOCK_LENGTH:
                coverage.skip(
                    f"{tally.name}: frame {number + 1} at byte {offset} claims "
                    f"{captured} captured bytes, which is not plausible; "
                    "the rest of the file is not read"
                )
                break
            frame = read(captured)
            if len(frame) < captured:
                coverage.skip(
                    f"{tally.name}: truncated at byte {offset + 16 + len(frame)} "
                    f"inside frame {number + 1}; frames after it are lost"
                )
                break
            number += 1
            offset += 16 + captured
            if offset >= next_report:
                tally.report(offset)
                next_report = tally.next_report
            yield number, linktype, seconds + fraction * unit, frame
    finally:
        tally.frames = number
        coverage.packets += number
    tally.report(tally.total)
