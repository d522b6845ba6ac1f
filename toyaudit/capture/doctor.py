"""``toyaudit doctor``: check that this machine can capture, before a capture.

Each probe looks at one thing a capture needs (a privilege, the hotspot
interface, libpcap, mitmdump, the proxy's CA, a free WireGuard port,
iptables, IP forwarding, and Bluetooth: on Linux the D-Bus system bus, BlueZ
and a powered adapter, on macOS CoreBluetooth and the app's permission) and
returns a :class:`~.doctorrecords.Check`: what it found, which capture
features need it, and how to fix it on Linux and on macOS. Every probe takes
its inputs (paths, executables, bus address, the platform, a command runner)
as arguments, so tests provoke the real failures and feed the macOS branches
with recorded output on Linux. A probe that breaks is itself reported as a
failed check: :func:`run_doctor` never raises.

This module holds the settings, :func:`run_doctor` and the probes of the
machine itself (privileges, libpcap, mitmdump, CA, WireGuard port,
iptables). The interface and forwarding probes are in :mod:`.doctornet`,
the D-Bus and BlueZ probes in :mod:`.doctorbus`, the CoreBluetooth probe in
:mod:`.doctorcorebluetooth` and the records (features, checks, the report)
in :mod:`.doctorrecords`; all are importable from here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import importlib
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toyaudit.capture.doctorbus import (
    DEFAULT_SYSTEM_BUS,
    check_bluetooth,
    check_bluez,
    check_system_bus,
    system_bus_address,
)
from toyaudit.capture.doctorcorebluetooth import check_corebluetooth
from toyaudit.capture.doctornet import (
    CommandOutput,
    CommandRunner,
    check_forwarding,
    check_interface,
    run_command,
)
from toyaudit.capture.doctorrecords import Check, DoctorReport, Feature

logger = logging.getLogger(__name__)

CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
"""Capability bit numbers (linux/capability.h)."""
DEFAULT_CONFDIR = Path.home() / ".local" / "share" / "toyaudit" / "mitmproxy"
"""Where captures keep mitmproxy's CA unless told otherwise."""
CA_CERT_FILE = "mitmproxy-ca-cert.pem"
WIREGUARD_PORT = 51820
MITMPROXY_MINIMUM = (11, 0)
"""Oldest mitmproxy the capture's addon is tested with."""
_SUDO = "run toyaudit with sudo"


@dataclass(frozen=True, slots=True)
class DoctorSettings:
    """Where each probe looks; the defaults are the real machine's."""

    interface: str | None = None
    status_path: Path = Path("/proc/self/status")
    sys_class_net: Path = Path("/sys/class/net")
    proc_sys: Path = Path("/proc/sys")
    pcap_library: str = "pcap"
    mitmdump: str = "mitmdump"
    confdir: Path = DEFAULT_CONFDIR
    wireguard_port: int = WIREGUARD_PORT
    iptables: str = "iptables"
    system_bus: str | None = None
    """D-Bus address; ``None``: $DBUS_SYSTEM_BUS_ADDRESS or the standard socket."""
    bus_timeout: float = 2.0
    platform: str = sys.platform
    """``sys.platform`` of the machine checked: ``linux``, ``darwin``..."""
    run: CommandRunner = run_command
    """Runs the commands of the macOS probes (``ifconfig``, ``sysctl``)."""
    interfaces: tuple[str, ...] | None = None
    """The machine's interface names; ``None``: ask ``if_nameindex(3)``."""
    import_module: Callable[[str], object] = importlib.import_module
    """Imports CoreBluetooth for the macOS Bluetooth probe."""


def run_doctor(settings: DoctorSettings | None = None) -> DoctorReport:
    """Run every probe; never raises. Call it from synchronous code."""
    given = settings or DoctorSettings()
    packets, transparent = (Feature.PACKETS,), (Feature.TRANSPARENT,)
    status, platform = given.status_path, given.platform
    checks = [
        *_guarded(packets, check_capture_privilege, status, platform),
        *_guarded(transparent, check_admin_privilege, status, platform),
        *_guarded(packets, _interface_checks, given),
        *_guarded(packets, check_libpcap, given.pcap_library),
        *_guarded((Feature.PROXY,), check_mitmdump, given.mitmdump),
        *_guarded((Feature.PROXY,), check_ca, given.confdir),
        *_guarded((Feature.WIREGUARD,), check_wireguard_port, given.wireguard_port),
        *_guarded(transparent, check_iptables, given.iptables, platform),
        *_guarded((), check_forwarding, given.proc_sys, platform, given.run),
        *_guarded((Feature.BLE,), _bluetooth_checks, given),
    ]
    return DoctorReport(tuple(checks))


