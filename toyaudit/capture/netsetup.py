"""The network changes a transparent capture makes on Linux, always undone.

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

Each change is written to a journal (``.network-changes.json`` in the
session folder, replaced atomically) *before* it is made, with the sysctl
value it replaces. Undo walks the journal backwards: it restores every
sysctl and deletes exactly the rules it added, which carry the comment
``toyaudit:<session>``. A rule or value already gone is not an error, so
undo can run twice, and :func:`undo_leftovers` can clean up after a run
that crashed half way (``toyaudit capture --undo-network SESSION``).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toyaudit.errors import CaptureError
from toyaudit.files import write_atomic

logger = logging.getLogger(__name__)

JOURNAL_FILE = ".network-changes.json"
"""The journal of changes made, in the session folder (hidden: not evidence)."""
JOURNAL_FORMAT = 1
PROC_SYS = Path("/proc/sys")
COMMAND_TIMEOUT = 15.0
"""Seconds one iptables command may take (it may wait for the xtables lock)."""
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


@dataclass(frozen=True, slots=True)
class LeftoverUndo:
    """What :func:`undo_leftovers` did with a crashed run's journal."""

    undone: tuple[str, ...]
    """Changes undone (or found already undone), in the order undone."""
    problems: tuple[str, ...]
    """Changes that could not be undone; they stay in the journal."""


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


class NetworkChanges:
    """Applies a :class:`NetworkPlan`, journalling first, and undoes it.

    ``proc_sys`` is where sysctls are read and written (default /proc/sys);
    the journal goes into ``session_folder``.
    """

    def __init__(
        self, session_folder: Path, plan: NetworkPlan, *, proc_sys: Path = PROC_SYS
    ) -> None:
        self.journal = session_folder / JOURNAL_FILE
        self.plan = plan
        self._proc_sys = proc_sys
        self._applied = False

    def apply(self) -> None:
        """Make every change, journalling each first.

        Raises :class:`CaptureError` naming the command and the fix; whatever
        was changed before the failure is undone first.
        """
        self._preflight()
        self._applied = True
        entries: list[dict[str, Any]] = []
        try:
            for change in self.plan.changes:
                entries.append(_entry(change, self._proc_sys))
                _write_journal(self.journal, self.plan.session, entries)
                try:
                    _make(change, self._proc_sys)
                except CaptureError:
                    # The change that failed was not made: undo only the rest.
                    _write_journal(self.journal, self.plan.session, entries[:-1])
                    raise
                logger.debug("network change made: %s", change.describe())
        except CaptureError:
            problems = self.undo()
            if problems:
                logger.warning("could not undo: %s", "; ".join(problems))
            raise
        logger.info("network set up for transparent capture (%d changes)", len(entries))

    def undo(self) -> list[str]:
        """Undo every journalled change in reverse; return what could not be.

        Never raises; safe to call twice (the journal is gone after a full
        undo). Does nothing unless :meth:`apply` got past its checks: an
        earlier run's journal is left for :func:`undo_leftovers`.
        """
        if not self._applied:
            return []
        outcome = _undo_journal(self.journal, self._proc_sys)
        return list(outcome.problems)

    def _preflight(self) -> None:
        """Refuse before changing anything when a command or sysctl is missing."""
        if self.journal.exists():
            raise CaptureError(
                f"{self.journal} records network changes of an earlier capture "
                "that were never undone",
                f"undo them first: toyaudit capture --undo-network "
                f"{self.journal.parent}",
            )
        for change in self.plan.changes:
            if isinstance(change, FirewallRule):
                _require_command(change.command)
            elif not (self._proc_sys / change.key).is_file():
                raise CaptureError(
                    f"kernel parameter {change.key.replace('/', '.')} does not exist",
                    "check the interface name with 'ip link' (the hotspot "
                    "interface must exist and have IPv4/IPv6 enabled)",
                )


def undo_leftovers(session_folder: Path, *, proc_sys: Path = PROC_SYS) -> LeftoverUndo:
    """Undo the network changes a crashed capture left in ``session_folder``.

    Does nothing when there is no journal. Never raises for a change that
    fails to undo: it is listed in ``problems`` and kept in the journal, so
    the command can be run again once the cause is fixed.
    """
    return _undo_journal(session_folder / JOURNAL_FILE, proc_sys)


def _undo_journal(journal: Path, proc_sys: Path) -> LeftoverUndo:
    try:
        session, entries = _read_journal(journal)
    except CaptureError as error:
        return LeftoverUndo((), (str(error),))
    undone: list[str] = []
    failed: list[dict[str, Any]] = []
    problems: list[str] = []
    for entry in reversed(entries):
        try:
            undone.append(_revert(entry, proc_sys))
        except (CaptureError, KeyError, TypeError, ValueError) as error:
            failed.insert(0, entry)
            problems.append(f"{_describe_entry(entry)}: {error}")
    try:
        if failed:
            _write_journal(journal, session, failed)
        else:
            journal.unlink(missing_ok=True)
    except (OSError, CaptureError) as error:
        problems.append(f"cannot update {journal}: {error}")
    if undone:
        logger.info("undid %d network changes", len(undone))
    return LeftoverUndo(tuple(undone), tuple(problems))


def _entry(change: NetworkChange, proc_sys: Path) -> dict[str, Any]:
    """The journal entry of a change, with the sysctl value it replaces."""
    if isinstance(change, SysctlChange):
        previous = _read_sysctl(proc_sys, change.key)
        return {"kind": "sysctl", **asdict(change), "previous": previous}
    return {"kind": "firewall", **asdict(change), "rule": list(change.rule)}


