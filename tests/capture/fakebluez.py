"""A fake BlueZ (``org.bluez``) on a private D-Bus, for bleak's real Linux code.

bleak's BlueZ backend talks to ``bluetoothd`` over the D-Bus system bus. The
tests start their own ``dbus-daemon``, point
``DBUS_SYSTEM_BUS_ADDRESS`` at it and run :class:`FakeBlueZ` there: a small
``org.bluez`` that answers the calls bleak makes (doc/org.bluez.*.rst of
BlueZ 5.66): the object manager, ``Adapter1`` discovery, ``Device1``
connection, and ``GattCharacteristic1`` reads, writes and notifications,
with the signals BlueZ sends (``InterfacesAdded``, ``InterfacesRemoved``,
``PropertiesChanged``). Errors are BlueZ's own: ``NotReady`` from a powered
off adapter, ``NotPermitted`` "Not paired" from a protected characteristic.

The fake runs on its own thread and event loop; the test drives it with
thread-safe methods and reads back the calls it received. The devices it
serves are described in tests/capture/bletoys.py, the private bus is
started by tests/capture/blebus.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from tests.capture.bletoys import FakeCharacteristic, FakeDevice, FakeService

BLUEZ = "org.bluez"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
SERVICE = "org.bluez.GattService1"
CHARACTERISTIC = "org.bluez.GattCharacteristic1"
DESCRIPTOR = "org.bluez.GattDescriptor1"
PROPERTIES = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
NOT_READY = ("org.bluez.Error.NotReady", "Resource Not Ready")

Objects = dict[str, dict[str, dict[str, Variant]]]


@dataclass(frozen=True)
class Call:
    """A method call the fake received: member, object path and any bytes."""

    member: str
    path: str
    value: bytes | None = None


class FakeBlueZ:
    """``org.bluez`` with one adapter (or none) and scripted devices."""

    def __init__(
        self,
        bus_address: str,
        devices: tuple[FakeDevice, ...] = (),
        adapter: str | None = "hci0",
        powered: bool = True,
        other_adapters: tuple[str, ...] = (),
    ) -> None:
        """Devices advertise through ``adapter``; ``other_adapters`` are on, idle."""
        self.bus_address = bus_address
        self.adapter_path = f"/org/bluez/{adapter}" if adapter else None
        self.devices = {self._device_path(device): device for device in devices}
        self.objects: Objects = {
            f"/org/bluez/{name}": {ADAPTER: _adapter(name, True)}
            for name in other_adapters
        }
        if self.adapter_path is not None:
            self.objects[self.adapter_path] = {ADAPTER: _adapter(adapter, powered)}
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._bus: MessageBus | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # --- controls, called from the test's thread -----------------------------

    def start(self) -> None:
        """Own ``org.bluez`` on the bus; return once it answers."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._connect(), self._loop).result(5)

    def stop(self) -> None:
        """Leave the bus and end the thread."""
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._disconnect(), self._loop).result(
                    2
                )
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(2)
        if not self._loop.is_running():
            self._loop.close()

    def remove_adapter(self) -> None:
        """Unplug the adapter: BlueZ removes its devices, then the adapter."""
        self._loop.call_soon_threadsafe(self._unplug)

    def power_off(self) -> None:
        """Switch the adapter off, as ``rfkill block bluetooth`` would."""
        if self.adapter_path is not None:
            off = {"Powered": Variant("b", False)}
            self._loop.call_soon_threadsafe(
                self._change, self.adapter_path, ADAPTER, off
            )

    def calls(self, member: str | None = None) -> list[Call]:
        """The calls received so far, all of them or those of one method."""
        with self._lock:
            return [call for call in self._calls if member in (None, call.member)]

    # --- the bus, on the fake's own loop -------------------------------------

    async def _connect(self) -> None:
        bus = MessageBus(bus_address=self.bus_address)
        await bus.connect()
        bus.add_message_handler(self._handle)
        await bus.request_name(BLUEZ)
        self._bus = bus

    async def _disconnect(self) -> None:
        if self._bus is not None:
            self._bus.disconnect()
            await self._bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

    def _handle(self, message: Message) -> Message | None:
        if message.message_type != MessageType.METHOD_CALL:
            return None
        path, member = message.path or "", message.member or ""
        value = _bytes_argument(message)
        with self._lock:
            self._calls.append(Call(member, path, value))
        try:
            body = self._dispatch(message.interface or "", member, path, message.body)
        except FakeBlueZError as error:
            return Message.new_error(message, error.name, error.text)
        if body is None:
            return Message.new_method_return(message)
        return Message.new_method_return(message, body[0], body[1])

    def _dispatch(
        self, interface: str, member: str, path: str, arguments: list[Any]
    ) -> tuple[str, list[Any]] | None:
        if (interface, member) == (OBJECT_MANAGER, "GetManagedObjects"):
            return "a{oa{sa{sv}}}", [self.objects]
        if path not in self.objects:
            raise FakeBlueZError("org.freedesktop.DBus.Error.UnknownObject", path)
        if interface == PROPERTIES:
            return self._properties(member, path, arguments)
        handler = self._methods().get((interface, member))
        if handler is None:
            raise FakeBlueZError(
                "org.freedesktop.DBus.Error.UnknownMethod", f"{interface}.{member}"
            )
        result: tuple[str, list[Any]] | None = handler(path, arguments)
        return result

    def _methods(self) -> dict[tuple[str, str], Any]:
        return {
            (ADAPTER, "SetDiscoveryFilter"): self._set_discovery_filter,
            (ADAPTER, "StartDiscovery"): self._start_discovery,
            (ADAPTER, "StopDiscovery"): self._stop_discovery,
            (DEVICE, "Connect"): self._connect_device,
            (DEVICE, "Disconnect"): self._disconnect_device,
            (DEVICE, "Pair"): self._pair,
            (CHARACTERISTIC, "ReadValue"): self._read_value,
            (CHARACTERISTIC, "WriteValue"): self._write_value,
            (CHARACTERISTIC, "StartNotify"): self._start_notify,
            (CHARACTERISTIC, "StopNotify"): self._stop_notify,
        }

    def _properties(
        self, member: str, path: str, arguments: list[Any]
    ) -> tuple[str, list[Any]] | None:
        interface = self.objects[path].get(arguments[0], {})
        if member == "GetAll":
            return "a{sv}", [interface]
        if member == "Get" and arguments[1] in interface:
            return "v", [interface[arguments[1]]]
        if member == "Set":
            self._change(path, arguments[0], {arguments[1]: arguments[2]})
            return None
        raise FakeBlueZError("org.freedesktop.DBus.Error.InvalidArgs", str(arguments))

    # --- org.bluez.Adapter1 ---------------------------------------------------

    def _set_discovery_filter(self, path: str, _: list[Any]) -> None:
        self._require_powered(path)

    def _start_discovery(self, path: str, _: list[Any]) -> None:
        self._require_powered(path)
        self._change(path, ADAPTER, {"Discovering": Variant("b", True)})
        for number, device_path in enumerate(self.devices):
            self._loop.call_later(0.02 * (number + 1), self._advertise, device_path, 0)

    def _stop_discovery(self, path: str, _: list[Any]) -> None:
        self._require_powered(path)
        self._change(path, ADAPTER, {"Discovering": Variant("b", False)})

    def _require_powered(self, path: str) -> None:
        if not self.objects[path][ADAPTER]["Powered"].value:
            raise FakeBlueZError(*NOT_READY)

    def _advertise(self, device_path: str, number: int) -> None:
        """Add the device (first advertisement), then change its RSSI."""
        device = self.devices[device_path]
        if self.adapter_path is None or self.adapter_path not in self.objects:
            return
        rssi = Variant("n", device.rssi[number])
        if number == 0:
            self._add(device_path, {DEVICE: _device(device, self.adapter_path)})
        elif device_path in self.objects:
            self._change(device_path, DEVICE, {"RSSI": rssi})
        if number + 1 < len(device.rssi):
            self._loop.call_later(0.02, self._advertise, device_path, number + 1)

    def _unplug(self) -> None:
        for path in sorted(self.objects, reverse=True):
            if path != self.adapter_path:
                self._remove(path)
        if self.adapter_path is not None:
            self._remove(self.adapter_path)

    # --- org.bluez.Device1 ------------------------------------------------------

    def _connect_device(self, path: str, _: list[Any]) -> None:
        self._change(path, DEVICE, {"Connected": Variant("b", True)})
        for service in self.devices[path].services:
            self._add_service(path, service)
        self._change(path, DEVICE, {"ServicesResolved": Variant("b", True)})

    def _disconnect_device(self, path: str, _: list[Any]) -> None:
        for child in sorted(self.objects, reverse=True):
            if child.startswith(f"{path}/"):
                self._remove(child)
        changed = {"ServicesResolved": Variant("b", False)}
        self._change(path, DEVICE, changed | {"Connected": Variant("b", False)})

    def _pair(self, path: str, _: list[Any]) -> None:
        raise FakeBlueZError("org.bluez.Error.AuthenticationFailed", "no agent")

    def _add_service(self, device_path: str, service: FakeService) -> None:
        service_path = f"{device_path}/service{service.handle:04x}"
        self._add(
            service_path,
            {
                SERVICE: {
                    "UUID": Variant("s", service.uuid),
                    "Device": Variant("o", device_path),
                    "Primary": Variant("b", True),
                }
            },
        )
        for characteristic in service.characteristics:
            path = f"{service_path}/char{characteristic.handle:04x}"
            self._add(
                path, {CHARACTERISTIC: _characteristic(characteristic, service_path)}
            )
            for handle, uuid in characteristic.descriptors:
                descriptor = {
                    "UUID": Variant("s", uuid),
                    "Characteristic": Variant("o", path),
                }
                self._add(f"{path}/desc{handle:04x}", {DESCRIPTOR: descriptor})

    # --- org.bluez.GattCharacteristic1 ----------------------------------------

    def _read_value(self, path: str, _: list[Any]) -> tuple[str, list[Any]]:
        characteristic = self._characteristic(path)
        if characteristic.read_error is not None:
            raise FakeBlueZError(*characteristic.read_error)
        return "ay", [characteristic.value]

    def _write_value(self, path: str, _: list[Any]) -> None:
        if "write" not in self._characteristic(path).flags:
            raise FakeBlueZError("org.bluez.Error.NotPermitted", "Write not permitted")

    def _start_notify(self, path: str, _: list[Any]) -> None:
        self._change(path, CHARACTERISTIC, {"Notifying": Variant("b", True)})
        for number, value in enumerate(self._characteristic(path).notifications):
            changed = {"Value": Variant("ay", value)}
            self._loop.call_later(
                0.02 * (number + 1), self._change, path, CHARACTERISTIC, changed
            )

    def _stop_notify(self, path: str, _: list[Any]) -> None:
        self._change(path, CHARACTERISTIC, {"Notifying": Variant("b", False)})

    def _characteristic(self, path: str) -> FakeCharacteristic:
        handle = int(path[-4:], 16)
        device = self.devices[path.rsplit("/", 2)[0]]
        for service in device.services:
            for characteristic in service.characteristics:
                if characteristic.handle == handle:
                    return characteristic
        raise FakeBlueZError("org.freedesktop.DBus.Error.UnknownObject", path)

    # --- objects and signals ----------------------------------------------------

    def _add(self, path: str, interfaces: dict[str, dict[str, Variant]]) -> None:
        self.objects[path] = interfaces
        self._signal(
            "/", OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}", [path, interfaces]
        )

    def _remove(self, path: str) -> None:
        interfaces = list(self.objects.pop(path, {}))
        self._signal(
            "/", OBJECT_MANAGER, "InterfacesRemoved", "oas", [path, interfaces]
        )

    def _change(self, path: str, interface: str, changed: dict[str, Variant]) -> None:
        if path not in self.objects:
            return
        self.objects[path][interface].update(changed)
        self._signal(
            path, PROPERTIES, "PropertiesChanged", "sa{sv}as", [interface, changed, []]
        )

    def _signal(
        self, path: str, interface: str, member: str, signature: str, body: list[Any]
    ) -> None:
        if self._bus is not None and self._bus.connected:
            self._bus.send(Message.new_signal(path, interface, member, signature, body))

    def _device_path(self, device: FakeDevice) -> str:
        return f"{self.adapter_path}/dev_{device.address.replace(':', '_')}"


