"""Watch a BlueZ adapter over D-Bus while bleak scans with it.

bleak reports neither an adapter that vanishes (a USB dongle pulled out,
``bluetoothd`` stopped) nor one switched off while scanning: advertisements
simply stop coming. This monitor keeps its own connection to the system bus
and listens to what BlueZ announces (``org.bluez`` D-Bus API,
doc/org.bluez.Adapter.rst): ``InterfacesRemoved`` for the adapter's object,
``PropertiesChanged`` of its ``Powered`` property, and the ``org.bluez``
name losing its owner. It also checks, before the scan starts, that the
adapter the user named exists and is powered, and answers whether a device
is paired, which BlueZ may do on its own when a protected characteristic is
read and a pairing agent is running.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from toyaudit.errors import CaptureError

logger = logging.getLogger(__name__)

BLUEZ = "org.bluez"
ADAPTER_INTERFACE = "org.bluez.Adapter1"
DEVICE_INTERFACE = "org.bluez.Device1"
_BUS = "org.freedesktop.DBus"
_PROPERTIES = "org.freedesktop.DBus.Properties"
_OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
_POWER_ON_HINT = (
    "switch it on: 'rfkill unblock bluetooth', then 'bluetoothctl power on'"
)


class BlueZAdapterMonitor:
    """Checks one BlueZ adapter before a scan and notices when it goes away."""

    def __init__(self, adapter: str) -> None:
        """Watch the adapter named ``adapter`` (``hci0``)."""
        self.adapter = adapter
        self.path = f"/org/bluez/{adapter}"
        self._bus: MessageBus | None = None
        self._lost: asyncio.Future[str] | None = None

    async def open(self) -> None:
        """Connect, check the adapter exists and is powered, start listening.

        Raises CaptureError naming the adapter and the fix. The caller has
        already reached BlueZ through bleak, so a missing bus or service is
        reported there first.
        """
        self._lost = asyncio.get_running_loop().create_future()
        bus = MessageBus(bus_type=BusType.SYSTEM)
        try:
            await bus.connect()
        except OSError as error:
            raise CaptureError(
                f"cannot reach the D-Bus system bus to watch {self.adapter}: {error}",
                "start D-Bus and bluetoothd: 'sudo systemctl start bluetooth'",
            ) from error
        self._bus = bus
        bus.add_message_handler(self._on_message)
        for rule in self._rules():
            await self._call(_BUS, "/org/freedesktop/DBus", _BUS, "AddMatch", "s", rule)
        objects = await self._call(BLUEZ, "/", _OBJECT_MANAGER, "GetManagedObjects")
        self._check_adapter(objects.body[0])
        disconnected = bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
        bus_gone = asyncio.ensure_future(disconnected)
        bus_gone.add_done_callback(self._on_bus_gone)

    def _rules(self) -> list[str]:
        signal = f"type='signal',sender='{BLUEZ}'"
        return [
            f"{signal},interface='{_OBJECT_MANAGER}',member='InterfacesRemoved'",
            f"{signal},interface='{_PROPERTIES}',member='PropertiesChanged',"
            f"path='{self.path}'",
            f"type='signal',sender='{_BUS}',interface='{_BUS}',"
            f"member='NameOwnerChanged',arg0='{BLUEZ}'",
        ]

    def _check_adapter(self, objects: dict[str, dict[str, dict[str, Variant]]]) -> None:
        adapters = sorted(
            path.rsplit("/", 1)[-1]
            for path, interfaces in objects.items()
            if ADAPTER_INTERFACE in interfaces
        )
        if self.path not in objects or ADAPTER_INTERFACE not in objects[self.path]:
            present = ", ".join(adapters) if adapters else "none"
            raise CaptureError(
                f"Bluetooth adapter {self.adapter} not found (adapters present: "
                f"{present})",
                "plug the adapter in, or capture with one that is present; "
                "'bluetoothctl list' shows them",
            )
        powered = objects[self.path][ADAPTER_INTERFACE].get("Powered")
        if powered is None or not powered.value:
            raise CaptureError(
                f"Bluetooth adapter {self.adapter} is switched off", _POWER_ON_HINT
            )

    async def wait_lost(self) -> str:
        """Wait until the adapter is gone or switched off; return why, one line."""
        if self._lost is None:
            raise RuntimeError("open() the monitor before waiting on it")
        return await asyncio.shield(self._lost)

    async def paired(self, address: str) -> bool | None:
        """Whether BlueZ has the device paired; None when it cannot say."""
        if self._bus is None:
            return None
        device = f"{self.path}/dev_{address.upper().replace(':', '_')}"
        try:
            reply = await self._call(
                BLUEZ, device, _PROPERTIES, "Get", "ss", DEVICE_INTERFACE, "Paired"
            )
        except CaptureError:
            return None
        value = reply.body[0].value if reply.body else None
        return value if isinstance(value, bool) else None

    async def close(self) -> None:
        """Disconnect from the bus; never raises."""
        bus, self._bus = self._bus, None
        if bus is None:
            return
        bus.disconnect()
        try:
            async with asyncio.timeout(1):
                await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
        except (TimeoutError, OSError, EOFError) as error:
            logger.debug("D-Bus monitor disconnect: %r", error)

    async def _call(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        *body: Any,
    ) -> Message:
        if self._bus is None:
            raise RuntimeError("open() the monitor before calling BlueZ")
        reply = await self._bus.call(
            Message(
                destination=destination,
                path=path,
                interface=interface,
                member=member,
                signature=signature,
                body=list(body),
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise CaptureError(
                f"BlueZ refused {member} on {path}: {reply.error_name} "
                f"{' '.join(str(part) for part in reply.body)}".strip(),
                "check that bluetoothd is running: 'systemctl status bluetooth'",
            )
        return reply

    def _on_message(self, message: Message) -> None:
        if message.message_type != MessageType.SIGNAL:
            return
        if message.member == "InterfacesRemoved":
            path, interfaces = message.body
            if path == self.path and ADAPTER_INTERFACE in interfaces:
                self._lose(
                    f"Bluetooth adapter {self.adapter} disappeared during the "
                    "capture (unplugged or reset); what was seen until then is kept"
                )
        elif message.member == "PropertiesChanged" and message.path == self.path:
            interface, changed, _ = message.body
            powered = changed.get("Powered")
            if interface == ADAPTER_INTERFACE and powered is not None:
                if not powered.value:
                    self._lose(
                        f"Bluetooth adapter {self.adapter} was switched off during "
                        "the capture; what was seen until then is kept"
                    )
        elif message.member == "NameOwnerChanged" and message.body[2] == "":
            self._lose(
                f"bluetoothd stopped during the capture, taking adapter "
                f"{self.adapter} with it; what was seen until then is kept"
            )

    def _on_bus_gone(self, gone: asyncio.Future[None]) -> None:
        if not gone.cancelled() and gone.exception() is not None:
            logger.debug("D-Bus monitor connection ended: %r", gone.exception())
        if self._bus is not None:
            self._lose(
                "the D-Bus system bus went away during the capture, so adapter "
                f"{self.adapter} can no longer be used; what was seen until then "
                "is kept"
            )

    def _lose(self, reason: str) -> None:
        if self._lost is not None and not self._lost.done():
            logger.warning("%s", reason)
            self._lost.set_result(reason)
