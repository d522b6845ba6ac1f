"""Hopscotch the Bluetooth Bunny: a toy that only speaks Bluetooth LE.

Written as ``ble.jsonl`` (docs/ble-jsonl.md), the file ``toyaudit capture``
writes. The bunny advertises a name the app gave it after the child and its
serial number in manufacturer data (as text, and its MAC as raw bytes); the
app writes Wi-Fi credentials, the child's profile and a login token to GATT
characteristics, and reads the serial back. A neighbour's headphones and the
bunny's own set-up name are decoys.
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.corpus import encode
from benchmarks.corpus.book import Wire
from benchmarks.corpus.encode import b64, plain
from benchmarks.corpus.family import unicast_mac
from benchmarks.corpus.toybase import START, Seed, ToyCapture, decoy, pii

LOG = "ble.jsonl"
_COMPANY = 0xFFFF
"""Bluetooth SIG's company identifier reserved for tests: no real vendor."""
_PROFILE_SERVICE = "0000fe10-0000-1000-8000-00805f9b34fb"


class BleLog:
    """The lines of a ``ble.jsonl`` file; each labelled line is one message."""

    def __init__(self, toy: ToyCapture) -> None:
        self._toy = toy
        self._lines: list[str] = []
        self._clock = START.timestamp() + 3000
        self.add(
            {
                "type": "session",
                "tool": "toyaudit",
                "format": 1,
                "started": self._clock,
                "backend": "bluez",
                "adapter": "hci0",
            }
        )

    def add(self, record: dict[str, Any], message: str | None = None) -> None:
        """Append one record; ``message`` ties its line number to the labels."""
        self._clock += 0.75
        if record["type"] != "session":
            record = {"type": record["type"], "time": round(self._clock, 3), **record}
        self._lines.append(json.dumps(record, separators=(", ", ": ")))
        if message is not None:
            self._toy.evidence[message] = (LOG, (len(self._lines),))

    def content(self) -> bytes:
        """The file's bytes: one JSON object a line."""
        return ("\n".join(self._lines) + "\n").encode("utf-8")


def capture(toy: ToyCapture) -> None:
    """Write the bunny's BLE log: advertisements, then a GATT session."""
    log = BleLog(toy)
    _advertisements(toy, log)
    _provisioning(toy, log)
    _profile_write(toy, log)
    _token_write(toy, log)
    _reads(toy, log)
    toy.files[LOG] = log.content()


def _advertisement(
    address: str, name: str, manufacturer: bytes = b""
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "advertisement",
        "address": address.upper(),
        "address_type": "public",
        "name": name,
    }
    if manufacturer:
        record["manufacturer_data"] = {f"0x{_COMPANY:04x}": manufacturer.hex()}
    record.update(
        {"service_uuids": [_PROFILE_SERVICE], "rssi": -58, "connectable": True}
    )
    return record


def _advertisements(toy: ToyCapture, log: BleLog) -> None:
    family, profile = toy.family, toy.profile
    address = profile.mac
    message = toy.message()
    name = f"{family.child_first}'s Bunny"
    toy.plant(
        message,
        pii("child-name", encode.embedded(family.child_first, name)),
        "ble advertisement",
        "BLE advertised name",
    )
    toy.plant(
        message,
        pii("device-id", profile.serial),
        "ble advertisement",
        "BLE manufacturer data",
    )
    log.add(_advertisement(address, name, profile.serial.encode()), message)

    message = toy.message()
    raw = bytes.fromhex(profile.mac.replace(":", ""))
    toy.plant(
        message,
        pii("mac-address", Wire(profile.mac, profile.mac, ("raw-bytes",))),
        "ble advertisement",
        "BLE manufacturer data",
    )
    toy.plant(
        message,
        decoy("child-name", "Hopscotch-Setup", "the bunny's own name before set-up"),
        "ble advertisement",
        "BLE advertised name",
    )
    log.add(_advertisement(address, "Hopscotch-Setup", b"\x02\x01" + raw), message)

    message = toy.message()
    toy.plant(
        message,
        decoy("child-name", "Pixel 8", "the parent's phone model"),
        "ble advertisement",
        "BLE advertised name",
    )
    log.add(_advertisement(unicast_mac(toy.rng), "Pixel 8"), message)

    message = toy.message()
    toy.plant(
        message,
        decoy("child-name", "Bose QC Earbuds", "a neighbour's headphones, not the toy"),
        "ble advertisement",
        "BLE advertised name",
    )
    log.add(_advertisement(unicast_mac(toy.rng), "Bose QC Earbuds"), message)


