"""Network namespaces with a veth pair to the host, for tests on real interfaces.

Capture code needs real interfaces: a sniffer bound to a veth, firewall
rules on a hotspot interface. Tests get them from namespaces they create
and always delete, so the host's own interfaces, addresses and firewall are
never touched. Every name carries a random suffix, so tests running side by
side (or a crashed run's leftovers) never collide.

Creating namespaces needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and the
``ip`` command from iproute2; :func:`require_root_tools` fails the test with
a message naming what is missing, since CI installs both.

Typical use in a fixture::

    with veth_namespace("toy") as lab:
        lab.run("python3", "-c", "...")        # runs inside the namespace
        sniff_on(lab.host_interface)            # the host end of the pair
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

SUBNET_BASE = "10.231"
"""First two octets of the /24 subnets given to veth pairs (private, rarely used)."""


@dataclass(frozen=True, slots=True)
class VethNamespace:
    """A namespace joined to the host by a veth pair, each end with an address.

    The "host" end may itself sit in another namespace (``outer_namespace``),
    so that a test can build a client → gateway chain without touching the
    real host.
    """

    namespace: str
    """The namespace name, as ``ip netns`` knows it."""
    host_interface: str
    """The end of the pair outside the namespace."""
    inner_interface: str
    """The end inside the namespace."""
    host_address: str
    """IPv4 address of the host end (``x.y.z.1``)."""
    inner_address: str
    """IPv4 address of the inner end (``x.y.z.2``)."""
    host_mac: str
    """MAC address of the host end, lower case."""
    inner_mac: str
    """MAC address of the inner end, lower case."""
    outer_namespace: str | None = None
    """Where the host end is: ``None`` for the host itself, else a namespace."""

    def command(self, *argv: str) -> list[str]:
        """Return ``argv`` wrapped so that it runs inside the namespace."""
        return namespace_command(self.namespace, *argv)

    def run(
        self, *argv: str, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace and return its captured output."""
        return run_checked(self.command(*argv), check=check, timeout=timeout)

    def outer_command(self, *argv: str) -> list[str]:
        """Return ``argv`` wrapped so that it runs where the host end is."""
        return _where(self.outer_namespace)(*argv)

    def run_outer(
        self, *argv: str, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run a command where the host end is and return its captured output."""
        return run_checked(self.outer_command(*argv), check=check, timeout=timeout)


def require_root_tools(*tools: str) -> None:
    """Fail the calling test unless we are root and every tool is on PATH."""
    if os.geteuid() != 0:
        pytest.fail("this test creates network namespaces: run it as root")
    missing = [tool for tool in ("ip", *tools) if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"this test needs {', '.join(missing)} on PATH "
            "(Debian: apt-get install iproute2 iptables util-linux)"
        )


def namespace_command(namespace: str, *argv: str) -> list[str]:
    """Return ``argv`` wrapped in ``ip netns exec NAMESPACE``."""
    return ["ip", "netns", "exec", namespace, *argv]


def run_checked(
    argv: Sequence[str], check: bool = True, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run a command, failing with its stderr when ``check`` and it fails."""
    completed = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited with {completed.returncode}: "
            f"{completed.stderr.strip()}"
        )
    return completed


def create_namespace(prefix: str = "ta") -> str:
    """Create an empty namespace with its loopback up; return its name."""
    name = f"{prefix}-{secrets.token_hex(4)}"
    run_checked(["ip", "netns", "add", name])
    try:
        run_checked(namespace_command(name, "ip", "link", "set", "lo", "up"))
    except BaseException:
        delete_namespace(name)
        raise
    return name


def delete_namespace(name: str) -> None:
    """Delete a namespace and every interface inside it; tolerate it being gone."""
    run_checked(["ip", "netns", "delete", name], check=False)


