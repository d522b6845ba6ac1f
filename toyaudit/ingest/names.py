"""Name servers by the DNS answers their clients received.

A toy's MQTT connection, a raw TCP or UDP stream or a TLS handshake without
SNI carries no host name: only the server's address. But the client looked
that address up first, and a packet capture usually holds the answer. A
:class:`NameTable` learns, from every DNS answer a capture shows (UDP from
port 53, :func:`~toyaudit.ingest.dns.parse_dns_answers`), which name each
client asked for to get each address, and :meth:`NameTable.name` gives an
observation that names no host itself the name its client had looked up,
as :attr:`~toyaudit.ingest.records.Evidence.dns_name`. The server's address
stays in the observation and in its evidence reference, next to the frame of
the answer, so a reader sees both.

Which answer names an observation:

* only an answer sent to the observation's own client, for the address the
  observation went to;
* the latest such answer before the observation: in the same capture, an
  answer in an earlier frame than the observation's first; in another file
  of the session (a mitmproxy flow file, ``tls-verdicts.jsonl``, a second
  capture), an answer captured no later than the observation was sent. The
  session's files are recorded on one machine with one clock, which makes
  times comparable across them; ingest reads packet captures before the other
  files so that their answers are known (docs/ingest.md);
* CNAME chains are followed back to the name asked for: that is the name
  the client chose.

The table never forgets what it learnt, so what it answers for an
observation depends only on the answers before it, not on when the question
is asked: every shard of a parallel audit reads every DNS answer and names
its observations exactly as one process does. Memory is bounded by
:data:`MAX_NAMES` (name, address, client) entries; once full, answers that
would add one are only counted, and an address whose name changed after
that is no longer named (:meth:`NameTable.overflow_note`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from toyaudit.ingest.records import (
    DnsName,
    Evidence,
    HttpRequest,
    MqttMessage,
    Observation,
    RawPayload,
    TlsClientHello,
    TlsServerHello,
    TlsVerdict,
    WebSocketMessage,
)

logger = logging.getLogger(__name__)

MAX_NAMES = 1 << 14
"""Names remembered per audit, each for one client and one address."""

_Key = tuple[str, str]
"""(client address, server address)."""


@dataclass(frozen=True, slots=True)
class _Named:
    """From the answer ``name.answer`` on, the client's name for the address."""

    name: DnsName
    frame: int
    """The last frame that carried the answer (fragments: the last)."""


class NameTable:
    """The names each client looked up for each server address, as answered."""

    def __init__(self, limit: int = MAX_NAMES) -> None:
        self.limit = limit
        self._names: dict[_Key, list[_Named]] = {}
        """Per key, each change of name, in the order the answers were read."""
        self._size = 0
        self._closed: dict[_Key, _Named] = {}
        """Keys whose name changed once the table was full: from that answer
        on, the name is unknown."""
        self.dropped = 0
        """Answers not remembered because the table was full."""

    def __len__(self) -> int:
        """How many names the table holds."""
        return self._size

    def learn(
        self, client: str, asked: str, addresses: Iterable[str], answer: Evidence
    ) -> None:
        """Remember that ``client`` was told ``addresses`` for the name ``asked``.

        ``answer`` is the DNS response's evidence: its file, frames and time.
        An answer repeating the name a key already has adds nothing.
        """
        for address in dict.fromkeys(addresses):
            key = (client, address)
            history = self._names.get(key)
            if history is not None and history[-1].name.name == asked:
                continue
            named = _Named(
                DnsName(asked, address, answer), max(answer.packets, default=0)
            )
            if self._size >= self.limit:
                if not self.dropped:
                    logger.info("DNS name table full at %d names", self.limit)
                self.dropped += 1
                if history is not None:
                    self._closed.setdefault(key, named)
                continue
            if history is None:
                history = self._names[key] = []
            history.append(named)
            self._size += 1

    def name(self, observation: Observation) -> Observation:
        """The observation, given its client's DNS name for its server if it
        names no host itself and an answer before it gave one."""
        if not self._size:
            return observation
        key = _unnamed(observation)
        history = None if key is None else self._names.get(key)
        if key is None or history is None:
            return observation
        evidence = observation.evidence
        closed = self._closed.get(key)
        if closed is not None and _before(closed, evidence):
            return observation
        found = _latest_before(history, evidence)
        if found is None:
            return observation
        named = Evidence(
            evidence.file, evidence.packets, evidence.flow_id, evidence.time, found.name
        )
        return replace(observation, evidence=named)

    def overflow_note(self) -> str | None:
        """Words for the answers the table had no room for, if there were any."""
        if not self.dropped:
            return None
        return (
            f"{self.dropped} DNS answers were not used to name servers: toyaudit "
            f"keeps at most {self.limit} names per audit, so traffic to the "
            "addresses they gave is reported by address"
        )


def _unnamed(observation: Observation) -> _Key | None:
    """(client, server address) of an observation that has nothing but the
    server's address to name it; None for every other observation."""
    match observation:
        case MqttMessage() | RawPayload() | TlsServerHello():
            return observation.client.ip, observation.server.ip
        case TlsClientHello() | TlsVerdict() if observation.sni is None:
            return observation.client.ip, observation.server.ip
        case HttpRequest() | WebSocketMessage() if (
            observation.host == observation.server.ip
        ):
            return observation.client.ip, observation.server.ip
    return None


def _before(named: _Named, evidence: Evidence) -> bool:
    """Whether an answer came before the observation with ``evidence``."""
    answer = named.name.answer
    if answer.file == evidence.file:
        return bool(evidence.packets) and named.frame < min(evidence.packets)
    return (
        answer.time is not None
        and evidence.time is not None
        and answer.time <= evidence.time
    )


def _latest_before(history: list[_Named], evidence: Evidence) -> _Named | None:
    """The latest answer before the observation: an earlier frame of the same
    file first, else the latest in time; among equals, the last read."""
    found: _Named | None = None
    found_rank: tuple[bool, float, int] | None = None
    for position, named in enumerate(history):
        if not _before(named, evidence):
            continue
        same_file = named.name.answer.file == evidence.file
        time = 0.0 if same_file else named.name.answer.time or 0.0
        rank = (same_file, time, position)
        if found_rank is None or rank > found_rank:
            found, found_rank = named, rank
    return found
