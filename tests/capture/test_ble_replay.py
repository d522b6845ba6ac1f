"""BleRecorder against a recorded session replayed through bleak's backend seam.

The backend (tests/capture/blereplay.py) subclasses bleak's own scanner and
client bases and replays tests/capture/recorded/bramble-bear.jsonl, so these
tests run bleak's ``BleakScanner`` and ``BleakClient`` on any platform.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)

from tests.capture.blereplay import (
    RECORDED,
    ReplayLog,
    jsonl_lines,
    replay_backend,
    wait_until,
)
from toyaudit.capture.ble import BleRecorder
from toyaudit.errors import CaptureError, ExitCode

TOY = "C0:FF:EE:12:34:56"
TV = "24:0A:C4:11:22:33"
PHONE = "5A:3B:11:C2:D4:E5"
TOY_ADVERTISEMENTS = 4
"""The toy's advertisements in the recording."""


def _uuid(short: int) -> str:
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


def _record(session: Path, **options: Any) -> ReplayLog:
    """Record the whole replayed session (and the probe, with ``connect``)."""
    backend, log = replay_backend()
    recorder = BleRecorder(session, backend=backend, notify_seconds=0.05, **options)
    recorder.start()
    try:
        wait_until(lambda: _finished(session / "ble.jsonl", options.get("connect")))
    finally:
        recorder.stop()
    return log


def _finished(path: Path, connect: bool | None) -> bool:
    """The last advertisement is in, and the probe, if any, disconnected."""
    text = path.read_text(encoding="utf-8")
    probed = "disconnected by the capture" in text or not connect
    return '"rssi": -52' in text and probed


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "session"
    folder.mkdir(mode=0o700)
    yield folder


def _of(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["type"] == kind]


def test_ble_replay_target_keeps_only_the_toys_advertisements(session: Path) -> None:
    _record(session, target=TOY.lower())

    lines = jsonl_lines(session / "ble.jsonl")
    adverts = _of(lines, "advertisement")

    assert lines[0]["type"] == "session"
    assert (lines[0]["target"], lines[0]["scope"]) == (TOY.lower(), "target only")
    assert lines[0]["backend"] == "ReplayScanner"
    assert {advert["address"] for advert in adverts} == {TOY}
    assert [advert["rssi"] for advert in adverts] == [-48, -50, -47, -52]
    first = adverts[0]
    assert first["address_type"] == "random" and first["name"] == "Bramble"
    assert first["manufacturer_data"] == {"0x0059": "0102"}
    assert first["service_data"] == {_uuid(0xFFE0): "aa"}
    assert first["service_uuids"] == [_uuid(0xFFE0)]
    assert (first["tx_power"], first["connectable"]) == (4, None)
    assert _of(lines, "gatt") == [] and _of(lines, "connection") == []


def test_ble_replay_target_by_name_ignores_case(session: Path) -> None:
    _record(session, target="BRAMBLE")

    adverts = _of(jsonl_lines(session / "ble.jsonl"), "advertisement")

    assert len(adverts) == TOY_ADVERTISEMENTS
    assert {advert["address"] for advert in adverts} == {TOY}


