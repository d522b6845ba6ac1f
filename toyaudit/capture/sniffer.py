"""Record the toy's packets from a network interface into ``traffic.pcapng``.

:class:`PacketRecorder` opens a raw packet socket on the hotspot interface
with a BPF filter on the toy's address (and the companion phone's, when
given), hands it to scapy's ``AsyncSniffer`` and writes every packet with
``PcapNgWriter``, keeping the interface name (``sniffed_on``) in the file.

The socket is opened in :meth:`PacketRecorder.start` rather than in the
sniffer thread, for two reasons found in scapy 2.8.0: ``AsyncSniffer.start``
never raises (a missing privilege or libpcap only surfaces later, in the
thread), and the sockets scapy opens itself stay local to its thread, so the
kernel's drop counters could not be read from them.

Packets go to an in-memory buffer that is written out at least every half
second, so the file is readable while the capture runs. A failed write
(full disk, I/O error) truncates the file back to its last whole packet and
stops the recorder on its own, with ``failure`` saying why.

This module holds the recorder: its threads, flushing and stopping. The
socket (filter, opening, drop counts, error wording) is
:mod:`.packetsocket`; the file and its buffer are :mod:`.packetfile`.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from toyaudit.capture.packetfile import (
    PacketFile,
    create_packet_file,
    pcapng_writer,
    write_failure,
)
from toyaudit.capture.packetsocket import (
    PACKET_STATISTICS,
    SOL_PACKET,
    capture_filter,
    link_type,
    open_socket,
    read_drops,
    require_interface,
    sniffer_error,
)
from toyaudit.capture.recorder import RecorderStatus
from toyaudit.errors import CaptureError

logger = logging.getLogger(__name__)

PCAPNG_FILE = "traffic.pcapng"
"""Name of the packet file in the session folder."""
START_TIMEOUT = 2.0
"""Seconds to wait for the sniffer thread to report that it runs."""
STOP_TIMEOUT = 2.0
"""Seconds :meth:`PacketRecorder.stop` waits for each thread before giving up."""


class PacketRecorder:
    """Sniffs the toy's packets on one interface into ``traffic.pcapng``.

    ``toy`` and ``companion`` are MAC or IP addresses (see
    :func:`capture_filter`). Status counts: ``packets`` and ``bytes`` stored in
    the file, ``dropped`` by the kernel because the sniffer fell behind (Linux
    only).
    """

    name = "packets"

    def __init__(
        self,
        session_folder: Path,
        interface: str,
        toy: str,
        companion: str | None = None,
        *,
        flush_interval: float = 0.5,
        flush_packets: int = 64,
    ) -> None:
        self.interface = interface
        self.path = session_folder / PCAPNG_FILE
        self.bpf = capture_filter(toy, companion)
        self._flush_interval = flush_interval
        self._flush_packets = flush_packets
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._socket: Any = None
        self._sniffer: Any = None
        self._writer: Any = None
        self._file: PacketFile | None = None
        self._watchdog: threading.Thread | None = None
        self._last_flush = time.monotonic()
        self._dropped = 0
        self._failure: str | None = None
        self._running = False
        self._finished = False
        self._stop_lock = threading.Lock()

    def start(self) -> None:
        """Open the interface, create the file and start sniffing.

        Raises :class:`CaptureError` naming the interface and the fix when the
        interface is missing, the privilege or libpcap is lacking, or the
        file cannot be created.
        """
        require_interface(self.interface)
        logger.debug("packet filter on %s: %s", self.interface, self.bpf)
        self._socket = open_socket(self.interface, self.bpf)
        try:
            self._open_file()
            if self._failure is not None:
                raise CaptureError(
                    self._failure, "free some space, or capture elsewhere"
                )
            self._start_sniffer()
        except BaseException:
            self._close_all()
            raise
        self._watchdog = threading.Thread(
            target=self._watch, name="toyaudit-packets-flush", daemon=True
        )
        self._watchdog.start()
        logger.info("capturing packets on %s into %s", self.interface, self.path)

    def status(self) -> RecorderStatus:
        """Return stored packets, bytes and kernel drops; never raises."""
        with self._lock:
            stored = self._file
            counts = {
                "packets": stored.stored_packets if stored else 0,
                "bytes": stored.stored_bytes if stored else 0,
                "dropped": self._dropped,
            }
            return RecorderStatus(
                name=self.name,
                counts=counts,
                failure=self._failure,
                files=(PCAPNG_FILE,),
                running=self._running,
            )

    def stop(self) -> RecorderStatus:
        """Stop sniffing, flush and close the file; idempotent, never raises."""
        with self._stop_lock:
            self._stopping.set()
            try:
                self._stop_sniffer()
                if self._watchdog is not None:
                    self._watchdog.join(STOP_TIMEOUT)
                with self._lock:
                    self._finish()
            except Exception:  # stop() must never raise; say what went wrong
                logger.warning("stopping the packet capture", exc_info=True)
        return self.status()

    def _open_file(self) -> None:
        self._file = create_packet_file(self.path)
        self._writer = pcapng_writer(self._file, link_type(self._socket))
        self._flush_locked()  # the header now: even an empty capture is valid

    def _start_sniffer(self) -> None:
        from scapy.sendrecv import AsyncSniffer

        self._sniffer = AsyncSniffer(
            opened_socket={self._socket: self.interface},
            prn=self._on_packet,
            store=False,
            started_callback=self._started.set,
        )
        self._sniffer.start()
        # AsyncSniffer.start() never raises: the thread either reports that it
        # sniffs or dies with the exception stored on the sniffer.
        deadline = time.monotonic() + START_TIMEOUT
        while not self._started.wait(0.02):
            if not self._sniffer.thread.is_alive() or time.monotonic() > deadline:
                break
        if self._sniffer.exception is not None or not self._started.is_set():
            raise sniffer_error(self.interface, self._sniffer.exception)
        self._running = True
        self._read_drops()  # the counters reset on read: start from zero here

    def _on_packet(self, packet: Any) -> None:
        """Write one sniffed packet (runs on the sniffer thread)."""
        with self._lock:
            if self._failure is not None or self._file is None or self._finished:
                return
            self._writer.write(packet)
            self._file.end_packet(len(packet))
            due = time.monotonic() - self._last_flush >= self._flush_interval
            if due or self._file.pending_packets >= self._flush_packets:
                self._flush_locked()

    def _watch(self) -> None:
        """Flush on time, read kernel drops, notice a sniffer that died."""
        while not self._stopping.wait(self._flush_interval / 2):
            with self._lock:
                self._read_drops()
                if self._file is not None and self._file.pending_packets:
                    self._flush_locked()
                if self._failure is None and not self._sniffer.thread.is_alive():
                    self._fail(_died_message(self.interface, self._sniffer.exception))
                failed = self._failure is not None
            if failed:
                # Join the sniffer without the lock (its callback takes it),
                # then close, so the socket is never closed under its select().
                self._stop_sniffer()
                with self._lock:
                    self._finish()
                return

    def _flush_locked(self) -> None:
        """Write buffered packets out; a failed write fails the recorder."""
        if self._file is None:
            return
        self._last_flush = time.monotonic()
        try:
            self._file.flush()
        except OSError as error:
            self._fail(write_failure(self._file, error))

    def _fail(self, message: str) -> None:
        """Record why the recorder stopped on its own and stop the sniffer."""
        if self._failure is None:
            self._failure = message
            logger.warning("packet capture stopped: %s", message)
        if self._sniffer is not None:
            self._sniffer.stop_cb()  # ends the sniff loop; safe from any thread

    def _stop_sniffer(self) -> None:
        sniffer = self._sniffer
        if sniffer is None:
            return
        try:
            sniffer.stop_cb()
        except Exception as error:  # stopping must never raise
            logger.debug("stopping the sniffer: %s", error)
        if sniffer.thread is not None:
            sniffer.thread.join(STOP_TIMEOUT)
            if sniffer.thread.is_alive():
                logger.warning("the sniffer thread on %s did not end", self.interface)

    def _finish(self) -> None:
        """Final flush, drop counts and close, once; call with the lock held."""
        if self._finished:
            return
        if self._file is not None and self._failure is None:
            self._flush_locked()
        self._read_drops()
        self._running = False
        self._finished = True
        self._close_all()

    def _close_all(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError as error:
                logger.debug("closing the capture socket: %s", error)
        if self._file is not None:
            self._file.close()

    def _read_drops(self) -> None:
        """Add the kernel's drop count since the last read (Linux only)."""
        self._dropped += read_drops(self._socket)


def _died_message(interface: str, error: BaseException | None) -> str:
    if error is not None:
        return f"capture on {interface} failed: {type(error).__name__}: {error}"
    return f"capture on {interface} ended: the interface went down or disappeared"


__all__ = [
    "PACKET_STATISTICS",
    "PCAPNG_FILE",
    "SOL_PACKET",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "PacketRecorder",
    "capture_filter",
]
