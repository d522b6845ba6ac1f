"""BleRecorder on bleak's real Linux code path, against a fake BlueZ on a private bus.

Each test starts its own ``dbus-daemon``, points ``DBUS_SYSTEM_BUS_ADDRESS``
at it for the length of the test only, and runs the fake ``org.bluez`` of
tests/capture/fakebluez.py there (capture-notes sections 3.2 and 3.3). The
recorder runs unmodified: bleak's BlueZ scanner and client, and toyaudit's
own D-Bus adapter monitor. Every recorder has its own event loop, so each
also gets its own bleak BlueZ manager; the recorder releases it on stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.capture.blebus import private_bus
from tests.capture.blereplay import jsonl_lines, wait_until
from tests.capture.bletoys import BRAMBLE, NEIGHBOUR, uuid16
from tests.capture.fakebluez import FakeBlueZ
from toyaudit.capture.ble import BleRecorder
from toyaudit.errors import CaptureError

TOY = BRAMBLE.address
StartBlueZ = Callable[..., FakeBlueZ]


@pytest.fixture
def system_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private bus standing in for the system bus, for this test only."""
    with private_bus() as address:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
        yield address


@pytest.fixture
def start_bluez(system_bus: str) -> Iterator[StartBlueZ]:
    """Start a fake BlueZ on the private bus; every one is stopped afterwards."""
    started: list[FakeBlueZ] = []

    def start(**options: Any) -> FakeBlueZ:
        options.setdefault("devices", (BRAMBLE, NEIGHBOUR))
        fake = FakeBlueZ(system_bus, **options)
        started.append(fake)
        fake.start()
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def session(tmp_path: Path) -> Path:
    folder = tmp_path / "session"
    folder.mkdir(mode=0o700)
    return folder


def _of(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["type"] == kind]


def _capture(session: Path, until: str, **options: Any) -> BleRecorder:
    """Record until ``until`` appears in ble.jsonl, then stop."""
    recorder = BleRecorder(session, notify_seconds=0.2, **options)
    recorder.start()
    try:
        path = session / "ble.jsonl"
        wait_until(lambda: until in path.read_text(encoding="utf-8"))
    finally:
        recorder.stop()
    return recorder


def test_ble_bluez_scan_connect_enumerate_and_read(
    start_bluez: StartBlueZ, session: Path
) -> None:
    bluez = start_bluez()

    recorder = _capture(
        session, "disconnected by the capture", target="bramble", connect=True
    )

    lines = jsonl_lines(session / "ble.jsonl")
    adverts = _of(lines, "advertisement")
    gatt = _of(lines, "gatt")
    assert lines[0]["backend"] == "bluez_dbus" and lines[0]["adapter"] == "hci0"
    assert {advert["address"] for advert in adverts} == {TOY}
    assert adverts[0]["address_type"] == "random"
    assert adverts[0]["manufacturer_data"] == {"0x0059": "0102"}
    assert adverts[0]["tx_power"] == 4 and adverts[0]["rssi"] == -48
    table = _of(lines, "characteristic")
    assert [(line["handle"], line["properties"]) for line in table] == [
        (11, ["read"]),
        (13, ["read", "write"]),
        (15, ["notify"]),
        (17, ["read"]),
    ]
    assert table[2]["descriptors"] == [{"handle": 16, "uuid": uuid16(0x2902)}]
    assert [(line["operation"], line["handle"]) for line in gatt] == [
        ("read", 11),
        ("read", 13),
        ("error", 17),
        ("notify", 15),
        ("notify", 15),
    ]
    assert bytes.fromhex(gatt[0]["value"]) == b"Bramble owner=Mirabel"
    assert [line["value"] for line in gatt[3:]] == ["1020", "30"]
    assert all(line["paired"] is False for line in gatt)
    assert bluez.calls("Pair") == [] and bluez.calls("WriteValue") == []
    counts = recorder.status().counts
    assert (counts["gatt reads"], counts["read errors"], counts["devices"]) == (2, 1, 1)


def test_ble_bluez_protected_characteristic_is_an_att_error(
    start_bluez: StartBlueZ, session: Path
) -> None:
    start_bluez()

    _capture(session, "disconnected by the capture", target=TOY, connect=True)

    [error] = [
        line
        for line in _of(jsonl_lines(session / "ble.jsonl"), "gatt")
        if line["error_code"]
    ]
    # BlueZ says "Not paired" for ATT 0x05, 0x0F and 0x0C alike: written as 0x05.
    assert (error["handle"], error["error_code"], error["request"]) == (17, 5, "read")
    assert "org.bluez.Error.NotPermitted" in error["detail"]
    assert error["value"] == "" and error["paired"] is False