def _gatt(
    device: str, handle: int, value: bytes, operation: str = "write"
) -> dict[str, Any]:
    return {
        "type": "gatt",
        "device": device.upper(),
        "operation": operation,
        "handle": handle,
        "uuid": f"0000fe{handle:02x}-0000-1000-8000-00805f9b34fb",
        "value": value.hex(),
        "error_code": None,
        "paired": False,
    }


def _write_json(
    toy: ToyCapture, log: BleLog, handle: int, document: dict[str, Any]
) -> None:
    message = toy.message()
    text = toy.json_body(
        message,
        document,
        ("json",),
        "ble gatt",
        f"GATT value (handle 0x{handle:04x}) JSON field",
    )
    log.add(_gatt(toy.profile.mac, handle, text.encode()), message)


def _provisioning(toy: ToyCapture, log: BleLog) -> None:
    """Wi-Fi credentials written to the bunny in JSON, then in base64."""
    family = toy.family
    _write_json(
        toy,
        log,
        0x21,
        {
            "ssid": pii("wifi-network", family.ssid),
            "pass": pii("wifi-password", family.wifi_password),
            "security": decoy("wifi-password", "wpa2", "the kind of security"),
        },
    )
    message = toy.message()
    credentials = b64(plain(f"{family.ssid}\n{family.wifi_password}"))
    for category, value in (
        ("wifi-network", family.ssid),
        ("wifi-password", family.wifi_password),
    ):
        wire = Wire(credentials.text, value, ("base64", "newline-separated"))
        toy.plant(
            message, pii(category, wire), "ble gatt", "GATT value (handle 0x0022)"
        )
    log.add(_gatt(toy.profile.mac, 0x22, credentials.text.encode()), message)


def _profile_write(toy: ToyCapture, log: BleLog) -> None:
    """The child's profile as ``KEY:value;`` text, as small firmwares parse it."""
    family, message = toy.family, toy.message()
    compact = encode.date_notations(family.birthdate)["date-compact"]
    fields: list[tuple[str, Seed]] = [
        ("NAME", pii("child-name", family.child_first)),
        ("DOB", pii("child-birthdate", encode.respelled(compact, "date-compact"))),
        ("SEX", pii("child-gender", family.gender[0].upper())),
        ("EMAIL", pii("email-address", family.email)),
        ("PHONE", pii("phone-number", encode.respelled(family.e164, "e164"))),
    ]
    text = ";".join(f"{key}:{seed.wire.text}" for key, seed in fields)
    for key, seed in fields:
        toy.plant(message, seed, "ble gatt", f"GATT value (handle 0x0023) '{key}'")
    log.add(_gatt(toy.profile.mac, 0x23, text.encode()), message)


def _token_write(toy: ToyCapture, log: BleLog) -> None:
    """The app hands the bunny its cloud login token."""
    message = toy.message()
    account = f"hh-{toy.rng.randint(1000, 9999)}"
    token = encode.jwt({"sub": account, "aud": "bunny"})
    toy.plant(
        message, pii("access-token", token), "ble gatt", "GATT value (handle 0x0024)"
    )
    toy.plant(
        message,
        pii("account-id", account),
        "ble gatt",
        "GATT value (handle 0x0024), JWT claim 'sub'",
        ("jwt", "base64url", "json"),
    )
    log.add(_gatt(toy.profile.mac, 0x24, f"TOKEN {token}".encode()), message)


def _reads(toy: ToyCapture, log: BleLog) -> None:
    """The app reads the serial (text) and the battery level (one byte)."""
    message = toy.message()
    toy.plant(
        message,
        pii("device-id", toy.profile.serial),
        "ble gatt",
        "GATT value (handle 0x0030)",
    )
    log.add(_gatt(toy.profile.mac, 0x30, toy.profile.serial.encode(), "read"), message)
    log.add(_gatt(toy.profile.mac, 0x31, bytes([87]), "read"))
    for handle, category, value, note in (
        (0x33, "device-id", toy.profile.model, "the model number string"),
        (0x34, "child-name", toy.profile.vendor, "the manufacturer name string"),
    ):
        message = toy.message()
        toy.plant(
            message,
            decoy(category, value, note),
            "ble gatt",
            f"GATT value (handle 0x{handle:04x})",
        )
        log.add(_gatt(toy.profile.mac, handle, value.encode(), "read"), message)
    status = {"battery": "87", "hops_today": "412"}
    message = toy.message()
    text = toy.json_body(
        message,
        {
            "battery": pii("usage-telemetry", status["battery"]),
            "hops_today": pii("usage-telemetry", status["hops_today"]),
        },
        ("json",),
        "ble gatt",
        "GATT value (handle 0x0032) JSON field",
    )
    log.add(_gatt(toy.profile.mac, 0x32, text.encode(), "notify"), message)
