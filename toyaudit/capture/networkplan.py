"""The network changes a transparent capture needs on Linux, planned, not made.

In transparent mode the toy joins the laptop's hotspot and does not know it
is being proxied: the kernel hands its TCP connections to mitmdump. That
takes, following mitmproxy's documentation for transparent mode on Linux:

1. IP forwarding on (``net.ipv4.ip_forward``, and IPv6's when asked), so the
   toy's other traffic still reaches the internet;
2. ICMP redirects off (``send_redirects``), so the laptop never tells the toy
   to bypass it;
3. a nat PREROUTING rule per port (or one for all TCP) on the hotspot
   interface: ``REDIRECT --to-ports <proxy port>`` for the toy's traffic,
   except traffic to the laptop itself. REDIRECT goes through connection
   tracking, which keeps the original destination; mitmproxy reads it back
   with ``SO_ORIGINAL_DST``, so nothing else is needed.

This module holds those changes as records and :func:`plan_transparent`,
which lists them for one capture; it touches nothing. Making and undoing
them, with the journal that makes undo safe, is :mod:`.netsetup`.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from toyaudit.errors import CaptureError

logger = logging.getLogger(__name__)

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True, slots=True)
class SysctlChange:
    """Set one kernel parameter, restoring its previous value on undo."""

    key: str
    """Path under /proc/sys, e.g. ``net/ipv4/ip_forward``."""
    value: str

    def describe(self) -> str:
        """Say what the change does, for messages."""
        return f"sysctl {self.key.replace('/', '.')}={self.value}"


@dataclass(frozen=True, slots=True)
class FirewallRule:
    """Append one iptables rule; undo deletes exactly that rule."""

    command: str
    """``iptables`` or ``ip6tables`` (a name on PATH or a path)."""
    table: str
    chain: str
    rule: tuple[str, ...]
    """The rule's match and target, as after ``-A CHAIN``."""

    def argv(self, action: str) -> list[str]:
        """The command line that runs ``action`` (-A, -C, -D) on this rule."""
        return [self.command, "-w", "-t", self.table, action, self.chain, *self.rule]

    def describe(self) -> str:
        """Say what the change does, for messages."""
        return " ".join(self.argv("-A"))


NetworkChange = SysctlChange | FirewallRule


@dataclass(frozen=True, slots=True)
class NetworkPlan:
    """The changes one capture makes, in the order they are applied."""

    session: str
    changes: tuple[NetworkChange, ...]


def session_tag(session: str) -> str:
    """The iptables comment marking a session's rules: ``toyaudit:<session>``."""
    return "toyaudit:" + re.sub(r"[^A-Za-z0-9._-]", "_", session)[:200]


def plan_transparent(
    session: str,
    interface: str,
    toy: str,
    proxy_port: int,
    ports: Sequence[int] | None = None,
    *,
    ipv6: bool = False,
    iptables: str = "iptables",
    ip6tables: str = "ip6tables",
    platform: str = sys.platform,
) -> NetworkPlan:
    """Plan the changes that send the toy's TCP on ``interface`` to the proxy.

    ``toy`` is its MAC (both IP versions are redirected) or an IP address
    (that version only). ``ports`` limits the redirect to those TCP ports;
    ``None`` redirects all. ``ipv6`` adds IPv6 forwarding and ip6tables rules.
    """
    if platform != "linux":
        # TODO: macOS needs pf (rdr rules on the Internet Sharing bridge) and
        # net.inet.ip.forwarding; until then Mac users must use WireGuard mode.
        raise CaptureError(
            f"transparent mode is only implemented on Linux (this is {platform})",
            "use WireGuard mode (the toy's phone or a router joins the proxy's "
            "VPN), or capture on a Linux machine or a Linux VM with a USB Wi-Fi "
            "adapter",
        )
    match = _toy_match(toy)
    families = _families(toy, ipv6)
    changes: list[NetworkChange] = [
        SysctlChange("net/ipv4/ip_forward", "1"),
        SysctlChange("net/ipv4/conf/all/send_redirects", "0"),
        SysctlChange(f"net/ipv4/conf/{interface}/send_redirects", "0"),
    ]
    if 6 in families:
        changes.append(SysctlChange("net/ipv6/conf/all/forwarding", "1"))
    tag = session_tag(session)
    for family in families:
        command = iptables if family == 4 else ip6tables
        for port in ports or (None,):
            rule = _redirect_rule(interface, match, port, proxy_port, tag)
            changes.append(FirewallRule(command, "nat", "PREROUTING", rule))
    return NetworkPlan(session, tuple(changes))


def _toy_match(toy: str) -> tuple[str, ...]:
    text = toy.strip().lower().replace("-", ":")
    if _MAC.match(text):
        return ("-m", "mac", "--mac-source", text)
    try:
        return ("-s", str(ipaddress.ip_address(text)))
    except ValueError:
        raise CaptureError(
            f"toy address {toy!r} is neither a MAC nor an IP address",
            "give the toy as a MAC (aa:bb:cc:dd:ee:ff) or an IP address",
        ) from None


def _families(toy: str, ipv6: bool) -> tuple[int, ...]:
    if _MAC.match(toy.strip().lower().replace("-", ":")):
        return (4, 6) if ipv6 else (4,)
    return (ipaddress.ip_address(toy.strip()).version,)


def _redirect_rule(
    interface: str,
    match: tuple[str, ...],
    port: int | None,
    proxy_port: int,
    tag: str,
) -> tuple[str, ...]:
    destination = ("--dport", str(port)) if port is not None else ()
    # Traffic to the laptop itself (DNS over TCP to the hotspot, the proxy's
    # own port) is left alone: proxying it would only loop back.
    not_local = ("-m", "addrtype", "!", "--dst-type", "LOCAL")
    return (
        ("-i", interface, "-p", "tcp", *match, *destination, *not_local)
        + ("-m", "comment", "--comment", tag)
        + ("-j", "REDIRECT", "--to-ports", str(proxy_port))
    )
