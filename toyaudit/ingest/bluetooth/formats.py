"""How Bluetooth evidence is recognised, before any of it is decoded.

The link types of the Bluetooth readers (LINKTYPE_* numbers of the pcap
registry), the magic of Android btsnoop logs and the first bytes of
``ble.jsonl``: all that ingest needs to send a file or a frame to the
Bluetooth readers, kept apart from the readers themselves, which are
imported only when a capture holds Bluetooth (:mod:`toyaudit.ingest.bluetooth`).
"""

from __future__ import annotations

import re

H4 = 187
"""BLUETOOTH_HCI_H4: an H4 packet-type byte, then the HCI packet."""
H4_WITH_PHDR = 201
"""BLUETOOTH_HCI_H4_WITH_PHDR: a 4-byte direction, then H4 (libpcap on Linux)."""
LE_LL = 251
"""BLUETOOTH_LE_LL: access address, PDU, CRC."""
LINUX_MONITOR = 254
"""BLUETOOTH_LINUX_MONITOR: adapter index and opcode, then the HCI packet."""
LE_LL_WITH_PHDR = 256
"""BLUETOOTH_LE_LL_WITH_PHDR: a 10-byte RF header, then LE_LL."""
NORDIC_BLE = 272
"""NORDIC_BLE: the nRF Sniffer's board id and UART headers, then LE_LL."""
PPI = 192
"""PPI: Per-Packet Information header; Ubertooth puts LE_LL inside as DLT 147."""

BLUETOOTH_LINKTYPES = frozenset(
    {H4, H4_WITH_PHDR, LE_LL, LINUX_MONITOR, LE_LL_WITH_PHDR, NORDIC_BLE, PPI}
)
"""Link types the Bluetooth readers decode."""

BTSNOOP_MAGIC = b"btsnoop\0"
"""The first 8 bytes of an Android btsnoop log."""

BLE_JSONL_START = re.compile(rb'(?:\xef\xbb\xbf)?\s*\{\s*"type"\s*:')
"""How a ble.jsonl file starts: an object whose first key is ``type``."""


def looks_like_ble_jsonl(name: str, head: bytes) -> bool:
    """Whether a file is ble.jsonl: by its ``.jsonl`` name or its first bytes."""
    return name.endswith(".jsonl") or BLE_JSONL_START.match(head) is not None
