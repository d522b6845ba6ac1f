"""The scripted Bluetooth LE world of the fake BlueZ: devices and their GATT tables.

Described once here and served by tests/capture/fakebluez.py: what each
device advertises, and for the toy, each characteristic's value, the error
BlueZ answers a read with, and the notifications it sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NOT_PAIRED = ("org.bluez.Error.NotPermitted", "Not paired")
"""What BlueZ answers for ATT 0x05, 0x0F and 0x0C (src/gatt-client.c)."""


def uuid16(short: int) -> str:
    """A 16-bit UUID on the Bluetooth Base UUID, as BlueZ writes it."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


@dataclass(frozen=True)
class FakeCharacteristic:
    """One characteristic: its value, or the error BlueZ answers a read with."""

    handle: int
    uuid: str
    flags: tuple[str, ...]
    value: bytes = b""
    read_error: tuple[str, str] | None = None
    notifications: tuple[bytes, ...] = ()
    descriptors: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class FakeService:
    """A primary service and its characteristics."""

    handle: int
    uuid: str
    characteristics: tuple[FakeCharacteristic, ...]


@dataclass(frozen=True)
class FakeDevice:
    """A device that advertises as soon as discovery starts."""

    address: str
    address_type: str
    name: str | None
    rssi: tuple[int, ...] = (-60,)
    """One advertisement per value: the first adds the device, the others
    change its RSSI, which bleak reports as new advertisements."""
    tx_power: int | None = None
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    services: tuple[FakeService, ...] = ()


BRAMBLE = FakeDevice(
    address="C0:FF:EE:12:34:56",
    address_type="random",
    name="Bramble",
    rssi=(-48, -50, -52),
    tx_power=4,
    manufacturer_data={0x0059: b"\x01\x02"},
    service_data={uuid16(0xFFE0): b"\xaa"},
    services=(
        FakeService(
            0x000A,
            uuid16(0xFFE0),
            (
                FakeCharacteristic(
                    0x000B, uuid16(0xFFE1), ("read",), b"Bramble owner=Mirabel"
                ),
                FakeCharacteristic(0x000D, uuid16(0xFFE2), ("read", "write"), b"\x01"),
                FakeCharacteristic(
                    0x000F,
                    uuid16(0xFFE3),
                    ("notify",),
                    notifications=(b"\x10\x20", b"\x30"),
                    descriptors=((0x0010, uuid16(0x2902)),),
                ),
                FakeCharacteristic(
                    0x0011, uuid16(0xFFE4), ("read",), read_error=NOT_PAIRED
                ),
            ),
        ),
    ),
)
"""The invented toy: a random static address, a readable characteristic that
names the fake child, a writable one, one that notifies and one that BlueZ
refuses to read without pairing."""

NEIGHBOUR = FakeDevice(
    address="24:0A:C4:11:22:33",
    address_type="public",
    name="Living Room TV",
    rssi=(-71, -73),
)
"""A neighbour's device, which a targeted capture must leave out."""
