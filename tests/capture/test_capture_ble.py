"""End to end: ``toyaudit capture --ble`` when the Bluetooth adapter disappears.

The capture runs as its own process, with bleak's real BlueZ code talking to
the fake ``org.bluez`` of tests/capture/fakebluez.py on a private bus. Pulling
the adapter out while connected to the toy must end the capture on its own,
keep what was recorded, mark the session incomplete and still seal it; the
audit of that session then reports what the toy gave away before the adapter
went, and says why the capture is incomplete.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.capture.auditrun import assert_reports_incomplete, audit_session
from tests.capture.blebus import private_bus
from tests.capture.bletoys import BRAMBLE, NEIGHBOUR
from tests.capture.fakebluez import FakeBlueZ
from toyaudit.errors import ExitCode
from toyaudit.session.folder import load_session


@pytest.fixture
def bluez() -> Iterator[FakeBlueZ]:
    with private_bus() as address:
        fake = FakeBlueZ(address, (BRAMBLE, NEIGHBOUR))
        fake.start()
        try:
            yield fake
        finally:
            fake.stop()


def _capture_section(folder: Path) -> Any:
    try:
        return yaml.safe_load((folder / "session.yaml").read_text())["capture"]
    except (OSError, KeyError, TypeError):
        return None


def _read_from_toy(path: Path) -> bool:
    """Whether the capture has read a characteristic of the toy without pairing."""
    with contextlib.suppress(OSError):
        return '"operation": "read"' in path.read_text(encoding="utf-8")
    return False


def test_capture_ble_adapter_unplugged_ends_incomplete_and_sealed(
    bluez: FakeBlueZ, tmp_path: Path
) -> None:
    folder = tmp_path / "bear"
    environment = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bluez.bus_address}
    command = [
        sys.executable, "-m", "toyaudit", "capture", str(folder),
        "--ble", "--ble-device", BRAMBLE.name or "", "--ble-connect",
        "--toy-name", "Bramble",
    ]  # fmt: skip
    capture = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            section = _capture_section(folder)
            counts = (section or {}).get("recorders", {}).get("ble") or {}
            if counts and _read_from_toy(folder / "ble.jsonl"):
                break
            assert capture.poll() is None, capture.communicate()[0]
            time.sleep(0.1)
        time.sleep(0.5)
        bluez.remove_adapter()
        assert capture.wait(timeout=30) == ExitCode.PARTIAL
    finally:
        if capture.poll() is None:
            capture.kill()
        capture.communicate()

    section = _capture_section(folder)
    assert section["complete"] is False
    assert "disappeared" in section["incomplete_reason"]
    assert section["recorders"]["ble"]["advertisements"] >= 1
    session = load_session(folder)  # sealed: the manifest verifies
    assert session.evidence == ("ble.jsonl",)
    lines = [
        json.loads(line) for line in (folder / "ble.jsonl").read_text().splitlines()
    ]
    addresses = {
        line.get("address") for line in lines if line["type"] == "advertisement"
    }
    assert addresses == {BRAMBLE.address}, "only the named toy is recorded"

    # the audit reads what was recorded before the adapter went, and says it went
    findings = audit_session(folder, tmp_path / "report")
    assert_reports_incomplete(
        findings, tmp_path / "report", section["incomplete_reason"]
    )
    assert findings["coverage"]["files_read"] == ["ble.jsonl"]
    assert findings["coverage"]["problems"] == []
    checks = {check["check"]: check for check in findings["checks"]}
    assert {"ble-read-without-pairing", "ble-trackable-address"} <= set(checks)
    for check in checks.values():
        assert check["subject"] == BRAMBLE.address
        cited = {line for item in check["evidence"] for line in item["packets"]}
        assert cited and max(cited) <= len(lines), "evidence is in ble.jsonl"
