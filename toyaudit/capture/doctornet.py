"""The doctor's network probes: the hotspot interface and IP forwarding.

Linux and macOS answer these questions in different places. Whether an
interface exists comes from ``if_nameindex(3)`` on both. Whether it is up
and has a link comes, on Linux, from ``/sys/class/net/NAME`` (``flags`` and
``operstate``); macOS has no such folder, so it comes from the first line
and the ``status:`` line of ``ifconfig NAME``. IP forwarding is
``/proc/sys/net/ipv4/ip_forward`` on Linux and the ``net.inet.ip.forwarding``
sysctl on macOS, which Internet Sharing switches on.

Each probe takes the platform, and the commands it runs go through a
:data:`CommandRunner`, so tests feed the macOS branches with output recorded
in the format macOS prints. :func:`~.doctor.run_doctor` calls these probes.
"""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from toyaudit.capture.doctorrecords import Check, Feature

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT = 15.0
"""Seconds a probe's command may take before the probe fails."""
_IFF_UP = 0x1
"""The administrative up flag of /sys/class/net/NAME/flags (linux/if.h)."""
_NO_LINK = ("down", "lowerlayerdown", "dormant", "inactive")
"""Link states of an interface that is up but has no link: Linux's operstate
values, then the ``status:`` macOS's ifconfig prints."""
_IFCONFIG_FLAGS = re.compile(r"^\S+: flags=[0-9a-fA-F]+<([A-Z0-9_,]*)>", re.MULTILINE)
"""The interface's own flags, on the first line of BSD ``ifconfig NAME``."""
_IFCONFIG_STATUS = re.compile(r"^\s+status: (\S+)", re.MULTILINE)
"""The link status line of BSD ``ifconfig NAME``: ``active`` or ``inactive``."""
_FIX_MISSING = "list interfaces with 'ip link'; start the hotspot first"
_FIX_MISSING_MACOS = (
    "list interfaces with 'ifconfig -l'; Internet Sharing makes bridge100 once "
    "it is switched on"
)


@dataclass(frozen=True, slots=True)
class CommandOutput:
    """What a command a probe ran printed, and how it exited."""

    returncode: int
    """The exit code; 0 for success."""
    stdout: str
    """Everything it printed on standard output."""
    stderr: str = ""
    """Everything it printed on standard error."""


CommandRunner = Callable[[Sequence[str]], CommandOutput]
"""Runs an argument list (no shell) and returns its output; see :func:`run_command`."""


def run_command(argv: Sequence[str]) -> CommandOutput:
    """Run ``argv`` without a shell, for at most :data:`COMMAND_TIMEOUT` seconds.

    Raises ``OSError`` when the program is missing and
    ``subprocess.TimeoutExpired`` when it hangs; the doctor reports either
    as a failed check.
    """
    logger.debug("doctor runs %s", " ".join(argv))
    completed = subprocess.run(  # noqa: S603 (argument list, no shell)
        list(argv),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return CommandOutput(completed.returncode, completed.stdout, completed.stderr)


def interface_names() -> set[str]:
    """The names of this machine's network interfaces, from ``if_nameindex(3)``."""
    return {name for _, name in socket.if_nameindex()}


def check_interface(
    interface: str,
    sys_class_net: Path = Path("/sys/class/net"),
    platform: str = sys.platform,
    run: CommandRunner = run_command,
    interfaces: Collection[str] | None = None,
) -> Check:
    """Does the interface exist, is it up, and does it have a link?

    ``interfaces`` are the machine's interface names (``None``: ask
    :func:`interface_names`). Linux reads the state from ``sys_class_net``;
    other platforms (macOS) from ``ifconfig NAME`` run through ``run``. Up
    without a link (nothing joined the hotspot yet) is a warning.
    """
    name, needs = f"interface {interface}", (Feature.PACKETS,)
    present = interface_names() if interfaces is None else interfaces
    if interface not in present:
        detail = "does not exist"
        return Check(name, False, needs, detail, _FIX_MISSING, _FIX_MISSING_MACOS)
    link: str | None
    if platform == "linux":
        up, link = _linux_state(sys_class_net / interface)
    else:
        up, link = _ifconfig_state(interface, run)
    if not up:
        fix_linux = f"ip link set {interface} up"
        fix_macos = f"sudo ifconfig {interface} up"
        return Check(name, False, needs, "is down", fix_linux, fix_macos)
    if link in _NO_LINK:
        detail = f"up, but no link ({link}): nothing connected yet?"
        fixes = (_FIX_MISSING, _FIX_MISSING_MACOS)
        return Check(name, True, needs, detail, *fixes, warning=True)
    return Check(name, True, needs, f"up ({link})" if link else "up")


def _linux_state(folder: Path) -> tuple[bool, str]:
    """Whether the interface is up, and its link state (``operstate``)."""
    flags = int((folder / "flags").read_text(encoding="ascii"), 16)
    state = (folder / "operstate").read_text(encoding="ascii").strip()
    return bool(flags & _IFF_UP), state


def _ifconfig_state(interface: str, run: CommandRunner) -> tuple[bool, str | None]:
    """Whether the interface is up, and its link status, from ``ifconfig NAME``.

    The first line holds the interface's own flags; the flags of a bridge's
    members, further down, must not count. Interfaces with no link to report
    (loopback, tunnels) print no ``status:`` line: their status is None.
    """
    output = run(["ifconfig", interface])
    if output.returncode != 0:
        said = (output.stderr or output.stdout).strip() or "no message"
        raise ValueError(f"ifconfig {interface} failed: {said}")
    flags = _IFCONFIG_FLAGS.search(output.stdout)
    if flags is None:
        raise ValueError(f"ifconfig {interface} printed no flags line")
    status = _IFCONFIG_STATUS.search(output.stdout)
    return "UP" in flags.group(1).split(","), status.group(1) if status else None


def check_forwarding(
    proc_sys: Path = Path("/proc/sys"),
    platform: str = sys.platform,
    run: CommandRunner = run_command,
) -> Check:
    """Report IPv4 forwarding, which the toy needs to reach the internet.

    On Linux, transparent mode switches it on by itself for the capture. On
    macOS, Internet Sharing switches it on; off there means the toy on the
    shared network cannot reach its servers, which is a warning.
    """
    name = "IP forwarding"
    if platform == "linux":
        state = (proc_sys / "net/ipv4/ip_forward").read_text(encoding="ascii")
        if state.strip() == "1":
            return Check(name, True, (), "on")
        detail = "off; transparent mode turns it on during a capture, then restores it"
        return Check(name, True, (), detail)
    output = run(["sysctl", "-n", "net.inet.ip.forwarding"])
    state = output.stdout.strip()
    if output.returncode != 0 or state not in ("0", "1"):
        said = (output.stderr or output.stdout).strip() or "no message"
        raise ValueError(f"sysctl net.inet.ip.forwarding failed: {said}")
    if state == "1":
        return Check(name, True, (), "on")
    detail = "off: a toy on the shared network cannot reach the internet"
    fix = (
        "switch on Internet Sharing, which turns it on; or "
        "sudo sysctl -w net.inet.ip.forwarding=1"
    )
    return Check(name, True, (), detail, "", fix, warning=True)
