"""The Bluetooth LE recorder of ``toyaudit capture``: scan, and probe the toy.

:class:`BleRecorder` records every advertisement it receives into
``ble.jsonl`` (docs/ble-jsonl.md): only the target's when one is given, or
every nearby device's, neighbours' included, when none is (the session line
says which). With ``connect`` it connects to the target once seen and probes
it without pairing (:mod:`toyaudit.capture.gatt`); it writes to the toy only
with ``allow_writes``.

bleak is asynchronous and the capture run is not, so the recorder runs its
own event loop on a thread of its own. A fresh loop per recorder also gives
it a fresh BlueZ manager: bleak keeps one per event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from pathlib import Path

from bleak import BleakScanner
from bleak.backends import BleakBackend
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from toyaudit import __version__
from toyaudit.capture.bleadverts import AdvertisementFilter
from toyaudit.capture.blejsonl import (
    FILE_NAME,
    BleJsonlWriter,
    JsonRecord,
    session_line,
)
from toyaudit.capture.bleplatform import (
    AdapterMonitor,
    BleBackend,
    check_platform,
    close_loop,
    platform_monitor,
    start_error,
)
from toyaudit.capture.gatt import GattProbe, ProbeSettings, describe
from toyaudit.capture.recorder import RecorderStatus
from toyaudit.errors import CaptureError

__all__ = ["AdapterMonitor", "BleBackend", "BleRecorder"]

logger = logging.getLogger(__name__)

STARTUP_SECONDS = 15.0
"""Longest wait for Bluetooth to start scanning before start() gives up."""
STOP_SECONDS = 6.0
"""Longest wait in stop() for the recorder's thread to finish cleanly."""
PROBE_GRACE_SECONDS = 2.0
"""How long a running probe gets to disconnect when the capture stops."""
CONNECT_ATTEMPTS = 3
"""Connections tried to the target before giving up."""
RETRY_SECONDS = 5.0
"""Wait between two connection attempts."""