def _guarded(
    needs: tuple[Feature, ...], probe: Callable[..., Check | list[Check]], *args: Any
) -> list[Check]:
    """Run one probe; a probe that raises becomes a failed check."""
    try:
        outcome = probe(*args)
    except Exception as error:  # a broken probe is reported, never raised
        logger.debug("probe %s failed", probe.__name__, exc_info=True)
        name = probe.__name__.removeprefix("check_").strip("_").replace("_", " ")
        detail = f"the check itself failed: {type(error).__name__}: {error}"
        return [Check(name, False, needs, detail)]
    return outcome if isinstance(outcome, list) else [outcome]


def _interface_checks(settings: DoctorSettings) -> list[Check]:
    if settings.interface is None:
        return []
    check = check_interface(
        settings.interface,
        settings.sys_class_net,
        settings.platform,
        settings.run,
        settings.interfaces,
    )
    return [check]


def _bluetooth_checks(settings: DoctorSettings) -> list[Check]:
    """BlueZ over D-Bus on Linux, CoreBluetooth on macOS, as bleak uses them."""
    if settings.platform == "linux":
        return check_bluetooth(settings.system_bus, settings.bus_timeout)
    if settings.platform == "darwin":
        return [check_corebluetooth(settings.import_module)]
    detail = f"Bluetooth capture is not supported on {settings.platform}"
    fix = "capture on Linux or macOS"
    return [Check("Bluetooth", False, (Feature.BLE,), detail, fix, fix)]


def _capabilities(status_path: Path) -> int:
    """The effective capability set of the process ``status_path`` describes."""
    status = status_path.read_text(encoding="ascii")
    found = re.search(r"^CapEff:\s*([0-9a-fA-F]+)$", status, re.MULTILINE)
    if found is None:
        raise ValueError(f"no CapEff line in {status_path}")
    return int(found.group(1), 16)


def check_capture_privilege(status_path: Path, platform: str = sys.platform) -> Check:
    """Can this process open raw packet sockets (root or CAP_NET_RAW)?"""
    name, needs = "packet capture privilege", (Feature.PACKETS,)
    fix_macos = f"{_SUDO}, or install Wireshark's ChmodBPF to open /dev/bpf*"
    if platform != "linux":
        ok = os.geteuid() == 0
        return Check(name, ok, needs, "root" if ok else "not root", "", fix_macos)
    if _capabilities(status_path) >> CAP_NET_RAW & 1:
        return Check(name, True, needs, "CAP_NET_RAW in the effective set")
    fix = (
        f"{_SUDO}; or grant cap_net_raw+eip with setcap to a private copy of "
        "the Python interpreter only (every script it runs gets the right)"
    )
    return Check(name, False, needs, "CAP_NET_RAW missing", fix, fix_macos)


def check_admin_privilege(status_path: Path, platform: str = sys.platform) -> Check:
    """Can this process change sysctls and the firewall (CAP_NET_ADMIN)?"""
    name, needs = "network admin privilege", (Feature.TRANSPARENT,)
    if platform != "linux":
        ok = os.geteuid() == 0
        return Check(name, ok, needs, "root" if ok else "not root", "", _SUDO)
    if _capabilities(status_path) >> CAP_NET_ADMIN & 1:
        return Check(name, True, needs, "CAP_NET_ADMIN in the effective set")
    fix = f"{_SUDO}: transparent mode changes iptables and sysctls"
    return Check(name, False, needs, "CAP_NET_ADMIN missing", fix, _SUDO)


def check_libpcap(library: str = "pcap") -> Check:
    """Can libpcap be loaded the way scapy loads it to compile BPF filters?

    scapy 2.8 (``scapy.libs.winpcapy``) finds it with
    ``ctypes.util.find_library("pcap")`` and loads it with ``ctypes.CDLL``.
    """
    name, needs = "libpcap", (Feature.PACKETS,)
    fix = "apt-get install libpcap0.8 (Fedora: dnf install libpcap)"
    fix_macos = "libpcap ships with macOS; reinstall the Command Line Tools"
    path = ctypes.util.find_library(library)
    if path is None:
        return Check(name, False, needs, f"lib{library} not found", fix, fix_macos)
    try:
        ctypes.CDLL(path).pcap_compile  # noqa: B018  (the symbol must exist)
    except (OSError, AttributeError) as error:
        return Check(name, False, needs, f"{path}: {error}", fix, fix_macos)
    return Check(name, True, needs, f"{path} loads")


def find_mitmdump(executable: str = "mitmdump") -> str | None:
    """Locate mitmdump: a path, PATH, or beside this Python (a venv's bin)."""
    if os.sep in executable:
        return executable if os.access(executable, os.X_OK) else None
    found = shutil.which(executable)
    if found is not None:
        return found
    beside = Path(sys.executable).parent / executable
    return str(beside) if os.access(beside, os.X_OK) else None


