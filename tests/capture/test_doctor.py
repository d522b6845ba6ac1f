"""The doctor's probes, each made to fail for real and, where it can, to pass.

Failures come from the real thing missing: a library or executable that is
not there, a UDP port we hold, a process whose CAP_NET_RAW was dropped with
setpriv, a private dbus-daemon without BlueZ. The BlueZ cases run the fake
BlueZ the bleak tests use (tests/capture/fakebluez.py) on that private bus.
The interface and forwarding probes are tested in test_doctornet.py, the
CoreBluetooth probe in test_doctorcorebluetooth.py; here the whole doctor
also runs as on a Mac, on recorded output (tests/capture/macoshost.py).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.capture.blebus import private_bus
from tests.capture.fakebluez import FakeBlueZ
from tests.capture.macoshost import (
    Importer,
    RecordedCommands,
    StandInCoreBluetooth,
    ifconfig,
    sysctl,
)
from tests.capture.netns import require_root_tools
from toyaudit.capture.doctor import (
    Check,
    DoctorReport,
    DoctorSettings,
    Feature,
    check_bluez,
    check_ca,
    check_capture_privilege,
    check_iptables,
    check_libpcap,
    check_mitmdump,
    check_system_bus,
    check_wireguard_port,
    run_doctor,
)

PRIVILEGE = r"""
import json
from pathlib import Path
from toyaudit.capture.doctor import check_capture_privilege
check = check_capture_privilege(Path("/proc/self/status"))
print(json.dumps({"ok": check.ok, "detail": check.detail, "fix": check.fix_linux}))
"""


@pytest.fixture
def bus() -> Iterator[str]:
    """A private dbus-daemon (no BlueZ on it yet); yields its address."""
    with private_bus() as address:
        yield address


@contextmanager
def fake_bluez(address: str, adapter: str | None, powered: bool) -> Iterator[None]:
    """Run the fake BlueZ on ``address`` for the block's duration."""
    bluez = FakeBlueZ(address, adapter=adapter, powered=powered)
    bluez.start()
    try:
        yield
    finally:
        bluez.stop()


def by_name(report: DoctorReport, name: str) -> Check:
    """The report's check called ``name``."""
    return next(check for check in report.checks if check.name == name)