class BleRecorder:
    """Records Bluetooth LE advertisements, and optionally probes the toy."""

    name = "ble"

    def __init__(
        self,
        session: Path,
        *,
        target: str | None = None,
        connect: bool = False,
        allow_writes: bool = False,
        adapter: str = "hci0",
        backend: BleBackend | None = None,
        notify_seconds: float = 5.0,
        connect_seconds: float = 20.0,
    ) -> None:
        """Record into ``session``/ble.jsonl once started.

        ``target`` is the toy's address or advertised name (case does not
        matter): only its advertisements are recorded. ``connect`` probes it
        without pairing, ``allow_writes`` lets the probe write back values it
        read. ``adapter`` names the BlueZ adapter. ``notify_seconds`` is how
        long to listen to notifications, ``connect_seconds`` how long a
        connection may take.
        """
        self.path = session / FILE_NAME
        self.target = target
        self.adapter = adapter
        self.backend = backend
        self.connect = connect
        self.settings = ProbeSettings(
            allow_writes=allow_writes,
            notify_seconds=notify_seconds,
            connect_seconds=connect_seconds,
            adapter=adapter,
            client_backend=None if backend is None else backend.client,
        )
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {"advertisements": 0, "devices": 0}
        self._adverts = AdvertisementFilter(target)
        self._failure: str | None = None
        self._running = False
        self._writer: BleJsonlWriter | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._start_error: CaptureError | None = None
        self._halt: asyncio.Future[str | None] | None = None
        self._stopping = asyncio.Event()
        """Set when the recording ends, so that a running probe winds down."""
        self._monitor: AdapterMonitor | None = None
        self._lost_task: asyncio.Future[str] | None = None
        self._probe_task: asyncio.Task[bool] | None = None
        self._attempts: list[float] = []
        self._connected = False

    # --- the Recorder protocol (called from the capture run's thread) -------

    def start(self) -> None:
        """Start scanning, or raise CaptureError naming what is missing."""
        self._check_options()
        if self._thread is not None:
            raise CaptureError("the Bluetooth recorder was already started")
        self._writer = BleJsonlWriter(self.path)
        self._thread = threading.Thread(
            target=self._run_loop, name="toyaudit-ble", daemon=True
        )
        self._thread.start()
        if not self._started.wait(STARTUP_SECONDS + 2):
            self.stop()
            self._start_error = CaptureError(
                f"Bluetooth did not start scanning within {STARTUP_SECONDS:.0f} s",
                "check that bluetoothd answers: 'bluetoothctl show'",
            )
        if self._start_error is not None:
            self._thread.join(STOP_SECONDS)
            self._writer.close()
            self.path.unlink(missing_ok=True)
            raise self._start_error
        if self.target is None:
            logger.warning(
                "no Bluetooth target given: recording the advertisements of every "
                "device in range, neighbours' too; give the toy's address or name "
                "to keep only its own"
            )
        logger.info("recording Bluetooth LE into %s", self.path)

    def status(self) -> RecorderStatus:
        """Current counts and health; cheap, thread-safe, never raises."""
        with self._lock:
            return RecorderStatus(
                name=self.name,
                counts=dict(self._counts),
                failure=self._failure,
                files=(FILE_NAME,),
                running=self._running,
            )

    def stop(self) -> RecorderStatus:
        """Stop scanning, disconnect, flush and close; idempotent, never raises."""
        thread, loop = self._thread, self._loop
        if thread is not None and thread.is_alive() and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._halt_with, None)
            thread.join(STOP_SECONDS)
            if thread.is_alive():
                logger.warning(
                    "the Bluetooth recorder did not stop within %.0f s; "
                    "ble.jsonl is closed anyway",
                    STOP_SECONDS,
                )
        if self._writer is not None:
            self._writer.close()
        with self._lock:
            self._running = False
        return self.status()

    def _check_options(self) -> None:
        if self.connect and self.target is None:
            raise CaptureError(
                "connecting over Bluetooth needs a target device",
                "give the toy's Bluetooth address or advertised name as the target",
            )
        if self.settings.allow_writes and not self.connect:
            raise CaptureError(
                "writing to the toy over Bluetooth needs a connection",
                "add --ble-connect, or leave out --ble-allow-writes",
            )

    # --- the recorder's own thread and event loop ---------------------------

    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        halt: asyncio.Future[str | None] = loop.create_future()
        self._halt = halt
        self._loop = loop
        try:
            loop.run_until_complete(self._main(halt))
        except Exception as error:  # a bug: say so rather than die silently
            logger.exception("the Bluetooth recorder failed")
            self._fail(f"the Bluetooth recorder failed: {describe(error)}")
        finally:
            close_loop(loop, bluez=self.backend is None)
            if self._writer is not None:
                self._writer.close()
            with self._lock:
                self._running = False
            self._started.set()

    async def _main(self, halt: asyncio.Future[str | None]) -> None:
        try:
            async with asyncio.timeout(STARTUP_SECONDS):
                scanner, monitor = await self._open()
        except Exception as error:
            self._start_error = start_error(error, self.adapter)
            self._started.set()
            return
        with self._lock:
            self._running = True
        self._started.set()
        try:
            reason = await halt
        finally:
            await self._close(scanner, monitor)
        if reason is not None:
            self._fail(reason)

    async def _open(self) -> tuple[BleakScanner, AdapterMonitor | None]:
        """Check Bluetooth, start the monitor, write the session line, scan."""
        if self.backend is None:
            await check_platform()
            monitor = platform_monitor(self.adapter)
        else:
            make = self.backend.monitor
            monitor = None if make is None else make(self.adapter)
        try:
            if monitor is not None:
                await monitor.open()
                self._monitor = monitor
                self._lost_task = asyncio.ensure_future(monitor.wait_lost())
                self._lost_task.add_done_callback(self._on_lost)
            scanner = BleakScanner(
                detection_callback=self._on_advertisement,
                bluez={"adapter": self.adapter},
                backend=None if self.backend is None else self.backend.scanner,
            )
            backend_id = scanner.backend_id
            if isinstance(backend_id, BleakBackend):
                backend_id = backend_id.value
            self._write_session_line(backend_id)
            await scanner.start()
        except BaseException:
            if monitor is not None:
                await monitor.close()
            raise
        return scanner, monitor

    def _write_session_line(self, backend: str) -> None:
        self._write(
            session_line(
                backend=backend,
                adapter=self.adapter,
                target=self.target,
                connect=self.connect,
                allow_writes=self.settings.allow_writes,
                notify_seconds=self.settings.notify_seconds,
                version=__version__,
            )
        )

    async def _close(
        self, scanner: BleakScanner, monitor: AdapterMonitor | None
    ) -> None:
        """Let a probe disconnect, stop scanning, stop watching; never raises."""
        probe = self._probe_task
        if probe is not None and not probe.done():
            self._stopping.set()
            done, _ = await asyncio.wait({probe}, timeout=PROBE_GRACE_SECONDS)
            if not done:
                probe.cancel()
                await asyncio.wait({probe}, timeout=PROBE_GRACE_SECONDS)
        try:
            async with asyncio.timeout(1.5):
                await scanner.stop()
        except Exception as error:  # the adapter may be gone already
            logger.debug("stopping the Bluetooth scan: %r", error)
        if self._lost_task is not None:
            self._lost_task.cancel()
        if monitor is not None:
            await monitor.close()

    # --- callbacks on the loop thread ---------------------------------------

    def _on_advertisement(
        self, device: BLEDevice, advertisement: AdvertisementData
    ) -> None:
        line = self._adverts.line(device, advertisement)
        if line is None or not self._write(line):
            return
        with self._lock:
            self._counts["advertisements"] += 1
            self._counts["devices"] = len(self._adverts.devices)
        if self.connect:
            self._maybe_probe(device)

    def _maybe_probe(self, device: BLEDevice) -> None:
        """Connect to the target when seen, unless connected or trying already."""
        if self._connected or (self._probe_task and not self._probe_task.done()):
            return
        now = time.monotonic()
        if len(self._attempts) >= CONNECT_ATTEMPTS:
            return
        if self._attempts and now - self._attempts[-1] < RETRY_SECONDS:
            return
        self._attempts.append(now)
        self._probe_task = asyncio.create_task(self._probe(device))
        self._probe_task.add_done_callback(self._probe_done)

    def _probe_done(self, task: asyncio.Task[bool]) -> None:
        """Log a probe that failed in a way the probe itself did not expect."""
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            logger.error("the Bluetooth probe failed: %s", error, exc_info=error)

    async def _probe(self, device: BLEDevice) -> bool:
        if self._writer is None:
            return False
        paired = None if self._monitor is None else self._monitor.paired
        probe = GattProbe(self._write, self.settings, self._tally, paired)
        self._connected = await probe.run(device, self._stopping)
        return self._connected

    def _write(self, line: JsonRecord) -> bool:
        """Write a line; on a write failure, end the recording with the reason."""
        writer = self._writer
        if writer is None or not writer.write(line):
            self._halt_with(None if writer is None else writer.failure)
            return False
        return True

    def _tally(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + amount

    def _on_lost(self, lost: asyncio.Future[str]) -> None:
        if not lost.cancelled():
            self._halt_with(lost.result())

    def _halt_with(self, reason: str | None) -> None:
        """End the recording: None when asked to stop, else why it failed."""
        if self._halt is not None and not self._halt.done():
            self._halt.set_result(reason)
        self._stopping.set()

    def _fail(self, reason: str) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = reason