def test_ble_bluez_allow_writes_writes_back_only_what_was_read(
    start_bluez: StartBlueZ, session: Path
) -> None:
    bluez = start_bluez()

    _capture(
        session,
        "disconnected by the capture",
        target=TOY,
        connect=True,
        allow_writes=True,
    )

    writes = [(call.path[-8:], call.value) for call in bluez.calls("WriteValue")]
    assert writes == [("char000d", b"\x01")]
    gatt = _of(jsonl_lines(session / "ble.jsonl"), "gatt")
    assert [
        (line["handle"], line["value"]) for line in gatt if line["operation"] == "write"
    ] == [(13, "01")]
    assert bluez.calls("Pair") == []


def test_ble_bluez_without_target_records_the_neighbours_too(
    start_bluez: StartBlueZ, session: Path
) -> None:
    start_bluez()

    _capture(session, '"rssi": -73')

    lines = jsonl_lines(session / "ble.jsonl")
    addresses = {line["address"]: line for line in _of(lines, "advertisement")}
    assert set(addresses) == {TOY, NEIGHBOUR.address}
    assert addresses[NEIGHBOUR.address]["address_type"] == "public"
    assert lines[0]["scope"] == "every device in range"


def test_ble_bluez_no_adapter(start_bluez: StartBlueZ, session: Path) -> None:
    start_bluez(adapter=None)

    with pytest.raises(CaptureError) as raised:
        BleRecorder(session).start()

    assert raised.value.message == "no Bluetooth adapter found"
    assert "bluetoothctl list" in raised.value.hint
    assert not (session / "ble.jsonl").exists()


def test_ble_bluez_named_adapter_missing(
    start_bluez: StartBlueZ, session: Path
) -> None:
    start_bluez()

    with pytest.raises(CaptureError) as raised:
        BleRecorder(session, adapter="hci1").start()

    assert raised.value.message == (
        "Bluetooth adapter hci1 not found (adapters present: hci0)"
    )
    assert "bluetoothctl list" in raised.value.hint


def test_ble_bluez_adapter_powered_off(start_bluez: StartBlueZ, session: Path) -> None:
    bluez = start_bluez(powered=False)

    with pytest.raises(CaptureError) as raised:
        BleRecorder(session).start()

    assert raised.value.message == "Bluetooth is switched off"
    assert "rfkill unblock bluetooth" in raised.value.hint
    assert "bluetoothctl power on" in raised.value.hint
    assert bluez.calls("StartDiscovery") == []


def test_ble_bluez_named_adapter_off_while_another_is_on(
    start_bluez: StartBlueZ, session: Path
) -> None:
    start_bluez(powered=False, other_adapters=("hci1",))

    with pytest.raises(CaptureError) as raised:
        BleRecorder(session).start()

    assert raised.value.message == "Bluetooth adapter hci0 is switched off"
    assert "bluetoothctl power on" in raised.value.hint


def test_ble_bluez_not_running(system_bus: str, session: Path) -> None:
    with pytest.raises(CaptureError) as raised:
        BleRecorder(session).start()

    assert raised.value.message == "BlueZ (bluetoothd) is not running"
    assert "systemctl start bluetooth" in raised.value.hint


def test_ble_bluez_no_system_bus(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, session: Path
) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")

    with pytest.raises(CaptureError) as raised:
        BleRecorder(session).start()

    assert raised.value.message.startswith("the D-Bus system bus, which BlueZ uses")
    assert "No such file or directory" in raised.value.message


def test_ble_bluez_adapter_removed_mid_scan(
    start_bluez: StartBlueZ, session: Path
) -> None:
    bluez = start_bluez()
    recorder = BleRecorder(session, target=TOY)
    recorder.start()
    wait_until(lambda: recorder.status().counts["advertisements"] == 3)

    bluez.remove_adapter()
    wait_until(lambda: not recorder.status().running)
    began = time.monotonic()
    status = recorder.stop()

    assert status.failure is not None
    assert status.failure.startswith("Bluetooth adapter hci0 disappeared")
    assert time.monotonic() - began < 1
    lines = jsonl_lines(session / "ble.jsonl")
    assert len(_of(lines, "advertisement")) == 3


def test_ble_bluez_adapter_switched_off_mid_scan(
    start_bluez: StartBlueZ, session: Path
) -> None:
    bluez = start_bluez()
    recorder = BleRecorder(session, target=TOY)
    recorder.start()
    wait_until(lambda: recorder.status().counts["advertisements"] == 3)

    bluez.power_off()
    wait_until(lambda: not recorder.status().running)

    failure = recorder.stop().failure
    assert failure is not None
    assert failure.startswith("Bluetooth adapter hci0 was switched off")


def test_ble_bluez_two_recorders_one_after_the_other(
    start_bluez: StartBlueZ, tmp_path: Path
) -> None:
    start_bluez()

    for number in (1, 2):
        folder = tmp_path / f"session{number}"
        folder.mkdir()
        _capture(folder, '"rssi": -52', target=TOY)

        assert len(_of(jsonl_lines(folder / "ble.jsonl"), "advertisement")) == 3
