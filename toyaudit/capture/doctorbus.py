"""The doctor's Bluetooth probes: the D-Bus system bus, BlueZ and its adapter.

On Linux, bleak reaches Bluetooth through BlueZ (``org.bluez``) on the D-Bus
system bus. These probes check each link of that chain in turn: a socket
that accepts a connection, BlueZ owning its name on the bus, and an adapter
BlueZ knows that is powered. They take the bus address as an argument, so
tests run them against a private dbus-daemon. The other probes and
:func:`~.doctor.run_doctor`, which calls these, are in :mod:`.doctor`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any
from urllib.parse import unquote

from toyaudit.capture.doctorrecords import Check, Feature

logger = logging.getLogger(__name__)

DEFAULT_SYSTEM_BUS = "unix:path=/var/run/dbus/system_bus_socket"


def check_bluetooth(system_bus: str | None, timeout: float = 2.0) -> list[Check]:
    """Check the system bus, BlueZ and the adapter, in that order.

    ``system_bus`` is the D-Bus address (``None``: see
    :func:`system_bus_address`). Without a bus, the other two are failed
    checks saying they were not checked.
    """
    address = system_bus_address(system_bus)
    bus = check_system_bus(address)
    if not bus.ok:
        skipped = "not checked: no D-Bus system bus"
        return [bus, _bluez_check(False, skipped), _adapter_check(None, skipped)]
    return [bus, *check_bluez(address, timeout)]


def system_bus_address(given: str | None = None) -> str:
    """The D-Bus system bus address: given, from the environment, or standard."""
    return given or os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or DEFAULT_SYSTEM_BUS


def _unix_socket_path(address: str) -> str | None:
    """The socket path of the first ``unix:`` address (abstract ones start \\0)."""
    for one in address.split(";"):
        transport, _, params = one.partition(":")
        if transport != "unix":
            continue
        keys = dict(part.partition("=")[::2] for part in params.split(","))
        if "path" in keys:
            return unquote(keys["path"])
        if "abstract" in keys:
            return "\0" + unquote(keys["abstract"])
    return None


def check_system_bus(address: str) -> Check:
    """Can we connect to the D-Bus system bus socket (BlueZ lives there)?"""
    name, needs = "D-Bus system bus", (Feature.BLE,)
    fix = "start D-Bus: systemctl start dbus (containers: apt-get install dbus)"
    path = _unix_socket_path(address)
    if path is None:
        return Check(name, False, needs, f"no unix socket in {address}", fix)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError as error:
            detail = f"cannot connect to {path.lstrip(chr(0))}: {error.strerror}"
            return Check(name, False, needs, detail, fix)
    return Check(name, True, needs, f"reachable at {path.lstrip(chr(0))}")


def check_bluez(address: str, timeout: float = 2.0) -> list[Check]:
    """Is BlueZ (``org.bluez``) on the bus, with a powered adapter?

    Returns two checks: BlueZ, then the adapter.
    """
    try:
        owner, adapters = asyncio.run(_ask_bluez(address, timeout))
    except Exception as error:  # whatever the bus does wrong is the finding
        detail = f"no answer from the bus: {type(error).__name__} {error}".strip()
        return [_bluez_check(False, detail), _adapter_check(None, "not checked")]
    if owner is None:
        detail = "org.bluez is not on the system bus"
        return [_bluez_check(False, detail), _adapter_check(None, "not checked")]
    return [_bluez_check(True, f"running ({owner})"), _adapter_check(adapters, "")]


def _bluez_check(ok: bool, detail: str) -> Check:
    fix = "apt-get install bluez; systemctl start bluetooth"
    return Check("BlueZ", ok, (Feature.BLE,), detail, "" if ok else fix)


def _adapter_check(adapters: dict[str, bool] | None, detail: str) -> Check:
    name, needs = "Bluetooth adapter", (Feature.BLE,)
    fix = "plug in an adapter; rfkill unblock bluetooth; bluetoothctl power on"
    fix_macos = "turn Bluetooth on in System Settings"
    if not adapters:
        found = detail or "no adapter known to BlueZ"
        return Check(name, False, needs, found, fix, fix_macos)
    powered = [path.rsplit("/", 1)[-1] for path, on in sorted(adapters.items()) if on]
    if not powered:
        return Check(name, False, needs, "powered off", fix, fix_macos)
    return Check(name, True, needs, f"{', '.join(powered)} powered")


async def _ask_bluez(
    address: str, timeout: float
) -> tuple[str | None, dict[str, bool]]:
    """Return org.bluez's unique name (None if absent) and adapter → powered."""
    from dbus_fast import BusType, Message, MessageType
    from dbus_fast.aio import MessageBus

    bus = MessageBus(bus_address=address, bus_type=BusType.SYSTEM)
    ask = "org.freedesktop.DBus"
    try:
        await asyncio.wait_for(bus.connect(), timeout)
        owner = await asyncio.wait_for(bus.call(Message(
            destination=ask, path="/org/freedesktop/DBus", interface=ask,
            member="GetNameOwner", signature="s", body=["org.bluez"],
        )), timeout)  # fmt: skip
        if owner.message_type == MessageType.ERROR:
            return None, {}
        objects = await asyncio.wait_for(bus.call(Message(
            destination="org.bluez", path="/",
            interface=f"{ask}.ObjectManager", member="GetManagedObjects",
        )), timeout)  # fmt: skip
        if objects.message_type == MessageType.ERROR:
            raise ValueError(f"GetManagedObjects: {objects.error_name}")
        return str(owner.body[0]), _adapters(objects.body[0])
    finally:
        bus.disconnect()


def _adapters(objects: dict[str, dict[str, dict[str, Any]]]) -> dict[str, bool]:
    """Adapter object paths → Powered, from BlueZ's managed objects."""
    adapters: dict[str, bool] = {}
    for path, interfaces in objects.items():
        adapter = interfaces.get("org.bluez.Adapter1")
        if adapter is not None:
            powered = adapter.get("Powered")
            adapters[path] = bool(getattr(powered, "value", False))
    return adapters
