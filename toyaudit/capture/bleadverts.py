"""Which advertisements the Bluetooth LE recorder keeps, as ``ble.jsonl`` lines.

Household privacy comes first: with a target (the toy's address or
advertised name) only the target's advertisements are kept; without one,
every device's is, and the session line says so. Repeats are thinned out:
BlueZ reports every change of a device's D-Bus properties (connected,
services resolved) as an advertisement, and a busy scan repeats the same
advertisement many times a second, so an unchanged one is kept at most once
every :data:`REPEAT_SECONDS`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from toyaudit.capture.blejsonl import JsonRecord, advertisement_line

logger = logging.getLogger(__name__)

REPEAT_SECONDS = 1.0
"""An advertisement identical to the device's previous one is kept at most
this often."""


class AdvertisementFilter:
    """Keeps the target's advertisements (or all), minus quick repeats."""

    def __init__(self, target: str | None) -> None:
        """Keep only ``target``'s advertisements: an address or a name, any case."""
        self.target = target
        self.devices: set[str] = set()
        """Addresses of the devices whose advertisements were kept."""
        self._target_addresses: set[str] = set()
        self._last_kept: dict[str, tuple[tuple[str, ...], float]] = {}

    def line(
        self, device: BLEDevice, advertisement: AdvertisementData
    ) -> JsonRecord | None:
        """The ``advertisement`` line to write, or None to leave it out."""
        if not self.wanted(device, advertisement):
            return None
        # TODO: "connectable" is written as unknown: BlueZ does not expose the
        # advertising PDU type, so a parent cannot tell from ble.jsonl alone
        # whether the toy invites connections (a connection line, with
        # --ble-connect, does). WinRT's advertisement type and CoreBluetooth's
        # kCBAdvDataIsConnectable carry it and could fill it on those platforms.
        line = advertisement_line(
            device.address,
            address_type_of(device, advertisement),
            advertisement.local_name,
            advertisement.manufacturer_data,
            advertisement.service_data,
            advertisement.service_uuids,
            (advertisement.rssi, advertisement.tx_power, None),
        )
        if not self._fresh(line):
            return None
        self.devices.add(line["address"])
        return line

    def wanted(self, device: BLEDevice, advertisement: AdvertisementData) -> bool:
        """Whether an advertisement is the target's (any is, without a target).

        Once an address has carried the target's name, its advertisements
        without the name (some toys send it only in scan responses) count too.
        """
        if self.target is None:
            return True
        address = device.address.upper()
        if address == self.target.upper() or address in self._target_addresses:
            return True
        wanted = self.target.casefold()
        for name in (advertisement.local_name, device.name):
            if name is not None and name.casefold() == wanted:
                logger.debug("the target advertises from %s", address)
                self._target_addresses.add(address)
                return True
        return False

    def _fresh(self, line: Mapping[str, Any]) -> bool:
        """Whether the line differs from the device's last one, or is due again."""
        content = tuple(
            json.dumps(value, sort_keys=True)
            for key, value in line.items()
            if key != "time"
        )
        address, now = line["address"], time.monotonic()
        last = self._last_kept.get(address)
        if last is not None and last[0] == content and now - last[1] < REPEAT_SECONDS:
            return False
        self._last_kept[address] = (content, now)
        return True


def address_type_of(device: BLEDevice, advertisement: AdvertisementData) -> str | None:
    """The address type the platform reports, when it does (``public``, ``random``).

    bleak has no portable field (capture-notes section 3.1): BlueZ puts the
    device's D-Bus properties, ``AddressType`` among them, in the
    advertisement's platform data and the device details. macOS hides
    addresses altogether, so nothing is written there.
    """
    for properties in (_platform_properties(advertisement), _device_properties(device)):
        kind = properties.get("AddressType")
        if isinstance(kind, str):
            return kind
    return None


def _platform_properties(advertisement: AdvertisementData) -> Mapping[str, Any]:
    platform = advertisement.platform_data
    if len(platform) >= 2 and isinstance(platform[1], Mapping):
        return platform[1]
    return {}


def _device_properties(device: BLEDevice) -> Mapping[str, Any]:
    details = device.details
    if isinstance(details, Mapping) and isinstance(details.get("props"), Mapping):
        properties: Mapping[str, Any] = details["props"]
        return properties
    return {}
