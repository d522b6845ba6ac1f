"""Capture options: what makes sense together, and which recorders it builds."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from toyaudit.capture.ble import BleRecorder
from toyaudit.capture.netsetup import NetworkChanges
from toyaudit.capture.plan import CaptureOptions, plan_capture
from toyaudit.capture.proxy import ProxyRecorder
from toyaudit.capture.sniffer import PacketRecorder
from toyaudit.errors import CaptureError, ExitCode


@pytest.fixture
def options(tmp_path: Path) -> CaptureOptions:
    return CaptureOptions(folder=tmp_path / "session", confdir=tmp_path / "ca")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "nothing to capture"),
        ({"proxy_mode": "socks"}, "is not a proxy mode"),
        ({"interface": "wlan0"}, "needs both --interface and --toy"),
        ({"proxy_mode": "transparent"}, "transparent interception needs"),
        ({"ble": True}, "--ble needs the toy's Bluetooth name"),
        ({"ble_connect": True}, "Bluetooth options need --ble"),
        (
            {"ble": True, "ble_device": "Bramble", "ble_allow_writes": True},
            "needs --ble-connect",
        ),
        ({"proxy_mode": "regular", "duration": 0}, "--duration must be positive"),
        (
            {"proxy_mode": "wireguard", "phone": "10.0.0.9"},
            "--phone records the phone's packets",
        ),
    ],
)
def test_plan_capture_refuses_options_that_do_not_fit(
    options: CaptureOptions, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(CaptureError, match=message):
        plan_capture(replace(options, **changes))  # type: ignore[arg-type]


def test_plan_capture_transparent_builds_every_recorder_and_network_changes(
    options: CaptureOptions,
) -> None:
    run = plan_capture(
        replace(
            options,
            interface="wlan0",
            toy="02:1a:7d:5e:33:c1",
            proxy_mode="transparent",
            ble=True,
            ble_device="Bramble",
        )
    )

    kinds = [type(recorder) for recorder in run._recorders]
    assert kinds == [PacketRecorder, ProxyRecorder, BleRecorder]
    assert isinstance(run._network, NetworkChanges)
    assert not options.folder.exists(), "planning must not touch the disk"


def test_plan_capture_wireguard_needs_no_network_changes(
    options: CaptureOptions,
) -> None:
    run = plan_capture(replace(options, proxy_mode="wireguard", ca_installed=True))

    assert [type(recorder) for recorder in run._recorders] == [ProxyRecorder]
    assert run._network is None
    settings = run._description.settings
    assert settings["proxy_mode"] == "wireguard"
    assert settings["ca_installed_on_device"] is True
    assert "interface" not in settings


def test_capture_command_names_the_problem_and_exits_7(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "toyaudit", "capture", str(tmp_path / "s"), "--ble"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "300"},
    )

    assert completed.returncode == ExitCode.CAPTURE
    assert "--ble-device" in completed.stderr
    assert not (tmp_path / "s").exists()


def test_mark_command_without_a_capture_exits_7(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "toyaudit", "mark", str(tmp_path), "play"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "300"},
    )

    assert completed.returncode == ExitCode.CAPTURE
    assert "no capture is recording" in completed.stderr
