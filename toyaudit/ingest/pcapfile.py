"""Stream frames out of pcap and pcapng files, naming frames and byte offsets.

Our own reader rather than scapy's or dpkt's, because evidence must name frame
numbers exactly as Wireshark does and a damaged file must be reported by byte
offset. The file is read sequentially through a buffered file object, one
record or block at a time, so memory stays flat whatever the file size.

Frame numbers are 1-based and count every packet record (pcap) or packet block
(pcapng: enhanced, simple and obsolete packet blocks) across the whole file,
sections included, as Wireshark numbers them.

User-visible limits:

* pcap: both byte orders, microsecond and nanosecond magic. The modified
  "Kuznetzov" pcap format (magic ``a1b2cd34``) is not read.
* pcapng: several sections, either byte order, every interface's link type,
  timestamp resolution and timestamp offset. Decryption Secrets Blocks (TLS key logs and
  others) go to the caller's ``secrets`` callback when one is given; name
  resolution, interface statistics and custom blocks are skipped. Block lengths that are
  not a multiple of 4, below 12 bytes or above 64 MiB end the file's reading
  with a coverage note, since the framing after them cannot be trusted.
* A file cut short (a capture that crashed mid-write) keeps every complete
  frame before the cut; the cut is recorded with its byte offset.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from toyaudit.errors import IngestError
from toyaudit.ingest.records import Coverage

logger = logging.getLogger(__name__)

Frame = tuple[int, int, float, bytes]
"""(1-based frame number, link type, timestamp in seconds, captured bytes)."""

ProgressCallback = Callable[[str, int, int], None]
"""Called with (file name, bytes done, bytes total)."""

SecretsCallback = Callable[[int, bytes], None]
"""Called with (secrets type, secrets) for each pcapng Decryption Secrets Block."""

PCAP_MAGICS: dict[bytes, tuple[str, float]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
"""Magic number of a pcap file → (struct byte order, seconds per fraction unit)."""

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
"""Block type of the pcapng Section Header Block, the first bytes of the file."""

PROGRESS_STEP = 1 << 20
"""Bytes between two progress callbacks."""

MAX_BLOCK_LENGTH = 64 << 20
"""Largest pcapng block or pcap record accepted before the framing is distrusted."""

_BYTE_ORDER_MAGICS = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
_SECTION_HEADER = 0x0A0D0D0A
_INTERFACE_DESCRIPTION = 1
_OBSOLETE_PACKET = 2
_SIMPLE_PACKET = 3
_ENHANCED_PACKET = 6
_DECRYPTION_SECRETS = 10
_OPTION_TSRESOL = 9
_OPTION_TSOFFSET = 14


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
            _read_pcapng(stream, head, coverage, tally, secrets), coverage, tally
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


class _PcapngReader:
    """Walks the blocks of a pcapng file, one section after another."""

    def __init__(self, stream: BinaryIO, coverage: Coverage, tally: _Tally):
        self.read = stream.read
        self.coverage = coverage
        self.tally = tally
        self.order = "<"
        self.interfaces: list[tuple[int, float, int]] = []
        """(link type, seconds per timestamp unit, seconds added) per interface."""
        self.offset = 0
        self.skipped: list[str] = []
        """Why packet blocks were counted but not decoded, one line each."""

    def blocks(self, head: bytes) -> Iterator[tuple[int, bytes]]:
        """Yield (block type, block body without trailing length) in file order."""
        while len(head) == 8:
            block = self._block(head)
            if block is None:
                return
            yield block
            self.offset += len(block[1]) + 12
            head = self.read(8)
        if head:
            self._stop(
                f"truncated at byte {self.offset + len(head)} inside a block header"
            )

    def _block(self, head: bytes) -> tuple[int, bytes] | None:
        """Read the rest of the block that ``head`` starts, checking its framing."""
        prefix = b""
        if head[:4] == PCAPNG_MAGIC:
            prefix = self.read(4)
            order = _BYTE_ORDER_MAGICS.get(prefix)
            if order is None:
                self._broken_section(prefix)
                return None
            self.order = order
        block_type, length = struct.unpack(self.order + "II", head)
        if length < 12 + len(prefix) or length % 4 or length > MAX_BLOCK_LENGTH:
            self._stop(
                f"block at byte {self.offset} claims an impossible length {length}"
            )
            return None
        body = prefix + self.read(length - 8 - len(prefix))
        if len(body) < length - 8:
            self._stop(
                f"truncated at byte {self.offset + 8 + len(body)} inside a block"
            )
            return None
        return block_type, body[:-4]

    def _broken_section(self, prefix: bytes) -> None:
        """Refuse a file whose first section header is unreadable; note later ones."""
        found = prefix.hex() or "end of file"
        self._stop(
            f"section header at byte {self.offset} has no valid byte-order "
            f"magic (found {found})"
        )

    def _stop(self, problem: str) -> None:
        """Record why the rest of the file cannot be read; refuse it at byte 0."""
        if self.offset == 0:
            raise IngestError(
                f"{self.tally.name}: {problem} (the pcapng section header)",
                "the file is damaged; capture again or restore a full copy",
            )
        self.coverage.skip(
            f"{self.tally.name}: {problem}; frames after frame "
            f"{self.tally.frames} are lost"
        )

    def describe_interface(self, body: bytes) -> None:
        """Remember the link type and timestamp clock of a new interface."""
        if len(body) < 8:
            self.interfaces.append((-1, 1e-6, 0))
            return
        linktype, _reserved, _snaplen = struct.unpack_from(self.order + "HHI", body)
        self.interfaces.append((linktype, *_interface_clock(body, 8, self.order)))

    def decryption_secrets(self, body: bytes, secrets: SecretsCallback) -> None:
        """Hand the secrets of a Decryption Secrets Block to ``secrets``."""
        # pcapng (draft-ietf-opsawg-pcapng) §4.7: Secrets Type (32 bits),
        # Secrets Length (32 bits), Secrets Data padded to 32 bits, options
        if len(body) >= 8:
            secrets_type, length = struct.unpack_from(self.order + "II", body)
            if 8 + length <= len(body):
                secrets(secrets_type, body[8 : 8 + length])
                return
        self.coverage.skip(
            f"{self.tally.name}: decryption secrets block at byte {self.offset} "
            "is shorter than the secrets it announces; its secrets are not used"
        )

    def packet(self, block_type: int, body: bytes) -> Frame | None:
        """Turn a packet block into a frame; None when it cannot be decoded."""
        self.tally.frames += 1
        try:
            if block_type == _ENHANCED_PACKET:
                interface, high, low, captured, _ = struct.unpack_from(
                    self.order + "IIIII", body
                )
                start = 20
            elif block_type == _OBSOLETE_PACKET:
                interface, _drops, high, low, captured, _ = struct.unpack_from(
                    self.order + "HHIIII", body
                )
                start = 20
            else:
                interface, high, low, start = 0, 0, 0, 4
                (captured,) = struct.unpack_from(self.order + "I", body)
        except struct.error:
            return self._bad_packet("its block is too short")
        if interface >= len(self.interfaces):
            return self._bad_packet(f"interface {interface} was never described")
        linktype, unit, offset = self.interfaces[interface]
        frame = body[start : start + captured]
        if block_type != _SIMPLE_PACKET and len(frame) < captured:
            return self._bad_packet("its captured length overruns its block")
        return self.tally.frames, linktype, offset + ((high << 32) | low) * unit, frame

    def _bad_packet(self, problem: str) -> Frame | None:
        """Remember a packet block that is counted but cannot be decoded.

        Returns None, so that :meth:`packet` can return its result.
        """
        self.skipped.append(
            f"frame {self.tally.frames} at byte {self.offset}: {problem}"
        )
        return None

    def note_skipped(self) -> None:
        """Record the undecodable packet blocks in one coverage note."""
        if self.skipped:
            self.coverage.skip(
                f"{self.tally.name}: {len(self.skipped)} frames skipped "
                f"(first: {self.skipped[0]})"
            )


def _interface_clock(body: bytes, start: int, order: str) -> tuple[float, int]:
    """(seconds per timestamp unit, seconds added) from an interface's options.

    pcapng §4.2: ``if_tsresol`` gives the resolution (microseconds if absent),
    ``if_tsoffset`` whole seconds to add to every timestamp (0 if absent).
    """
    unit, offset = 1e-6, 0
    position = start
    while position + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, position)
        if code == 0:
            break
        value = body[position + 4 : position + 4 + length]
        if code == _OPTION_TSRESOL and len(value) >= 1:
            resolution = value[0]
            if resolution & 0x80:
                unit = float(2.0 ** -(resolution & 0x7F))
            else:
                unit = float(10.0**-resolution)
        elif code == _OPTION_TSOFFSET and len(value) == 8:
            (offset,) = struct.unpack_from(order + "q", value)
        position += 4 + (length + 3) // 4 * 4
    return unit, offset


def _read_pcapng(
    stream: BinaryIO,
    magic: bytes,
    coverage: Coverage,
    tally: _Tally,
    secrets: SecretsCallback | None,
) -> Iterator[Frame]:
    """Yield the frames of a pcapng file whose first 4 bytes were ``magic``."""
    reader = _PcapngReader(stream, coverage, tally)
    packet_blocks = (_ENHANCED_PACKET, _SIMPLE_PACKET, _OBSOLETE_PACKET)
    for block_type, body in reader.blocks(magic + stream.read(4)):
        if block_type in packet_blocks:
            frame = reader.packet(block_type, body)
            if frame is not None:
                yield frame
        elif block_type == _INTERFACE_DESCRIPTION:
            reader.describe_interface(body)
        elif block_type == _SECTION_HEADER:
            reader.interfaces = []
        elif block_type == _DECRYPTION_SECRETS and secrets is not None:
            reader.decryption_secrets(body, secrets)
        if reader.offset >= tally.next_report:
            tally.report(reader.offset)
    reader.note_skipped()
    logger.debug("%s: %d frames in pcapng blocks", tally.name, tally.frames)