def test_ble_replay_without_target_records_every_device_and_says_so(
    session: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder_log = "toyaudit.capture.ble"
    with caplog.at_level("WARNING", logger=recorder_log):
        _record(session)

    lines = jsonl_lines(session / "ble.jsonl")

    assert (lines[0]["target"], lines[0]["scope"]) == (None, "every device in range")
    assert {line["address"] for line in _of(lines, "advertisement")} == {TOY, TV, PHONE}
    assert "neighbours'" in caplog.text
    assert "Bramble" not in caplog.text


def test_ble_replay_status_counts_devices_and_advertisements(session: Path) -> None:
    backend, _ = replay_backend()
    recorder = BleRecorder(session, backend=backend)
    recorder.start()
    wait_until(lambda: recorder.status().counts["advertisements"] == 7)
    running = recorder.status()
    stopped = recorder.stop()

    assert running.running and running.failure is None
    assert running.counts == {"advertisements": 7, "devices": 3}
    assert running.files == ("ble.jsonl",) and running.name == "ble"
    assert not stopped.running and stopped.counts == running.counts
    assert recorder.stop() == stopped  # idempotent


def test_ble_replay_file_is_private_and_flushed_while_running(session: Path) -> None:
    backend, _ = replay_backend()
    recorder = BleRecorder(session, backend=backend)
    recorder.start()
    try:
        wait_until(lambda: recorder.status().counts["advertisements"] == 7)
        written = jsonl_lines(session / "ble.jsonl")
        mode = stat.S_IMODE((session / "ble.jsonl").stat().st_mode)
    finally:
        recorder.stop()

    assert len(_of(written, "advertisement")) == 7
    assert mode == 0o600


def test_ble_replay_probe_records_table_reads_errors_and_notifications(
    session: Path,
) -> None:
    log = _record(session, target=TOY, connect=True)

    lines = jsonl_lines(session / "ble.jsonl")
    table = _of(lines, "characteristic")
    gatt = [(line["operation"], line["handle"]) for line in _of(lines, "gatt")]
    errors = {line["handle"]: line for line in _of(lines, "gatt") if line["error_code"]}

    assert [line["handle"] for line in table] == [3, 11, 13, 15, 17, 19, 21, 23]
    assert table[3]["properties"] == ["notify"]
    assert table[3]["descriptors"] == [{"handle": 16, "uuid": _uuid(0x2902)}]
    assert table[1]["service"] == _uuid(0xFFE0) and table[1]["service_handle"] == 10
    assert gatt == [
        ("read", 3),
        ("read", 11),
        ("read", 13),
        ("error", 17),
        ("read", 19),
        ("error", 23),
        ("notify", 15),
        ("notify", 15),
    ]
    assert bytes.fromhex(_of(lines, "gatt")[1]["value"]).endswith(b"owner=Mirabel")
    assert (errors[17]["error_code"], errors[17]["request"]) == (5, "read")
    assert errors[23]["error_code"] == 8
    assert all(line["paired"] is False for line in _of(lines, "gatt"))
    connections = _of(lines, "connection")
    assert [line["connected"] for line in connections] == [True, False]
    assert log.connections == [TOY] and log.pairings == 0
    assert log.reads == [3, 11, 13, 17, 19, 23]
    assert log.subscriptions == [15]


def test_ble_replay_without_allow_writes_nothing_is_written(session: Path) -> None:
    log = _record(session, target=TOY, connect=True)

    operations = {
        line["operation"] for line in _of(jsonl_lines(session / "ble.jsonl"), "gatt")
    }

    assert log.writes == [] and log.descriptor_writes == []
    assert "write" not in operations


def test_ble_replay_allow_writes_writes_back_the_value_read(session: Path) -> None:
    log = _record(session, target=TOY, connect=True, allow_writes=True)

    lines = _of(jsonl_lines(session / "ble.jsonl"), "gatt")
    written = [line for line in lines if line["operation"] == "write"]
    refused = [line for line in lines if line.get("request") == "write"]

    # Only the characteristics that are both readable and writable, each with
    # the value just read from it, with response; never the write-only one.
    assert log.writes == [(13, b"\x01", True), (19, b"\x00", True)]
    assert [(line["handle"], line["value"]) for line in written] == [(13, "01")]
    assert [(line["handle"], line["error_code"]) for line in refused] == [(19, 3)]
    assert log.pairings == 0


def test_ble_replay_connection_refused_is_recorded(session: Path) -> None:
    refusal = BleakError("le-connection-abort-by-remote")
    backend, log = replay_backend(connect_error=refusal)
    recorder = BleRecorder(session, backend=backend, target=TOY, connect=True)
    recorder.start()
    try:
        wait_until(lambda: len(log.connections) == 1)
        wait_until(lambda: "connection" in (session / "ble.jsonl").read_text())
    finally:
        status = recorder.stop()

    [connection] = _of(jsonl_lines(session / "ble.jsonl"), "connection")
    assert connection["connected"] is False
    assert "le-connection-abort-by-remote" in connection["detail"]
    assert status.failure is None


def test_ble_replay_adapter_lost_mid_scan_stops_with_a_failure(session: Path) -> None:
    backend, _ = replay_backend(lose_adapter_after=3)
    recorder = BleRecorder(session, backend=backend)
    recorder.start()
    wait_until(lambda: not recorder.status().running)
    status = recorder.status()

    assert status.failure == "Bluetooth adapter hci0 disappeared during the capture"
    assert status.counts["advertisements"] == 3
    lines = jsonl_lines(session / "ble.jsonl")
    assert len(_of(lines, "advertisement")) == 3
    assert recorder.stop().failure == status.failure


@pytest.mark.parametrize(
    ("error", "message", "hint"),
    [
        (
            BleakBluetoothNotAvailableError(
                "No powered Bluetooth adapters found.",
                BleakBluetoothNotAvailableReason.POWERED_OFF,
            ),
            "Bluetooth is switched off",
            "rfkill unblock bluetooth",
        ),
        (
            BleakBluetoothNotAvailableError(
                "No Bluetooth adapters found.",
                BleakBluetoothNotAvailableReason.NO_BLUETOOTH,
            ),
            "no Bluetooth adapter found",
            "bluetoothctl list",
        ),
        (
            FileNotFoundError(2, "No such file or directory"),
            "the D-Bus system bus, which BlueZ uses, is not reachable",
            "systemctl start dbus bluetooth",
        ),
        (
            BleakDBusError(
                "org.freedesktop.DBus.Error.ServiceUnknown",
                ["The name org.bluez was not provided by any .service files"],
            ),
            "BlueZ (bluetoothd) is not running",
            "apt install bluez",
        ),
        (
            BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]),
            "Bluetooth adapter hci0 is switched off",
            "bluetoothctl power on",
        ),
    ],
)
def test_ble_replay_start_failure_names_the_fix(
    session: Path, error: BaseException, message: str, hint: str
) -> None:
    backend, _ = replay_backend(start_error=error)
    recorder = BleRecorder(session, backend=backend)

    with pytest.raises(CaptureError) as raised:
        recorder.start()

    assert raised.value.message.startswith(message)
    assert hint in raised.value.hint
    assert raised.value.exit_code == ExitCode.CAPTURE
    assert not (session / "ble.jsonl").exists()
    assert not recorder.stop().running


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"connect": True}, "connecting over Bluetooth needs a target device"),
        ({"allow_writes": True, "target": TOY}, "writing to the toy over Bluetooth"),
    ],
)
def test_ble_replay_options_that_cannot_work_are_refused(
    session: Path, options: dict[str, Any], message: str
) -> None:
    backend, log = replay_backend()

    with pytest.raises(CaptureError, match=message):
        BleRecorder(session, backend=backend, **options).start()

    assert not (session / "ble.jsonl").exists() and log.connections == []


