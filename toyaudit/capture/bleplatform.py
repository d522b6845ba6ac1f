"""Platform glue for the Bluetooth LE recorder: checks, error wording, clean-up.

What a user sees when Bluetooth is missing depends on the platform and on
how far bleak got: no D-Bus system bus (``FileNotFoundError``, not a bleak
error), no BlueZ on it (``BleakDBusError`` ``ServiceUnknown``), no adapter or
one switched off (``BleakBluetoothNotAvailableError`` and its reason, or
BlueZ's ``NotReady`` for a named adapter). :func:`start_error` turns each
into a :class:`~toyaudit.errors.CaptureError` that names the problem and the
fix (capture-notes section 3.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bleak import BleakAdapter
from bleak.backends import BleakBackend, get_default_backend
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)

from toyaudit.errors import CaptureError

logger = logging.getLogger(__name__)

_START_BLUEZ = (
    "install BlueZ ('sudo apt install bluez') and start it: "
    "'sudo systemctl start bluetooth'"
)
_POWER_ON = "switch it on: 'rfkill unblock bluetooth', then 'bluetoothctl power on'"
_PERMISSION = (
    "on Linux run as root or join the 'bluetooth' group; on macOS allow the "
    "terminal under System Settings > Privacy & Security > Bluetooth"
)
_REASONS: dict[BleakBluetoothNotAvailableReason, tuple[str, str]] = {
    BleakBluetoothNotAvailableReason.NO_BLUETOOTH: (
        "no Bluetooth adapter found",
        "plug in a Bluetooth 4.0 (LE) adapter; 'bluetoothctl list' and "
        "'rfkill list' show what the system sees",
    ),
    BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: (
        "the Bluetooth adapter cannot scan for Bluetooth LE devices",
        "use an adapter that supports Bluetooth 4.0 (LE) or newer",
    ),
    BleakBluetoothNotAvailableReason.POWERED_OFF: (
        "Bluetooth is switched off",
        _POWER_ON,
    ),
    BleakBluetoothNotAvailableReason.DENIED_BY_USER: (
        "Bluetooth access was denied",
        _PERMISSION,
    ),
    BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: (
        "Bluetooth access was denied by the system",
        _PERMISSION,
    ),
}


class AdapterMonitor(Protocol):
    """Watches the Bluetooth adapter, which bleak does not (see :mod:`.bluez`)."""

    async def open(self) -> None:
        """Check the adapter is there and on; raise CaptureError if not."""
        ...

    async def wait_lost(self) -> str:
        """Wait until the adapter is gone or off; return why, in one line."""
        ...

    async def paired(self, address: str) -> bool | None:
        """Whether the device is paired now; None when unknown."""
        ...

    async def close(self) -> None:
        """Stop watching; never raises."""
        ...


@dataclass(frozen=True, slots=True)
class BleBackend:
    """The bleak backend classes a recorder uses instead of the platform's.

    Tests inject backends that replay recorded sessions. Without one, the
    recorder uses bleak's platform backend, checked and watched with
    :mod:`.bluez` on Linux.
    """

    scanner: type[BaseBleakScanner]
    """Scanner backend class, given to ``BleakScanner(backend=...)``."""
    client: type[BaseBleakClient] | None = None
    """Client backend class, given to ``BleakClient(backend=...)``."""
    monitor: Callable[[str], AdapterMonitor] | None = None
    """Makes the adapter monitor from the adapter name; None: no watching."""


def on_bluez() -> bool:
    """Whether bleak's platform backend is BlueZ over D-Bus (Linux)."""
    try:
        return get_default_backend() is BleakBackend.BLUEZ_DBUS
    except BleakError:
        return False


async def check_platform() -> None:
    """Reach the platform's Bluetooth stack and its default adapter.

    On Linux this connects to BlueZ, so a missing bus, a missing service, no
    adapter at all and every adapter switched off fail here, before a scan.
    """
    with contextlib.suppress(NotImplementedError):  # backends without adapters
        await BleakAdapter.get()


