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
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import re
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

from toyaudit.capture.recorder import RecorderStatus
from toyaudit.errors import CaptureError

logger = logging.getLogger(__name__)

PCAPNG_FILE = "traffic.pcapng"
"""Name of the packet file in the session folder."""
SOL_PACKET = 263
"""Linux socket level of AF_PACKET options (linux/socket.h)."""
PACKET_STATISTICS = 6
"""getsockopt option returning ``struct tpacket_stats`` (linux/if_packet.h)."""
START_TIMEOUT = 2.0
"""Seconds to wait for the sniffer thread to report that it runs."""
STOP_TIMEOUT = 2.0
"""Seconds :meth:`PacketRecorder.stop` waits for each thread before giving up."""
_MAC = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")


def capture_filter(toy: str, companion: str | None = None) -> str:
    """Return the BPF filter selecting the toy's packets (and the companion's).

    Each address is a MAC (``ether host``) or an IPv4/IPv6 address (``host``).
    Raises :class:`CaptureError` for anything else.
    """
    terms = [_host_term(address) for address in (toy, companion) if address]
    return " or ".join(terms)


def _host_term(address: str) -> str:
    text = address.strip().lower()
    if _MAC.match(text):
        return f"ether host {text.replace('-', ':')}"
    try:
        return f"host {ipaddress.ip_address(text)}"
    except ValueError:
        raise CaptureError(
            f"device address {address!r} is neither a MAC nor an IP address",
            "give the toy as a MAC (aa:bb:cc:dd:ee:ff) or an IP address",
        ) from None


class _PacketFile:
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
        self._file: _PacketFile | None = None
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
        _require_interface(self.interface)
        logger.debug("packet filter on %s: %s", self.interface, self.bpf)
        self._socket = _open_socket(self.interface, self.bpf)
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
        from scapy.data import DLT_EN10MB
        from scapy.utils import PcapNgWriter

        try:
            self._file = _PacketFile(self.path)
        except OSError as error:
            raise CaptureError(
                f"cannot create {self.path}: {error.strerror}",
                "check that the session folder exists, is writable and is new",
            ) from error
        # PcapNgWriter only takes a file name; it writes its blocks into our
        # _PacketFile instead, which creates the file private and keeps packet
        # boundaries. The header goes out now, so even an empty capture is a
        # valid pcapng file.
        self._writer = PcapNgWriter(os.devnull)
        self._writer.f.close()
        self._writer.f = self._file
        self._writer.linktype = _link_type(self._socket, DLT_EN10MB)
        self._writer.write_header(None)
        self._file.end_packet(None)
        self._flush_locked()

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
            raise _sniffer_error(self.interface, self._sniffer.exception)
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
            self._fail(_write_failure(self._file, error))

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
        if sys.platform != "linux" or self._socket is None:
            # TODO: read BIOCGSTATS on macOS; until then the user is not told
            # about packets the kernel dropped there.
            return
        try:
            raw = self._socket.ins.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        except (OSError, AttributeError, ValueError):
            return  # closed by scapy after a socket failure
        _seen, dropped = struct.unpack("II", raw)
        self._dropped += dropped


def _require_interface(interface: str) -> None:
    try:
        socket.if_nametoindex(interface)
    except OSError:
        raise CaptureError(
            f"network interface {interface!r} does not exist",
            "check its name with 'ip link' (Linux) or 'ifconfig' (macOS); for a "
            "hotspot it is the Wi-Fi interface the toy joined, e.g. wlan0",
        ) from None


def _open_socket(interface: str, bpf: str) -> Any:
    """Open scapy's listening socket with the filter attached."""
    import scapy.layers.l2  # noqa: F401  (registers Ethernet for the link type)
    from scapy.data import ETH_P_ALL
    from scapy.interfaces import resolve_iface

    try:
        listen = resolve_iface(interface).l2listen()
        return listen(iface=interface, type=ETH_P_ALL, filter=bpf)
    except Exception as error:  # scapy raises plain Exceptions; sorted below
        raise _sniffer_error(interface, error) from error


def _link_type(capture_socket: Any, default: int) -> int:
    from scapy.config import conf

    link_layer: Any = getattr(capture_socket, "LL", None)
    return int(conf.l2types.layer2num.get(link_layer, default))


def _sniffer_error(interface: str, error: BaseException | None) -> CaptureError:
    """Turn what scapy raised into a CaptureError with the fix."""
    text = str(error)
    if isinstance(error, PermissionError):
        return CaptureError(
            f"no permission to capture packets on {interface} (CAP_NET_RAW missing)",
            "run toyaudit capture with sudo; or grant cap_net_raw+eip with "
            "setcap, but only to a private copy of the Python interpreter, "
            "since every script that interpreter runs gets the right",
        )
    if "libpcap" in text:
        return CaptureError(
            f"cannot filter packets on {interface}: libpcap is not available",
            "install libpcap (Debian/Ubuntu: apt-get install libpcap0.8; "
            "Fedora: dnf install libpcap)",
        )
    if isinstance(error, OSError) and error.errno in (errno.ENODEV, errno.ENXIO):
        return CaptureError(
            f"network interface {interface!r} disappeared or is not usable",
            "check it with 'ip link' and that the hotspot is running",
        )
    return CaptureError(
        f"cannot capture on {interface}: {type(error).__name__}: {text}",
        "run again with -v for details; check the interface with 'ip link'",
    )


def _died_message(interface: str, error: BaseException | None) -> str:
    if error is not None:
        return f"capture on {interface} failed: {type(error).__name__}: {error}"
    return f"capture on {interface} ended: the interface went down or disappeared"


def _write_failure(packet_file: _PacketFile, error: OSError) -> str:
    kept = f"the file keeps the first {packet_file.stored_packets} packets"
    if error.errno == errno.ENOSPC:
        return f"disk full while writing {packet_file.path.name}; {kept}"
    return f"write error ({error.strerror}) on {packet_file.path.name}; {kept}"