def _make(change: NetworkChange, proc_sys: Path) -> None:
    if isinstance(change, SysctlChange):
        _write_sysctl(proc_sys, change.key, change.value)
    elif not _rule_present(change):
        # Added only when absent: a rule left by a crash whose journal was
        # lost is taken over rather than doubled.
        _run(change.argv("-A"), change)


def _revert(entry: dict[str, Any], proc_sys: Path) -> str:
    """Undo one journal entry; an already-undone change is not an error."""
    if entry["kind"] == "sysctl":
        key, previous = str(entry["key"]), str(entry["previous"])
        if not (proc_sys / key).is_file():
            return f"sysctl {key.replace('/', '.')}: gone with its interface"
        if _read_sysctl(proc_sys, key) != previous:
            _write_sysctl(proc_sys, key, previous)
        return f"sysctl {key.replace('/', '.')}={previous}"
    rule = FirewallRule(
        str(entry["command"]),
        str(entry["table"]),
        str(entry["chain"]),
        tuple(str(part) for part in entry["rule"]),
    )
    if _rule_present(rule):
        _run(rule.argv("-D"), rule)
    return " ".join(rule.argv("-D"))


def _rule_present(rule: FirewallRule) -> bool:
    """Ask ``iptables -C``: 0 present; 1 absent; 2 a rule that cannot exist."""
    return _run(rule.argv("-C"), rule, ok=(0, 1, 2)) == 0


def _describe_entry(entry: dict[str, Any]) -> str:
    if entry.get("kind") == "sysctl":
        return f"restoring sysctl {entry.get('key')}"
    return f"deleting rule {' '.join(str(part) for part in entry.get('rule', ()))}"


def _read_sysctl(proc_sys: Path, key: str) -> str:
    try:
        return (proc_sys / key).read_text(encoding="ascii").strip()
    except OSError as error:
        raise _sysctl_error(key, "read", error) from error


def _write_sysctl(proc_sys: Path, key: str, value: str) -> None:
    try:
        (proc_sys / key).write_text(value + "\n", encoding="ascii")
    except OSError as error:
        raise _sysctl_error(key, "set", error) from error


def _sysctl_error(key: str, verb: str, error: OSError) -> CaptureError:
    name = key.replace("/", ".")
    if isinstance(error, PermissionError):
        return CaptureError(
            f"cannot {verb} kernel parameter {name}: permission denied",
            "run toyaudit capture with sudo: transparent mode changes the "
            "network and needs root (CAP_NET_ADMIN)",
        )
    return CaptureError(
        f"cannot {verb} kernel parameter {name}: {error.strerror}",
        "check the interface name with 'ip link'",
    )


def _require_command(command: str) -> None:
    if shutil.which(command) is None:
        raise CaptureError(
            f"{command} not found; transparent mode needs it to redirect the "
            "toy's connections",
            "install it (Debian/Ubuntu: apt-get install iptables; Fedora: dnf "
            "install iptables-nft) and make sure /usr/sbin is on PATH",
        )


def _run(argv: list[str], rule: FirewallRule, ok: tuple[int, ...] = (0,)) -> int:
    """Run an iptables command; raise CaptureError unless its exit is in ``ok``."""
    try:
        completed = subprocess.run(  # noqa: S603 (argument list, no shell)
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CaptureError(
            f"cannot run {' '.join(argv)}: {error}",
            "check that iptables is installed and not hanging on its lock",
        ) from error
    if completed.returncode not in ok:
        detail = completed.stderr.strip().splitlines()
        raise CaptureError(
            f"'{' '.join(argv)}' failed (exit {completed.returncode}): "
            f"{detail[-1] if detail else 'no message'}",
            _firewall_hint(completed.stderr, rule),
        )
    return completed.returncode


def _firewall_hint(stderr: str, rule: FirewallRule) -> str:
    if "ermission denied" in stderr or "must be root" in stderr:
        return "run toyaudit capture with sudo: changing the firewall needs root"
    return (
        f"check the interface name with 'ip link' and that the kernel has NAT "
        f"support for {rule.command} (modprobe nft_chain_nat nft_redir)"
    )


def _write_journal(journal: Path, session: str, entries: list[dict[str, Any]]) -> None:
    document = {"format": JOURNAL_FORMAT, "session": session, "changes": entries}
    try:
        write_atomic(journal, json.dumps(document, indent=1).encode("utf-8"))
    except OSError as error:
        raise CaptureError(
            f"cannot write the network journal {journal}: {error.strerror}",
            "free some disk space; no network change is made without its record",
        ) from error


def _read_journal(journal: Path) -> tuple[str, list[dict[str, Any]]]:
    """Return the session and entries of a journal; none when there is none."""
    try:
        document = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "", []
    except (OSError, ValueError) as error:
        raise CaptureError(
            f"cannot read the network journal {journal}: {error}",
            "undo by hand: iptables -t nat -S PREROUTING lists the rules; "
            "delete those commented toyaudit:<session>",
        ) from error
    if not isinstance(document, dict) or document.get("format") != JOURNAL_FORMAT:
        raise CaptureError(
            f"{journal} is not a network journal of format {JOURNAL_FORMAT}",
            "undo by hand: iptables -t nat -S PREROUTING lists the rules",
        )
    entries = [
        entry for entry in document.get("changes", []) if isinstance(entry, dict)
    ]
    return str(document.get("session", "")), entries