def create_veth_namespace(
    prefix: str = "ta",
    inner_mac: str | None = None,
    outer_namespace: str | None = None,
) -> VethNamespace:
    """Create a namespace and a veth pair to it, addressed on a free /24.

    ``inner_mac`` sets the inner end's MAC (default: a random local address).
    ``outer_namespace`` puts the other end in that namespace instead of the
    host. The caller must delete it with :func:`delete_veth_namespace`.
    """
    namespace = create_namespace(prefix)
    suffix = secrets.token_hex(3)
    host_interface, inner_interface = f"{prefix[:3]}{suffix}h", f"{prefix[:3]}{suffix}i"
    outer = _where(outer_namespace)
    try:
        subnet = _free_subnet()
        mac = inner_mac or _random_mac()
        _link_pair(outer, (namespace, host_interface, inner_interface), mac, subnet)
        return VethNamespace(
            namespace=namespace,
            host_interface=host_interface,
            inner_interface=inner_interface,
            host_address=f"{subnet}.1",
            inner_address=f"{subnet}.2",
            host_mac=_read_mac(outer, host_interface),
            inner_mac=mac.lower(),
            outer_namespace=outer_namespace,
        )
    except BaseException:
        run_checked(outer("ip", "link", "delete", host_interface), check=False)
        delete_namespace(namespace)
        raise


def delete_veth_namespace(lab: VethNamespace) -> None:
    """Delete the pair and the namespace; safe to call twice.

    An outer namespace is left alone: whoever created it deletes it.
    """
    lab.run_outer("ip", "link", "delete", lab.host_interface, check=False)
    delete_namespace(lab.namespace)


@contextmanager
def veth_namespace(
    prefix: str = "ta",
    inner_mac: str | None = None,
    outer_namespace: str | None = None,
) -> Iterator[VethNamespace]:
    """Yield a :class:`VethNamespace`, deleted on exit whatever happened."""
    lab = create_veth_namespace(prefix, inner_mac, outer_namespace)
    try:
        yield lab
    finally:
        delete_veth_namespace(lab)


def _link_pair(
    outer: Callable[..., list[str]],
    names: tuple[str, str, str],
    mac: str,
    subnet: str,
) -> None:
    namespace, host_interface, inner_interface = names
    run_checked(
        outer("ip", "link", "add", host_interface, "type", "veth")
        + ["peer", "name", inner_interface, "netns", namespace]
    )
    run_checked(outer("ip", "addr", "add", f"{subnet}.1/24", "dev", host_interface))
    run_checked(outer("ip", "link", "set", host_interface, "up"))
    inside = [
        ["ip", "link", "set", inner_interface, "address", mac],
        ["ip", "addr", "add", f"{subnet}.2/24", "dev", inner_interface],
        ["ip", "link", "set", inner_interface, "up"],
    ]
    for argv in inside:
        run_checked(namespace_command(namespace, *argv))


def _where(outer_namespace: str | None) -> Callable[..., list[str]]:
    """Return a function wrapping a command to run where the host end goes."""

    def wrap(*argv: str) -> list[str]:
        if outer_namespace is None:
            return list(argv)
        return namespace_command(outer_namespace, *argv)

    return wrap


def _free_subnet() -> str:
    """Pick a /24 under SUBNET_BASE that no host interface uses yet."""
    used = run_checked(["ip", "-4", "-o", "addr", "show"]).stdout
    for _ in range(50):
        subnet = f"{SUBNET_BASE}.{secrets.randbelow(254) + 1}"
        if f" {subnet}." not in used:
            return subnet
    raise RuntimeError(f"no free /24 left under {SUBNET_BASE}.0.0/16")


def _random_mac() -> str:
    """A random unicast, locally administered MAC address."""
    octets = [0x02, *secrets.token_bytes(5)]
    return ":".join(f"{octet:02x}" for octet in octets)


def _read_mac(outer: Callable[..., list[str]], interface: str) -> str:
    address_file = f"/sys/class/net/{interface}/address"
    return run_checked(outer("cat", address_file)).stdout.strip().lower()
