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

from toyaudit.ingest.bluetooth.btsnoop import BTSNOOP_MAGIC, read_btsnoop
from toyaudit.ingest.bluetooth.decoder import BluetoothDecoder
from toyaudit.ingest.bluetooth.headers import BLUETOOTH_LINKTYPES
from toyaudit.ingest.bluetooth.jsonl import looks_like_ble_jsonl, read_ble_jsonl

__all__ = [
    "BLUETOOTH_LINKTYPES",
    "BTSNOOP_MAGIC",
    "BluetoothDecoder",
    "looks_like_ble_jsonl",
    "read_ble_jsonl",
    "read_btsnoop",
]
