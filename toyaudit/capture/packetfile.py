"""The packet recorder's pcapng file: private, buffered, cut back to whole packets.

:func:`create_packet_file` creates ``traffic.pcapng`` readable by its owner
only, and :func:`pcapng_writer` points scapy's ``PcapNgWriter`` at it. The
writer's blocks wait in memory in :class:`PacketFile` until the recorder
flushes them (at least every half second), so the file is readable while the
capture runs. A write that fails (full disk, I/O error) truncates the file
back to its last whole packet; :func:`write_failure` words why for the
recorder's ``failure``. The recorder that uses them is
:class:`~.sniffer.PacketRecorder`.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Any

from toyaudit.errors import CaptureError

logger = logging.getLogger(__name__)


class PacketFile:
    """The append-only pcapng file, cut back to whole packets when a write fails.

    ``PcapNgWriter`` writes into this object; blocks wait in memory until
    :meth:`flush`. :meth:`end_packet` marks where each packet's blocks end, so
    a write that fails half way leaves the file ending at a packet boundary.
    """

    def __init__(self, path: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self.path = path
        self._fd = os.open(path, flags, 0o600)
        self._pending = bytearray()
        self._ends: list[tuple[int, int | None]] = []  # (end in _pending, bytes)
        self.stored_packets = 0
        self.stored_bytes = 0
        self.size = 0

    def write(self, chunk: bytes) -> int:
        """Buffer bytes from the pcapng writer."""
        self._pending += chunk
        return len(chunk)

    def end_packet(self, packet_bytes: int | None) -> None:
        """Mark the end of one packet's blocks (``None`` after header blocks)."""
        self._ends.append((len(self._pending), packet_bytes))

    @property
    def pending_packets(self) -> int:
        """Packets buffered since the last flush."""
        return sum(1 for _, size in self._ends if size is not None)

    def flush(self) -> None:
        """Write the buffered blocks; on OSError keep only whole packets, re-raise."""
        if self._fd < 0:
            return
        written = 0
        try:
            while written < len(self._pending):
                written += os.write(self._fd, self._pending[written:])
        except OSError:
            self._keep_whole_packets(written)
            raise
        self._commit(len(self._pending))

    def _keep_whole_packets(self, written: int) -> None:
        whole = max((end for end, _ in self._ends if end <= written), default=0)
        self._commit(whole)
        os.ftruncate(self._fd, self.size)

    def _commit(self, end: int) -> None:
        for boundary, packet_bytes in self._ends:
            if boundary <= end and packet_bytes is not None:
                self.stored_packets += 1
                self.stored_bytes += packet_bytes
        self._ends = []
        self.size += end
        self._pending.clear()

    def close(self) -> None:
        """Close the descriptor; buffered bytes not flushed are dropped."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def create_packet_file(path: Path) -> PacketFile:
    """Create ``path`` as a new, private :class:`PacketFile`.

    Raises :class:`CaptureError` naming the file when it cannot be created.
    """
    try:
        return PacketFile(path)
    except OSError as error:
        raise CaptureError(
            f"cannot create {path}: {error.strerror}",
            "check that the session folder exists, is writable and is new",
        ) from error


def pcapng_writer(packet_file: PacketFile, link_type: int) -> Any:
    """Return scapy's ``PcapNgWriter`` writing into ``packet_file``.

    The file's header blocks are buffered already, so even an empty capture
    is a valid pcapng file once flushed.
    """
    from scapy.utils import PcapNgWriter

    # PcapNgWriter only takes a file name; it writes its blocks into our
    # PacketFile instead, which creates the file private and keeps packet
    # boundaries.
    writer: Any = PcapNgWriter(os.devnull)
    writer.f.close()
    writer.f = packet_file
    writer.linktype = link_type
    writer.write_header(None)
    packet_file.end_packet(None)
    return writer


def write_failure(packet_file: PacketFile, error: OSError) -> str:
    """Say why a flush failed and how many packets the file keeps."""
    kept = f"the file keeps the first {packet_file.stored_packets} packets"
    if error.errno == errno.ENOSPC:
        return f"disk full while writing {packet_file.path.name}; {kept}"
    return f"write error ({error.strerror}) on {packet_file.path.name}; {kept}"