class FakeBlueZError(Exception):
    """A D-Bus error the fake answers a call with."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(name, text)
        self.name = name
        self.text = text


def _adapter(name: str | None, powered: bool) -> dict[str, Variant]:
    return {
        "Address": Variant("s", "00:1A:7D:DA:71:13"),
        "AddressType": Variant("s", "public"),
        "Name": Variant("s", f"fake-{name}"),
        "Alias": Variant("s", f"fake-{name}"),
        "Powered": Variant("b", powered),
        "Discovering": Variant("b", False),
        "Roles": Variant("as", ["central", "peripheral"]),
    }


def _device(device: FakeDevice, adapter_path: str) -> dict[str, Variant]:
    alias = device.name or device.address.replace(":", "-")
    properties = {
        "Address": Variant("s", device.address),
        "AddressType": Variant("s", device.address_type),
        "Alias": Variant("s", alias),
        "Adapter": Variant("o", adapter_path),
        "Paired": Variant("b", False),
        "Bonded": Variant("b", False),
        "Trusted": Variant("b", False),
        "Connected": Variant("b", False),
        "ServicesResolved": Variant("b", False),
        "RSSI": Variant("n", device.rssi[0]),
        "UUIDs": Variant("as", sorted(service.uuid for service in device.services)),
        "ManufacturerData": Variant(
            "a{qv}",
            {
                key: Variant("ay", value)
                for key, value in device.manufacturer_data.items()
            },
        ),
        "ServiceData": Variant(
            "a{sv}",
            {key: Variant("ay", value) for key, value in device.service_data.items()},
        ),
    }
    if device.name is not None:
        properties["Name"] = Variant("s", device.name)
    if device.tx_power is not None:
        properties["TxPower"] = Variant("n", device.tx_power)
    return properties


def _characteristic(
    characteristic: FakeCharacteristic, service_path: str
) -> dict[str, Variant]:
    return {
        "UUID": Variant("s", characteristic.uuid),
        "Service": Variant("o", service_path),
        "Value": Variant("ay", b""),
        "Notifying": Variant("b", False),
        "Flags": Variant("as", list(characteristic.flags)),
        "MTU": Variant("q", 23),
    }


def _bytes_argument(message: Message) -> bytes | None:
    if message.body and isinstance(message.body[0], bytes | bytearray):
        return bytes(message.body[0])
    return None