def check_mitmdump(executable: str = "mitmdump") -> Check:
    """Is mitmdump there and recent enough? Runs ``mitmdump --version``."""
    name, needs = "mitmdump", (Feature.PROXY,)
    fix = "pip install 'mitmproxy>=11' in toyaudit's environment (or pipx)"
    fix_macos = "pip install 'mitmproxy>=11', or brew install mitmproxy"
    path = find_mitmdump(executable)
    if path is None:
        return Check(name, False, needs, f"{executable} not found", fix, fix_macos)
    version = subprocess.run(  # noqa: S603 (argument list, no shell)
        [path, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    found = re.search(r"Mitmproxy:\s*((\d+)\.(\d+)\S*)", version.stdout)
    if version.returncode != 0 or found is None:
        detail = f"{path} --version failed (exit {version.returncode})"
        return Check(name, False, needs, detail, fix, fix_macos)
    release = found.group(1)
    if (int(found.group(2)), int(found.group(3))) < MITMPROXY_MINIMUM:
        detail = f"mitmproxy {release} is older than 11.0"
        return Check(name, False, needs, detail, fix, fix_macos)
    return Check(name, True, needs, f"mitmproxy {release} at {path}")


def check_ca(confdir: Path = DEFAULT_CONFDIR) -> Check:
    """Is mitmproxy's CA in the confdir? Absent is only a warning."""
    name, needs = "mitmproxy CA", (Feature.PROXY,)
    cert = confdir / CA_CERT_FILE
    if not cert.exists():
        detail = f"{cert} not created yet: the first capture creates it"
        hint = "nothing to do; install it on the phone only to audit the app"
        return Check(name, True, needs, detail, hint, hint, warning=True)
    try:
        cert.read_bytes()
    except OSError as error:
        fix = f"make {cert} readable by the user who captures ({error.strerror})"
        return Check(name, False, needs, f"{cert} unreadable", fix, fix)
    return Check(name, True, needs, str(cert))


def check_wireguard_port(port: int = WIREGUARD_PORT) -> Check:
    """Is the UDP port mitmproxy's WireGuard server listens on free?

    mitmproxy 11's WireGuard mode runs in user space (mitmproxy_rs), so the
    kernel needs no WireGuard module: capture-notes §1.5 ran it on a kernel
    without one. Only the port matters.
    """
    name, needs = f"WireGuard port {port}/udp", (Feature.WIREGUARD,)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(("0.0.0.0", port))  # noqa: S104 (mitmproxy binds all addresses)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        fix = f"stop what uses it (ss -ulpn 'sport = :{port}' names it)"
        fix_macos = f"stop what uses it (lsof -nP -iUDP:{port} names it)"
        return Check(name, False, needs, "in use by another program", fix, fix_macos)
    finally:
        probe.close()
    return Check(name, True, needs, "free")


def check_iptables(executable: str = "iptables", platform: str = sys.platform) -> Check:
    """Can iptables list the nat table (installed and permitted)?"""
    name, needs = "iptables", (Feature.TRANSPARENT,)
    if platform != "linux":
        fix = "use WireGuard mode; transparent mode needs pf, not implemented yet"
        return Check(name, False, needs, f"not used on {platform}", fix, fix)
    path = shutil.which(executable)
    if path is None:
        fix = "apt-get install iptables (and make sure /usr/sbin is on PATH)"
        return Check(name, False, needs, f"{executable} not found", fix)
    listing = subprocess.run(  # noqa: S603 (argument list, no shell)
        [path, "-w", "-t", "nat", "-S", "PREROUTING"],
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )
    if listing.returncode != 0:
        lines = listing.stderr.strip().splitlines() or ["no message"]
        fix = f"{_SUDO}; or load NAT support: modprobe nft_chain_nat nft_redir"
        return Check(name, False, needs, f"{path}: {lines[-1]}", fix)
    return Check(name, True, needs, f"{path} can change the nat table")


__all__ = [
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CA_CERT_FILE",
    "DEFAULT_CONFDIR",
    "DEFAULT_SYSTEM_BUS",
    "MITMPROXY_MINIMUM",
    "WIREGUARD_PORT",
    "Check",
    "CommandOutput",
    "CommandRunner",
    "DoctorReport",
    "DoctorSettings",
    "Feature",
    "check_admin_privilege",
    "check_bluetooth",
    "check_bluez",
    "check_ca",
    "check_capture_privilege",
    "check_corebluetooth",
    "check_forwarding",
    "check_interface",
    "check_iptables",
    "check_libpcap",
    "check_mitmdump",
    "check_system_bus",
    "check_wireguard_port",
    "find_mitmdump",
    "run_command",
    "run_doctor",
    "system_bus_address",
]
