"""Write ``ble.jsonl``: the Bluetooth LE log of a live capture (docs/ble-jsonl.md).

One JSON object a line: a ``session`` line first, then ``advertisement``,
``connection``, ``characteristic`` and ``gatt`` lines in the order things
happened. Every line is flushed as soon as it is written, so a crash or a
vanished adapter loses nothing already seen. The file is created for the
owner only (mode 0600) and never overwritten: a capture does not append to
evidence it did not write.

The writer is shared by the scanner and the GATT probe, which run on the
recorder's event loop thread, and by :meth:`close`, which the capture run
may call from its own thread; a lock keeps lines whole.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from toyaudit.errors import CaptureError
from toyaudit.files import PRIVATE_FILE_MODE

logger = logging.getLogger(__name__)

FILE_NAME = "ble.jsonl"
"""The file's name in the session folder."""
FORMAT = 1
"""The ``format`` written in the session line; readers refuse higher ones."""

JsonRecord = dict[str, Any]


class BleJsonlWriter:
    """Appends lines to a new ``ble.jsonl`` and flushes each one.

    A failed write (a full disk, a removed folder) does not raise: the error
    is kept in :attr:`failure` and later lines are dropped, so the recorder
    can stop on its own and say why.
    """

    def __init__(self, path: Path) -> None:
        """Create ``path``, private to the owner; it must not exist yet."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            handle = os.open(path, flags, PRIVATE_FILE_MODE)
        except FileExistsError as error:
            raise CaptureError(
                f"{path} already exists",
                "capture into a new session folder; toyaudit never overwrites evidence",
            ) from error
        except OSError as error:
            raise CaptureError(
                f"cannot create {path}: {error.strerror}",
                "check that the session folder exists and is writable",
            ) from error
        self.path = path
        self._stream = os.fdopen(handle, "w", encoding="utf-8")
        self._lock = threading.Lock()
        self._closed = False
        self.lines = 0
        """Lines written so far."""
        self.failure: str | None = None
        """Why writing stopped, one line; None while writing works."""

    def write(self, record: Mapping[str, Any]) -> bool:
        """Write one line and flush it; False when the file is closed or broken."""
        text = json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n"
        with self._lock:
            if self._closed or self.failure is not None:
                return False
            try:
                self._stream.write(text)
                self._stream.flush()
            except OSError as error:
                self.failure = f"cannot write {self.path.name}: {error.strerror}"
                logger.warning("%s", self.failure)
                return False
            self.lines += 1
            return True

    def close(self) -> None:
        """Flush and close; idempotent, never raises."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._stream.close()
            except OSError as error:
                self.failure = self.failure or f"cannot close {self.path.name}: {error}"
                logger.warning("%s", self.failure)


def session_line(
    *,
    backend: str,
    adapter: str,
    target: str | None,
    connect: bool,
    allow_writes: bool,
    notify_seconds: float,
    version: str,
) -> JsonRecord:
    """The first line: what wrote the file and what the capture was allowed to do."""
    return {
        "type": "session",
        "tool": "toyaudit",
        "format": FORMAT,
        "started": time.time(),
        "toyaudit_version": version,
        "backend": backend,
        "adapter": adapter,
        "target": target,
        "scope": "target only" if target else "every device in range",
        "connect": connect,
        "allow_writes": allow_writes,
        "notify_seconds": notify_seconds,
    }


def advertisement_line(
    address: str,
    address_type: str | None,
    name: str | None,
    manufacturer_data: Mapping[int, bytes],
    service_data: Mapping[str, bytes],
    service_uuids: Sequence[str],
    signal: tuple[int | None, int | None, bool | None],
) -> JsonRecord:
    """An ``advertisement`` line; ``signal`` is (RSSI, TX power, connectable)."""
    rssi, tx_power, connectable = signal
    line: JsonRecord = {
        "type": "advertisement",
        "time": time.time(),
        "address": address.upper(),
    }
    if address_type is not None:
        line["address_type"] = address_type
    line.update(
        {
            "name": name,
            "manufacturer_data": {
                f"0x{company:04x}": bytes(value).hex()
                for company, value in sorted(manufacturer_data.items())
            },
            "service_data": {
                uuid: bytes(value).hex() for uuid, value in sorted(service_data.items())
            },
            "service_uuids": sorted(service_uuids),
            "rssi": rssi,
            "connectable": connectable,
            "tx_power": tx_power,
        }
    )
    return line


def connection_line(
    device: str, connected: bool, paired: bool, detail: str = ""
) -> JsonRecord:
    """A ``connection`` line: a connection made, refused, lost or closed."""
    line: JsonRecord = {
        "type": "connection",
        "time": time.time(),
        "device": device.upper(),
        "connected": connected,
        "paired": paired,
    }
    if detail:
        line["detail"] = detail
    return line


def characteristic_line(
    device: str,
    service: tuple[int, str],
    characteristic: tuple[int, str],
    properties: Sequence[str],
    descriptors: Sequence[tuple[int, str]],
) -> JsonRecord:
    """A ``characteristic`` line of the GATT table: (handle, UUID) pairs."""
    return {
        "type": "characteristic",
        "time": time.time(),
        "device": device.upper(),
        "service_handle": service[0],
        "service": service[1],
        "handle": characteristic[0],
        "uuid": characteristic[1],
        "properties": list(properties),
        "descriptors": [
            {"handle": handle, "uuid": uuid} for handle, uuid in sorted(descriptors)
        ],
    }


def gatt_line(
    device: str,
    operation: str,
    characteristic: tuple[int, str],
    value: bytes,
    paired: bool,
    failure: tuple[str, int | None, str] | None = None,
) -> JsonRecord:
    """A ``gatt`` line; ``failure`` is (request, ATT error code, detail) for errors."""
    handle, uuid = characteristic
    line: JsonRecord = {
        "type": "gatt",
        "time": time.time(),
        "device": device.upper(),
        "operation": operation,
        "handle": handle,
        "uuid": uuid,
        "value": bytes(value).hex(),
        "error_code": None if failure is None else failure[1],
        "paired": paired,
    }
    if failure is not None:
        line["request"] = failure[0]
        line["detail"] = failure[2]
    return line
