"""TLS connections a capture holds no keys for: why, and how a report says so.

A packet capture with a TLS key log is decrypted connection by connection
(:mod:`~toyaudit.ingest.decrypted`). A connection whose client random the key
log does not hold at all was never intercepted, so its content cannot be
shown; that is a limit of the capture, not a failure to read it. The common
cause in a toyaudit session: the toy refused the capture's certificate
(``tls-verdicts.jsonl`` says ``rejected``), so the live capture let its later
connections to the same host through untouched (docs/capture-proxy.md,
"Letting a host through after a rejection"). Those connections are reported
as informational notes, one per host, not as problems.

Real decryption failures stay problems (:class:`~toyaudit.ingest.packets.PacketTally`):
a record that does not authenticate, a handshake the capture missed, a
version toyaudit cannot decrypt, secrets present but incomplete. So does a
key log that holds secrets for none of a file's TLS connections while some
are not explained by a refusal: it is most likely the key log of another
capture.

:class:`KeylessTally` groups the connections of one file by host and cause,
and merges exactly across the shards of a parallel audit: counts add up, the
first connection of a group is the one at the smallest frame. It stores at
most :data:`MAX_HOSTS` groups; a file with more is summed up in one note
per cause whatever the number of shards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from toyaudit.ingest.records import Endpoint, InterceptionVerdict, TlsVerdict

logger = logging.getLogger(__name__)

MAX_HOSTS = 1024
"""(host, cause) groups kept one by one per file, before the notes sum up."""
NOTED_HOSTS = 20
"""Hosts named one by one in the notes of a file; the rest are counted."""

RefusalKey = tuple[str, str]
"""(client address, server name or, without one, server address): how the
live capture keys the hosts it lets through after a refusal."""


@dataclass(frozen=True, slots=True)
class Refusals:
    """The hosts each client refused interception for, from ``tls-verdicts.jsonl``."""

    keys: frozenset[RefusalKey] = frozenset()

    @classmethod
    def from_verdicts(cls, verdicts: Iterable[TlsVerdict]) -> Refusals:
        """The refusals among the verdicts."""
        return cls(
            frozenset(
                (verdict.client.ip, verdict.sni or verdict.server.ip)
                for verdict in verdicts
                if verdict.verdict is InterceptionVerdict.REJECTED
            )
        )

    def refused(self, client: Endpoint, host: str) -> bool:
        """Whether ``client`` refused interception of ``host`` in the session."""
        return (client.ip, host) in self.keys


@dataclass(frozen=True, slots=True)
class KeylessConnection:
    """A TLS connection whose client random the key log does not hold."""

    client: Endpoint
    server: Endpoint
    server_name: str | None
    """The SNI of its ClientHello, if it sent one."""
    frame: int
    """The first frame of its first TLS record (the ClientHello)."""

    @property
    def host(self) -> str:
        """The server name, else the server's address."""
        return self.server_name or self.server.ip

    def describe(self) -> str:
        """``client -> server``."""
        return f"{self.client} -> {self.server}"


@dataclass(slots=True)
class _Group:
    """The keyless connections of one file to one host, for one cause."""

    connections: int
    first: tuple[int, str]
    """(frame, ``client -> server``) of the earliest connection."""

    def merge(self, other: _Group) -> None:
        self.connections += other.connections
        self.first = min(self.first, other.first)


@dataclass(slots=True)
class KeylessTally:
    """The keyless TLS connections of one file, grouped by host and cause."""

    name: str
    groups: dict[tuple[bool, str], _Group] = field(default_factory=dict)
    """By (refused, host): whether the toy refused interception of the host."""
    totals: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    """Keyless connections by cause, every one counted, stored or not."""
    overflow: bool = False
    """Whether more than :data:`MAX_HOSTS` groups were seen."""
    decrypted: int = 0
    """Connections of the file whose secrets the key log held."""

    def add(self, connection: KeylessConnection, refused: bool) -> None:
        """Count one keyless connection; ``refused`` says whether its client
        refused interception of its host."""
        self.totals[refused] += 1
        key = (refused, connection.host)
        counted = _Group(1, (connection.frame, connection.describe()))
        group = self.groups.get(key)
        if group is not None:
            group.merge(counted)
        elif len(self.groups) < MAX_HOSTS:
            self.groups[key] = counted
        else:
            self.overflow = True

    def merge(self, other: KeylessTally) -> None:
        """Add another shard's connections of the same file."""
        self.decrypted += other.decrypted
        for refused, count in other.totals.items():
            self.totals[refused] += count
        self.overflow |= other.overflow
        for key, group in other.groups.items():
            mine = self.groups.get(key)
            if mine is not None:
                mine.merge(group)
            else:
                self.groups[key] = group
        if len(self.groups) > MAX_HOSTS:
            self.overflow = True

    def problems(self) -> list[str]:
        """A problem when the key log seems not to be this file's at all."""
        unexplained = self.totals[False]
        if self.decrypted or not unexplained:
            return []
        which = "" if not self.totals[True] else " the capture did not pass through"
        # Past the overflow the groups kept depend on the shards: name none.
        firsts = [
            group.first
            for (refused, _), group in self.groups.items()
            if not refused and not self.overflow
        ]
        first = (
            f", the first {min(firsts)[1]} at frame {min(firsts)[0]}" if firsts else ""
        )
        return [
            f"{self.name}: TLS connections not decrypted: the key log holds no "
            f"secrets for any of the {unexplained} TLS connections{which}{first}; "
            "check that the key log belongs to this capture"
        ]

    def notes(self) -> list[str]:
        """One note per host whose content the capture could not show."""
        if self.overflow:
            return self._summary()
        blamed = self.problems()
        groups = sorted(
            (group.first, refused, host)
            for (refused, host), group in self.groups.items()
            if refused or not blamed
        )
        notes = [
            _note(self.name, host, refused, self.groups[refused, host])
            for _, refused, host in groups[:NOTED_HOSTS]
        ]
        left = groups[NOTED_HOSTS:]
        if left:
            connections = sum(
                self.groups[refused, host].connections for _, refused, host in left
            )
            notes.append(
                f"{self.name}: content not visible for {connections} more TLS "
                f"connections to {len(left)} more hosts, for the same reasons"
            )
        return notes

    def _summary(self) -> list[str]:
        """The notes of a file with more hosts than are kept: one per cause."""
        notes = []
        if self.totals[True]:
            notes.append(
                f"{self.name}: content not visible for {self.totals[True]} TLS "
                "connections the capture passed through untouched because the toy "
                f"refused its interception (to more than {MAX_HOSTS} hosts in all)"
            )
        if self.totals[False] and self.decrypted:
            notes.append(
                f"{self.name}: content not visible for {self.totals[False]} TLS "
                "connections the key log holds no secrets for "
                f"(to more than {MAX_HOSTS} hosts in all)"
            )
        return notes


def _note(name: str, host: str, refused: bool, group: _Group) -> str:
    """The note for the keyless connections of one file to one host."""
    frame, connection = group.first
    if group.connections == 1:
        which = f"1 TLS connection, {connection} at frame {frame}"
    else:
        which = (
            f"{group.connections} TLS connections, the first {connection} "
            f"at frame {frame}"
        )
    if refused:
        return (
            f"{name}: content not visible: the toy refused interception of {host}, "
            f"so the capture passed it through ({which})"
        )
    return (
        f"{name}: content not visible: the key log holds no secrets for {host}, "
        f"so it stays encrypted ({which})"
    )