def platform_monitor(adapter: str) -> AdapterMonitor | None:
    """The monitor for the platform's adapter; None where none exists yet."""
    if on_bluez():
        from toyaudit.capture.bluez import BlueZAdapterMonitor  # needs dbus-fast

        return BlueZAdapterMonitor(adapter)
    # TODO: only BlueZ adapters are watched: on macOS and Windows a capture
    # whose adapter is switched off goes on recording nothing and says
    # nothing; watching CoreBluetooth's and WinRT's radio state would fix it.
    return None


def start_error(error: BaseException, adapter: str) -> CaptureError:
    """The CaptureError to show for a Bluetooth recorder that could not start."""
    if isinstance(error, CaptureError):
        return error
    if isinstance(error, BleakBluetoothNotAvailableError):
        message, hint = _REASONS.get(
            error.reason, (f"Bluetooth is not available: {error.args[0]}", _POWER_ON)
        )
        return CaptureError(message, hint)
    if isinstance(error, BleakDBusError):
        return _dbus_error(error, adapter)
    if isinstance(error, TimeoutError):
        return CaptureError(
            "Bluetooth did not answer while starting the scan",
            "check that bluetoothd answers: 'bluetoothctl show'",
        )
    if isinstance(error, OSError):
        return CaptureError(
            f"the D-Bus system bus, which BlueZ uses, is not reachable ({error})",
            "start D-Bus and BlueZ: 'sudo systemctl start dbus bluetooth'; in a "
            "container, mount the host's /run/dbus/system_bus_socket",
        )
    return CaptureError(
        f"Bluetooth LE scanning could not start on {adapter}: {error}",
        "check 'bluetoothctl show'; run with -vv to see bleak's own log",
    )


def _dbus_error(error: BleakDBusError, adapter: str) -> CaptureError:
    name = error.dbus_error
    if name == "org.freedesktop.DBus.Error.ServiceUnknown":
        return CaptureError("BlueZ (bluetoothd) is not running", _START_BLUEZ)
    if name == "org.bluez.Error.NotReady":
        return CaptureError(f"Bluetooth adapter {adapter} is switched off", _POWER_ON)
    if name in (
        "org.freedesktop.DBus.Error.AccessDenied",
        "org.bluez.Error.NotAuthorized",
    ):
        return CaptureError("BlueZ refused access to Bluetooth", _PERMISSION)
    return CaptureError(
        f"BlueZ refused to scan on {adapter}: {error}",
        "check 'bluetoothctl show'; run with -vv to see bleak's own log",
    )


def close_loop(loop: asyncio.AbstractEventLoop, *, bluez: bool) -> None:
    """Finish what is left on the recorder's loop and close it; never raises."""
    try:
        if bluez and on_bluez():
            loop.run_until_complete(_release_bluez_manager(loop))
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=2))
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception as error:  # clean-up must not hide why the recorder stopped
        logger.debug("closing the Bluetooth event loop: %r", error)
    finally:
        loop.close()


async def _release_bluez_manager(loop: asyncio.AbstractEventLoop) -> None:
    """Close the D-Bus connection bleak's BlueZ manager holds for ``loop``.

    bleak keeps one manager per event loop in a module-level dict and only
    drops the managers of closed loops when a later loop asks for one, so
    the connection would outlive the capture. bleak offers no public way to
    release it; this reaches into its private names and does nothing if a
    later bleak renames them. The manager's bus watcher is cancelled first,
    else it would log that the connection to BlueZ was lost.
    """
    from bleak.backends.bluezdbus import manager as bluez_manager

    instances = getattr(bluez_manager, "_global_instances", {})
    instance = instances.pop(loop, None)
    watcher = getattr(instance, "_bus_watcher_task", None)
    if isinstance(watcher, asyncio.Task):
        watcher.cancel()
        await asyncio.wait({watcher}, timeout=1)
    bus = getattr(instance, "_bus", None)
    if bus is None:
        return
    bus.disconnect()
    for _ in range(100):  # the reader sees the socket shut and closes it
        if getattr(bus, "_disconnected", True):
            return
        await asyncio.sleep(0.01)
