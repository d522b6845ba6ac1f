"""Bluetooth LE readers: every Bluetooth capture becomes the same observations.

Three ways in, one set of records (:class:`~toyaudit.ingest.records.BleAdvertisement`,
:class:`~toyaudit.ingest.records.GattOperation`,
:class:`~toyaudit.ingest.records.BlePairing`,
:class:`~toyaudit.ingest.records.BleEncryption`):

* pcap and pcapng frames of a Bluetooth link type (:data:`BLUETOOTH_LINKTYPES`)
  go through a :class:`BluetoothDecoder`, one per file;
* Android btsnoop logs go through :func:`read_btsnoop`;
* ``ble.jsonl`` from ``toyaudit capture`` goes through :func:`read_ble_jsonl`.

User-visible limits: only Bluetooth LE is read, not BR/EDR ("classic")
traffic such as the headset profiles some toys use; link-layer captures show
nothing of a connection once it is encrypted, unless the sniffer decrypted
it; LE audio (isochronous channels), periodic advertising and the secondary
channels of extended advertising are not read from sniffer captures (an HCI
log shows extended advertisements whole). Long reads (Read Blob) come out as
one GATT read per part. ``ble.jsonl`` is specified in docs/ble-jsonl.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from toyaudit.ingest.bluetooth.formats import (
    BLUETOOTH_LINKTYPES,
    BTSNOOP_MAGIC,
    looks_like_ble_jsonl,
)

if TYPE_CHECKING:
    from toyaudit.ingest.bluetooth.btsnoop import read_btsnoop
    from toyaudit.ingest.bluetooth.decoder import BluetoothDecoder
    from toyaudit.ingest.bluetooth.jsonl import read_ble_jsonl

__all__ = [
    "BLUETOOTH_LINKTYPES",
    "BTSNOOP_MAGIC",
    "BluetoothDecoder",
    "looks_like_ble_jsonl",
    "read_ble_jsonl",
    "read_btsnoop",
]

_READERS = {
    "BluetoothDecoder": "decoder",
    "read_btsnoop": "btsnoop",
    "read_ble_jsonl": "jsonl",
}
"""The readers, by the module that holds them."""


def __getattr__(name: str) -> object:
    """A reader, imported when first asked for: most captures hold no Bluetooth,
    and the readers' modules take a noticeable part of toyaudit's start-up."""
    module = _READERS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
