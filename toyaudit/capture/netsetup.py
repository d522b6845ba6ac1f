"""Make the network changes of a transparent capture on Linux, always undone.

:mod:`.networkplan` says which changes transparent mode needs (IP
forwarding, ICMP redirects off, nat PREROUTING ``REDIRECT`` rules) and
:func:`~.networkplan.plan_transparent` lists them; this module makes them
and undoes them. Its planning names stay importable from here.

Each change is written to a journal (``.network-changes.json`` in the
session folder, replaced atomically) *before* it is made, with the sysctl
value it replaces. Undo walks the journal backwards: it restores every
sysctl and deletes exactly the rules it added, which carry the comment
``toyaudit:<session>``. A rule or value already gone is not an error, so
undo can run twice, and :func:`undo_leftovers` can clean up after a run
that crashed half way (``toyaudit capture --undo-network SESSION``).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toyaudit.capture.networkplan import (
    FirewallRule,
    NetworkChange,
    NetworkPlan,
    SysctlChange,
    plan_transparent,
    session_tag,
)
from toyaudit.errors import CaptureError
from toyaudit.files import write_atomic

logger = logging.getLogger(__name__)

JOURNAL_FILE = ".network-changes.json"
"""The journal of changes made, in the session folder (hidden: not evidence)."""
JOURNAL_FORMAT = 1
PROC_SYS = Path("/proc/sys")
COMMAND_TIMEOUT = 15.0
"""Seconds one iptables command may take (it may wait for the xtables lock)."""


@dataclass(frozen=True, slots=True)
class LeftoverUndo:
    """What :func:`undo_leftovers` did with a crashed run's journal."""

    undone: tuple[str, ...]
    """Changes undone (or found already undone), in the order undone."""
    problems: tuple[str, ...]
    """Changes that could not be undone; they stay in the journal."""


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


__all__ = [
    "COMMAND_TIMEOUT",
    "JOURNAL_FILE",
    "JOURNAL_FORMAT",
    "PROC_SYS",
    "FirewallRule",
    "LeftoverUndo",
    "NetworkChange",
    "NetworkChanges",
    "NetworkPlan",
    "SysctlChange",
    "plan_transparent",
    "session_tag",
    "undo_leftovers",
]
