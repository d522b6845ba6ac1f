"""ble.jsonl as the recorder writes it, read back by the ingest reader.

The recorder adds ``connection`` and ``characteristic`` lines to the format
(docs/ble-jsonl.md); the reader must accept them without a note, and use the
GATT table to name the characteristic of ``gatt`` lines that give only a
handle.
"""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from tests.capture.blereplay import RECORDED
from toyaudit.capture.blejsonl import (
    BleJsonlWriter,
    characteristic_line,
    connection_line,
    gatt_line,
    session_line,
)
from toyaudit.errors import CaptureError
from toyaudit.ingest.bluetooth.jsonl import read_ble_jsonl
from toyaudit.ingest.records import (
    BleAdvertisement,
    BluetoothObservation,
    Coverage,
    GattOperation,
)

TOY = "c0:ff:ee:12:34:56"
FFE1 = "0000ffe1-0000-1000-8000-00805f9b34fb"


def _write(path: Path, *lines: dict[str, object]) -> None:
    writer = BleJsonlWriter(path)
    for line in lines:
        assert writer.write(line)
    writer.close()


def _read(path: Path) -> tuple[list[BluetoothObservation], Coverage]:
    coverage = Coverage()
    with path.open("rb") as stream:
        observations = list(read_ble_jsonl(stream, path.name, coverage))
    return observations, coverage


def _session() -> dict[str, object]:
    return session_line(
        backend="bluez_dbus",
        adapter="hci0",
        target=TOY,
        connect=True,
        allow_writes=False,
        notify_seconds=5.0,
        version="0.1.0",
    )


def test_ble_jsonl_table_names_the_characteristic_of_bare_handles(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ble.jsonl"
    bare = gatt_line(TOY, "notify", (11, FFE1), b"\x01", False) | {"uuid": None}
    _write(
        path,
        _session(),
        connection_line(TOY, True, False, "connected without asking to pair"),
        characteristic_line(TOY, (10, "ffe0"), (11, FFE1), ["read", "notify"], []),
        bare,
        gatt_line("AA:BB:CC:DD:EE:FF", "notify", (11, FFE1), b"\x02", False)
        | {"uuid": None},
    )

    (mine, other), coverage = _read(path)

    assert isinstance(mine, GattOperation) and isinstance(other, GattOperation)
    assert (mine.uuid, mine.evidence.packets) == (FFE1, (4,))
    assert other.uuid is None  # another device's table is not this one's
    assert coverage.problems == []


def test_ble_jsonl_error_lines_keep_code_and_link_state(tmp_path: Path) -> None:
    path = tmp_path / "ble.jsonl"
    failure = ("read", 5, "BleakDBusError: [org.bluez.Error.NotPermitted] Not paired")
    _write(path, _session(), gatt_line(TOY, "error", (17, FFE1), b"", True, failure))

    (error,), coverage = _read(path)

    assert isinstance(error, GattOperation)
    assert (error.operation, error.error_code, error.encrypted_link) == (
        "error",
        5,
        True,
    )
    assert error.device == TOY.upper() and not error.from_central
    assert coverage.problems == []


def test_ble_jsonl_malformed_characteristic_line_is_noted(tmp_path: Path) -> None:
    path = tmp_path / "ble.jsonl"
    broken = characteristic_line(TOY, (10, "ffe0"), (11, FFE1), ["read"], [])
    _write(path, _session(), broken | {"handle": "eleven"}, broken | {"uuid": "x"})

    observations, coverage = _read(path)

    assert observations == []
    assert [note.split(":")[1].strip() for note in coverage.problems] == [
        "line 2",
        "line 3",
    ]


@pytest.mark.parametrize("name", ["bramble-bear.jsonl", "named-bear.jsonl"])
def test_ble_jsonl_recorded_sessions_read_without_notes(name: str) -> None:
    coverage = Coverage()
    content = (RECORDED / name).read_bytes()

    observations = list(read_ble_jsonl(io.BytesIO(content), name, coverage))

    assert coverage.problems == []
    adverts = [item for item in observations if isinstance(item, BleAdvertisement)]
    lines = [json.loads(text) for text in content.splitlines()]
    assert len(adverts) == sum(line["type"] == "advertisement" for line in lines)


def test_ble_jsonl_writer_creates_a_private_new_file(tmp_path: Path) -> None:
    path = tmp_path / "ble.jsonl"
    writer = BleJsonlWriter(path)
    writer.write(_session())

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == 1
    writer.close()
    writer.close()
    assert writer.write(_session()) is False
    with pytest.raises(CaptureError, match="already exists"):
        BleJsonlWriter(path)
