"""Walk the blocks of a pcapng file: sections, interfaces, packets and secrets.

:func:`~toyaudit.ingest.pcapfile.read_frames` recognises a pcapng file by its
first four bytes and hands the rest to :func:`read_pcapng`, which reads one
block at a time, in file order, and yields frames as :mod:`.pcapfile` does for
classic pcap files.

A file may hold several sections, each in its own byte order (read from its
Section Header Block) with its own interfaces: a new section forgets the
interfaces of the one before. Every Interface Description Block brings a link
type and a clock, the timestamp resolution (``if_tsresol``, a power of ten or
of two, microseconds when absent) and whole seconds to add to every timestamp
(``if_tsoffset``). Frames come from enhanced, simple and obsolete packet
blocks and are numbered across sections, as Wireshark numbers them. A
Decryption Secrets Block (a TLS key log or other secrets) goes to the
caller's ``secrets`` callback when the reader reaches it, so before the frames
that follow it; name resolution, interface statistics and custom blocks are
skipped.

Damage is handled at two levels. A packet block that cannot be decoded (too
short, on an interface never described, or claiming more captured bytes than
it holds) still counts, so that the frame numbers after it stay Wireshark's,
and all such blocks of a file make one coverage note that names the first. A
block whose framing is wrong (a length that is not a multiple of 4, below 12
bytes or above 64 MiB, a section header without a valid byte-order magic, a
cut in the middle) ends the file's reading with a coverage note naming its
byte offset, since nothing after it can be trusted; every complete frame
before it is kept. The same damage in the first section header refuses the
file with :class:`~toyaudit.errors.IngestError`.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol

from toyaudit.errors import IngestError
from toyaudit.ingest.records import Coverage

logger = logging.getLogger(__name__)

Frame = tuple[int, int, float, bytes]
"""(1-based frame number, link type, timestamp in seconds, captured bytes)."""

SecretsCallback = Callable[[int, bytes], None]
"""Called with (secrets type, secrets) for each pcapng Decryption Secrets Block."""

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
"""Block type of the pcapng Section Header Block, the first bytes of the file."""

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


class FileTally(Protocol):
    """What the pcapng reader needs of the caller's tally of one file.

    :func:`~toyaudit.ingest.pcapfile.read_frames` passes its own, which it
    also gives the pcap record loop; the reader numbers frames on it and
    reports progress through it.
    """

    @property
    def name(self) -> str:
        """The file's name, which starts every coverage note and error."""
        ...

    @property
    def next_report(self) -> int:
        """The byte offset past which progress is reported again."""
        ...

    frames: int
    """Packet blocks counted so far, decoded or not: the last frame number."""

    def report(self, done: int) -> None:
        """Tell the progress callback how many bytes the reader got through."""
        ...


class _PcapngReader:
    """Walks the blocks of a pcapng file, one section after another."""

    def __init__(self, stream: BinaryIO, coverage: Coverage, tally: FileTally):
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


def read_pcapng(
    stream: BinaryIO,
    magic: bytes,
    coverage: Coverage,
    tally: FileTally,
    secrets: SecretsCallback | None,
) -> Iterator[Frame]:
    """Yield the frames of a pcapng file whose first 4 bytes were ``magic``.

    ``stream`` is just past those 4 bytes. Every packet block read, decoded
    or not, adds one to ``tally.frames``; counting them into
    ``coverage.packets`` and reporting the whole file done are left to the
    caller, which knows when the frames stop being taken. Damage is noted in
    ``coverage``, or raises :class:`IngestError` in the first section header.
    """
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
