"""The doctor's macOS Bluetooth probe: CoreBluetooth and the app's permission.

On this Linux machine the real import of CoreBluetooth fails, which is the
missing-framework case. The permission cases give the probe a stand-in for
pyobjc's CoreBluetooth module (tests/capture/macoshost.py) that reports each
CBManagerAuthorization value.
"""

from __future__ import annotations

import pytest

from tests.capture.macoshost import Importer, StandInCoreBluetooth
from toyaudit.capture.doctorcorebluetooth import FRAMEWORK, check_corebluetooth
from toyaudit.capture.doctorrecords import Feature

PRIVACY = "System Settings > Privacy & Security > Bluetooth"


def test_corebluetooth_missing_names_the_pyobjc_packages() -> None:
    check = check_corebluetooth()  # the real import, which fails off macOS

    assert (check.ok, check.required_for) == (False, (Feature.BLE,))
    assert check.detail.startswith(f"cannot import {FRAMEWORK} (")
    assert "pip install pyobjc-framework-CoreBluetooth" in check.fix("darwin")
    assert "pyobjc-framework-libdispatch" in check.fix("darwin")


def test_corebluetooth_allowed_passes() -> None:
    importer = Importer(StandInCoreBluetooth(3))

    check = check_corebluetooth(importer)

    assert importer.imported == ["CoreBluetooth"]
    assert (check.ok, check.warning) == (True, False)
    assert check.detail == "loads; Bluetooth allowed for this app"


@pytest.mark.parametrize(
    ("state", "ok", "detail"),
    [
        (0, True, "loads; macOS will ask for Bluetooth permission"),
        (2, False, "Bluetooth permission denied to this app"),
        (None, True, "loads; this macOS cannot say"),
        (7, True, "loads; unknown Bluetooth permission state 7"),
    ],
    ids=["not-asked-yet", "denied", "before-10.15", "unknown"],
)
def test_corebluetooth_permission_points_to_privacy_settings(
    state: int | None, ok: bool, detail: str
) -> None:
    check = check_corebluetooth(Importer(StandInCoreBluetooth(state)))

    assert check.ok is ok and check.warning is ok
    assert check.detail.startswith(detail)
    assert PRIVACY in check.fix("darwin")
    assert "Terminal" in check.fix("darwin")


def test_corebluetooth_restricted_fails_for_the_administrator() -> None:
    check = check_corebluetooth(Importer(StandInCoreBluetooth(1)))

    assert not check.ok
    assert check.detail.startswith("Bluetooth is restricted on this Mac")
    assert "administrator" in check.fix("darwin")