def test_capture_privilege_follows_cap_net_raw(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nCapEff:\t0000000000002000\n")
    assert check_capture_privilege(status, "linux").ok
    status.write_text("Name:\tpython\nCapEff:\t000001ffffffdfff\n")

    check = check_capture_privilege(status, "linux")

    assert (check.ok, check.detail) == (False, "CAP_NET_RAW missing")
    assert "sudo" in check.fix_linux and "setcap" in check.fix_linux
    assert "ChmodBPF" in check.fix("darwin")


def test_capture_privilege_fails_in_a_process_without_cap_net_raw() -> None:
    require_root_tools("setpriv")
    assert check_capture_privilege(Path("/proc/self/status")).ok

    completed = subprocess.run(
        ["setpriv", "--bounding-set", "-net_raw", "--", sys.executable]
        + ["-c", PRIVILEGE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    check = json.loads(completed.stdout)
    assert check["ok"] is False and "sudo" in check["fix"]


def test_libpcap_found_or_named_for_install() -> None:
    assert check_libpcap("pcap").ok

    missing = check_libpcap("toyaudit-no-such-library")

    assert not missing.ok and "libpcap0.8" in missing.fix_linux


def test_mitmdump_found_beside_python_or_reported(tmp_path: Path) -> None:
    found = check_mitmdump("mitmdump")
    assert found.ok and found.detail.startswith("mitmproxy 11.")

    missing = check_mitmdump(str(tmp_path / "mitmdump"))
    assert (missing.ok, missing.detail) == (False, f"{tmp_path / 'mitmdump'} not found")
    assert "pip install" in missing.fix_linux


def test_mitmdump_too_old_is_a_failure(tmp_path: Path) -> None:
    old = tmp_path / "mitmdump"
    old.write_text("#!/bin/sh\necho 'Mitmproxy: 9.0.1'\necho 'Python: 3.11.7'\n")
    old.chmod(stat.S_IRWXU)

    check = check_mitmdump(str(old))

    assert (check.ok, check.detail) == (False, "mitmproxy 9.0.1 is older than 11.0")


def test_ca_absent_is_a_warning_present_is_ok(tmp_path: Path) -> None:
    absent = check_ca(tmp_path)
    assert (absent.ok, absent.warning) == (True, True)
    assert "first capture creates it" in absent.detail

    (tmp_path / "mitmproxy-ca-cert.pem").write_text("-----BEGIN CERTIFICATE-----\n")

    present = check_ca(tmp_path)
    assert (present.ok, present.warning) == (True, False)


def test_wireguard_port_in_use_fails() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]

        busy = check_wireguard_port(port)

    assert (busy.ok, busy.detail) == (False, "in use by another program")
    assert f"sport = :{port}" in busy.fix_linux
    assert check_wireguard_port(port).ok


def test_iptables_usable_missing_or_not_on_linux() -> None:
    require_root_tools("iptables")
    assert check_iptables("iptables", "linux").ok

    missing = check_iptables("/no/iptables", "linux")
    assert not missing.ok and "apt-get install iptables" in missing.fix_linux
    mac = check_iptables("iptables", "darwin")
    assert not mac.ok and "WireGuard" in mac.fix("darwin")


def test_system_bus_missing_socket_fails(tmp_path: Path) -> None:
    check = check_system_bus(f"unix:path={tmp_path / 'none.sock'}")

    assert not check.ok and "cannot connect" in check.detail
    assert "systemctl start dbus" in check.fix_linux


def test_bluez_absent_on_a_bus_without_it(bus: str) -> None:
    assert check_system_bus(bus).ok

    bluez, adapter = check_bluez(bus, timeout=2)

    assert (bluez.ok, bluez.detail) == (False, "org.bluez is not on the system bus")
    assert "apt-get install bluez" in bluez.fix_linux
    assert not adapter.ok


def test_bluez_on_a_socket_that_never_answers_times_out() -> None:
    with tempfile.TemporaryDirectory(prefix="toyaudit-") as folder:
        path = f"{folder}/mute.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mute:
            mute.bind(path)
            mute.listen()

            bluez, adapter = check_bluez(f"unix:path={path}", timeout=0.3)

    assert not bluez.ok and bluez.detail.startswith("no answer from the bus")
    assert (adapter.ok, adapter.detail) == (False, "not checked")


def test_bluez_without_adapter_or_powered_off_fails_the_adapter(bus: str) -> None:
    with fake_bluez(bus, adapter=None, powered=False):
        bluez, none = check_bluez(bus, timeout=2)
    assert bluez.ok and bluez.detail.startswith("running (:")
    assert (none.ok, none.detail) == (False, "no adapter known to BlueZ")

    with fake_bluez(bus, adapter="hci0", powered=False):
        _, off = check_bluez(bus, timeout=2)
    assert (off.ok, off.detail) == (False, "powered off")
    assert "bluetoothctl power on" in off.fix_linux


def test_bluez_with_a_powered_adapter_passes(bus: str) -> None:
    with fake_bluez(bus, adapter="hci1", powered=True):
        report = run_doctor(DoctorSettings(system_bus=bus, platform="linux"))

    assert report.passed([Feature.BLE])
    assert by_name(report, "Bluetooth adapter").detail == "hci1 powered"


def test_run_doctor_reports_every_failure_and_never_raises(
    tmp_path: Path, bus: str
) -> None:
    settings = DoctorSettings(
        interface="toyaudit-none0",
        status_path=tmp_path,  # a folder: the privilege probes themselves break
        pcap_library="toyaudit-no-such-library",
        mitmdump=str(tmp_path / "mitmdump"),
        confdir=tmp_path,
        iptables="/no/iptables",
        system_bus=bus,
        platform="linux",
    )

    report = run_doctor(settings)

    broken = by_name(report, "capture privilege")
    assert not broken.ok and "check itself failed: IsADirectoryError" in broken.detail
    assert broken.required_for == (Feature.PACKETS,)
    failed = {check.name for check in report.failures()}
    assert {
        "interface toyaudit-none0",
        "libpcap",
        "mitmdump",
        "iptables",
        "BlueZ",
        "Bluetooth adapter",
    } <= failed
    assert not report.passed([Feature.PROXY])
    assert by_name(report, "D-Bus system bus").ok


def test_run_doctor_on_macos_checks_ifconfig_sysctl_and_corebluetooth(
    tmp_path: Path,
) -> None:
    commands = RecordedCommands(
        {
            ("ifconfig", "bridge100"): ifconfig("bridge100-down"),
            ("sysctl", "-n", "net.inet.ip.forwarding"): sysctl("0"),
        }
    )
    settings = DoctorSettings(
        interface="bridge100",
        sys_class_net=tmp_path,  # nothing there: macOS has no /sys
        proc_sys=tmp_path,
        confdir=tmp_path,
        platform="darwin",
        run=commands,
        interfaces=("lo0", "en0", "ap1", "bridge100"),
        import_module=Importer(StandInCoreBluetooth(2)),
    )

    report = run_doctor(settings)

    interface = by_name(report, "interface bridge100")
    assert (interface.ok, interface.fix("darwin")) == (
        False,
        "sudo ifconfig bridge100 up",
    )
    forwarding = by_name(report, "IP forwarding")
    assert (forwarding.ok, forwarding.warning) == (True, True)
    assert "net.inet.ip.forwarding=1" in forwarding.fix("darwin")
    bluetooth = by_name(report, "CoreBluetooth")
    assert (bluetooth.ok, bluetooth.required_for) == (False, (Feature.BLE,))
    assert "Privacy & Security > Bluetooth" in bluetooth.fix("darwin")
    names = {check.name for check in report.checks}
    assert not names & {"D-Bus system bus", "BlueZ", "Bluetooth adapter"}
    assert sorted(commands.ran) == sorted(commands.outputs)


def test_run_doctor_bluetooth_elsewhere_is_not_supported(tmp_path: Path) -> None:
    settings = DoctorSettings(
        confdir=tmp_path, platform="win32", run=RecordedCommands({})
    )

    report = run_doctor(settings)

    bluetooth = by_name(report, "Bluetooth")
    assert (bluetooth.ok, bluetooth.detail) == (
        False,
        "Bluetooth capture is not supported on win32",
    )


def test_run_doctor_passes_what_this_machine_can_do(tmp_path: Path) -> None:
    require_root_tools("iptables")
    report = run_doctor(DoctorSettings(interface="lo", confdir=tmp_path))

    features = [Feature.PACKETS, Feature.PROXY, Feature.TRANSPARENT]
    assert report.passed(features), report.failures(features)
    assert by_name(report, "mitmproxy CA").warning
    if not os.path.exists("/var/run/dbus/system_bus_socket"):
        assert not report.passed([Feature.BLE])


def run_cli(bus: str, home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run ``toyaudit doctor`` with the system bus and home folder given."""
    environment = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus, "HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "toyaudit", "doctor", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**environment, "COLUMNS": "200"},
    )


def test_doctor_command_exits_7_when_a_needed_check_fails(
    bus: str, tmp_path: Path
) -> None:
    completed = run_cli(bus, tmp_path, "--for", "ble")

    assert completed.returncode == 7, completed.stderr
    assert "org.bluez is not on the system bus" in completed.stdout
    assert "FAILED" in completed.stdout


def test_doctor_command_exits_0_when_the_chosen_parts_pass(
    bus: str, tmp_path: Path
) -> None:
    require_root_tools()
    completed = run_cli(bus, tmp_path, "-i", "lo", "--for", "packets", "--for", "proxy")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "interface lo" in completed.stdout
    assert "not created yet" in completed.stdout  # the CA, under the new HOME
