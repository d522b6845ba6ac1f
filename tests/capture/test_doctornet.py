"""The doctor's interface and forwarding probes, on Linux and as on macOS.

On Linux they run against the real thing: a veth pair taken down, a folder
standing for /proc/sys. The macOS branches run here too, on output recorded
in the format macOS prints (tests/capture/recorded/macos/), served by a
command runner that fails on any command it has no output for.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.capture.macoshost import RecordedCommands, ifconfig, sysctl
from tests.capture.netns import (
    VethNamespace,
    create_veth_namespace,
    delete_veth_namespace,
    require_root_tools,
)
from toyaudit.capture.doctornet import (
    CommandOutput,
    check_forwarding,
    check_interface,
    interface_names,
)
from toyaudit.capture.doctorrecords import Check

SYS_CLASS_NET = Path("/sys/class/net")
MAC_INTERFACES = ("lo0", "en0", "en5", "ap1", "bridge100")
"""What ``if_nameindex`` lists on a Mac sharing its connection over Wi-Fi."""
FORWARDING = ("sysctl", "-n", "net.inet.ip.forwarding")


@pytest.fixture
def lab() -> Iterator[VethNamespace]:
    """A veth pair whose host end the test can take down."""
    require_root_tools()
    lab = create_veth_namespace("tdr")
    try:
        yield lab
    finally:
        delete_veth_namespace(lab)


def _mac_interface(name: str, scenario: str) -> tuple[RecordedCommands, Check]:
    """Check ``name`` as on macOS, ``ifconfig NAME`` printing ``scenario``."""
    commands = RecordedCommands({("ifconfig", name): ifconfig(scenario)})
    check = check_interface(
        name, SYS_CLASS_NET, "darwin", commands, interfaces=MAC_INTERFACES
    )
    return commands, check


def test_interface_missing_down_and_up(lab: VethNamespace) -> None:
    missing = check_interface("toyaudit-none0", SYS_CLASS_NET, "linux")
    assert (missing.ok, missing.detail) == (False, "does not exist")
    assert "ip link" in missing.fix_linux
    assert check_interface(lab.host_interface, SYS_CLASS_NET, "linux").ok

    lab.run_outer("ip", "link", "set", lab.host_interface, "down")

    down = check_interface(lab.host_interface, SYS_CLASS_NET, "linux")
    assert (down.ok, down.detail) == (False, "is down")
    assert down.fix_linux == f"ip link set {lab.host_interface} up"
    assert down.fix("darwin") == f"sudo ifconfig {lab.host_interface} up"


def test_interface_names_come_from_if_nameindex() -> None:
    assert interface_names() == {name for _, name in socket.if_nameindex()}
    assert "lo" in interface_names()


def test_interface_macos_missing_is_found_without_running_ifconfig() -> None:
    commands = RecordedCommands({})

    named = check_interface(
        "bridge101", platform="darwin", run=commands, interfaces=MAC_INTERFACES
    )
    real = check_interface("toyaudit-none0", platform="darwin", run=commands)

    for check in (named, real):
        assert (check.ok, check.detail) == (False, "does not exist")
        assert "ifconfig -l" in check.fix("darwin")
        assert "bridge100" in check.fix("darwin")
    assert commands.ran == []


def test_interface_macos_internet_sharing_bridge_is_up() -> None:
    commands, check = _mac_interface("bridge100", "bridge100-sharing")

    assert commands.ran == [("ifconfig", "bridge100")]
    assert (check.ok, check.warning, check.detail) == (True, False, "up (active)")


def test_interface_macos_down_fails_with_the_ifconfig_fix() -> None:
    _, check = _mac_interface("bridge100", "bridge100-down")

    assert (check.ok, check.detail) == (False, "is down")
    assert check.fix("darwin") == "sudo ifconfig bridge100 up"
    assert check.fix("linux") == "ip link set bridge100 up"


def test_interface_macos_up_without_a_link_is_a_warning() -> None:
    _, check = _mac_interface("en5", "en5-no-cable")

    assert (check.ok, check.warning) == (True, True)
    assert check.detail == "up, but no link (inactive): nothing connected yet?"
    assert "Internet Sharing" in check.fix("darwin")


def test_interface_macos_without_a_status_line_is_up() -> None:
    _, check = _mac_interface("lo0", "lo0")

    assert (check.ok, check.warning, check.detail) == (True, False, "up")


def test_interface_macos_ifconfig_failure_breaks_the_probe() -> None:
    # the interface went away between if_nameindex and ifconfig
    gone = CommandOutput(1, "", "ifconfig: interface bridge100 does not exist\n")
    commands = RecordedCommands({("ifconfig", "bridge100"): gone})

    with pytest.raises(ValueError, match="bridge100 does not exist"):
        check_interface(
            "bridge100", platform="darwin", run=commands, interfaces=MAC_INTERFACES
        )


def test_forwarding_is_reported_not_required(tmp_path: Path) -> None:
    (tmp_path / "net/ipv4").mkdir(parents=True)
    (tmp_path / "net/ipv4/ip_forward").write_text("0\n")

    check = check_forwarding(tmp_path, "linux", RecordedCommands({}))

    assert (check.ok, check.required_for, check.warning) == (True, (), False)
    assert check.detail.startswith("off; transparent mode turns it on")


def test_forwarding_macos_on_from_sysctl(tmp_path: Path) -> None:
    commands = RecordedCommands({FORWARDING: sysctl("1")})

    check = check_forwarding(tmp_path, "darwin", commands)

    assert commands.ran == [FORWARDING]
    assert (check.ok, check.warning, check.detail) == (True, False, "on")


def test_forwarding_macos_off_is_a_warning_with_the_sysctl_fix(
    tmp_path: Path,
) -> None:
    check = check_forwarding(
        tmp_path, "darwin", RecordedCommands({FORWARDING: sysctl("0")})
    )

    assert (check.ok, check.warning, check.required_for) == (True, True, ())
    assert check.detail.startswith("off: a toy on the shared network cannot")
    assert "Internet Sharing" in check.fix("darwin")
    assert "sudo sysctl -w net.inet.ip.forwarding=1" in check.fix("darwin")


def test_forwarding_macos_unreadable_breaks_the_probe(tmp_path: Path) -> None:
    unknown = CommandOutput(1, "", "sysctl: unknown oid 'net.inet.ip.forwarding'\n")

    with pytest.raises(ValueError, match="unknown oid"):
        check_forwarding(tmp_path, "darwin", RecordedCommands({FORWARDING: unknown}))