def test_ble_replay_never_overwrites_evidence(session: Path) -> None:
    (session / "ble.jsonl").write_text("earlier\n", encoding="utf-8")
    backend, _ = replay_backend()

    with pytest.raises(CaptureError, match="already exists"):
        BleRecorder(session, backend=backend).start()

    assert (session / "ble.jsonl").read_text(encoding="utf-8") == "earlier\n"


def test_ble_replay_recording_exists() -> None:
    assert (RECORDED / "bramble-bear.jsonl").is_file()


def _swap_for_dev_full(path: Path) -> None:
    """Make the open ble.jsonl behave like a full disk, as the kernel would."""
    for link in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            if Path(os.readlink(link)) == path:
                full = os.open("/dev/full", os.O_WRONLY)
                os.dup2(full, int(link.name))
                os.close(full)
                return
    raise AssertionError(f"{path} is not open")


def test_ble_replay_full_disk_stops_with_a_failure(session: Path) -> None:
    backend, _ = replay_backend(gap=0.2)
    recorder = BleRecorder(session, backend=backend)
    recorder.start()
    wait_until(lambda: recorder.status().counts["advertisements"] >= 1)

    _swap_for_dev_full(session / "ble.jsonl")
    wait_until(lambda: not recorder.status().running)
    status = recorder.stop()

    assert status.failure == "cannot write ble.jsonl: No space left on device"
    written = _of(jsonl_lines(session / "ble.jsonl"), "advertisement")
    assert 1 <= status.counts["advertisements"] == len(written) < 7


@pytest.mark.parametrize("hang", ["stop", "connect"])
def test_ble_replay_stop_returns_even_when_bluetooth_hangs(
    session: Path, hang: str
) -> None:
    backend, log = replay_backend(hang=hang)
    recorder = BleRecorder(session, backend=backend, target=TOY, connect=True)
    recorder.start()
    wait_until(lambda: len(log.connections) == 1)

    began = time.monotonic()
    status = recorder.stop()

    assert time.monotonic() - began < 5
    assert not status.running and status.failure is None
    lines = jsonl_lines(session / "ble.jsonl")
    assert lines[0]["type"] == "session" and _of(lines, "advertisement")
