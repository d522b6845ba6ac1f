"""Recorders for testing the capture run: they write real files, on threads.

:class:`FileRecorder` appends a line to its file every few milliseconds, as
a packet sniffer would, and fails on its own when the write fails (a full
disk) or when told to (``fail_after``). Given a header and a record, such as
those :func:`udp_pcap` makes, it writes a capture the audit reads.
:class:`UnstartableRecorder` refuses to start, as a recorder with a missing
privilege does.
"""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

from toyaudit.capture.recorder import RecorderStatus
from toyaudit.errors import CaptureError


class FileRecorder:
    """Writes numbered lines into ``folder/file_name`` until stopped."""

    def __init__(
        self,
        folder: Path,
        name: str = "lines",
        file_name: str = "lines.txt",
        line_size: int = 64,
        fail_after: int | None = None,
        header: bytes = b"",
        record: bytes | None = None,
    ) -> None:
        self.name = name
        self._path = folder / file_name
        self._header = header
        self._line = b"x" * (line_size - 1) + b"\n" if record is None else record
        self._fail_after = fail_after
        self._lines = 0
        self._failure: str | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.stop_calls = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._write, daemon=True)
        self._thread.start()

    def status(self) -> RecorderStatus:
        running = self._thread is not None and self._thread.is_alive()
        return RecorderStatus(
            name=self.name,
            counts={"lines": self._lines},
            failure=self._failure,
            files=(self._path.name,),
            running=running,
        )

    def stop(self) -> RecorderStatus:
        self.stop_calls += 1
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.status()

    def _write(self) -> None:
        try:
            with self._path.open("ab", buffering=0) as stream:
                stream.write(self._header)
                while not self._stopping.wait(0.002):
                    if self._fail_after is not None and self._lines >= self._fail_after:
                        self._failure = "told to fail"
                        return
                    stream.write(self._line)
                    self._lines += 1
        except OSError as error:
            self._failure = f"cannot write {self._path.name}: {error.strerror}"


class UnstartableRecorder:
    """A recorder whose start always fails, as without a needed privilege."""

    def __init__(self, name: str = "broken") -> None:
        self.name = name
        self.stop_calls = 0

    def start(self) -> None:
        raise CaptureError(f"{self.name}: cannot start", "give it what it needs")

    def status(self) -> RecorderStatus:
        return RecorderStatus(name=self.name)

    def stop(self) -> RecorderStatus:
        self.stop_calls += 1
        return self.status()


PCAP_HEADER_SIZE = 24
"""Bytes of a classic pcap file's global header."""


def udp_pcap(record_size: int) -> tuple[bytes, bytes]:
    """A classic pcap header, and one record of exactly ``record_size`` bytes.

    The record is an Ethernet frame carrying a UDP datagram, all zero bytes,
    from a toy's address to the discard port (RFC 863) of a server, so the
    audit reads it as one packet and finds nothing in it.
    """
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    frame_size = record_size - 16  # the record header
    payload = bytes(frame_size - 14 - 20 - 8)
    datagram = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
    addresses = socket.inet_aton("10.77.0.2") + socket.inet_aton("203.0.113.9")
    ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(datagram), 1, 0, 64, 17, 0)
    ip = ip[:10] + struct.pack("!H", _checksum(ip + addresses)) + addresses
    ethernet = bytes.fromhex("02 00 00 00 00 01  02 00 00 00 77 02  08 00")
    frame = ethernet + ip + datagram
    record = struct.pack("<IIII", 1767225600, 0, len(frame), len(frame)) + frame
    return header, record


def _checksum(header: bytes) -> int:
    """The IPv4 header checksum (RFC 791), over a header whose checksum is 0."""
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    total = (total & 0xFFFF) + (total >> 16)
    return ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF
