"""Run the configured security checks over one shard, and close them.

:func:`build_checks` turns the ``checks:`` rules into configured checks once
per audit, refusing a rule no code implements or whose parameters are wrong.
A :class:`Checker` then feeds each observation to the checks that want its
kind, recording failures in the assessor's
:class:`~toyaudit.assess.tally.CheckTally`, and at the end
(:meth:`Checker.finish`) turns the merged tally, and the finished data
findings, into :class:`~toyaudit.assess.records.CheckFinding` records in a
fixed order.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from toyaudit.assess.checks.base import Observed, SecurityCheck
from toyaudit.assess.checks.bluetooth import (
    CharacteristicAccessCheck,
    JustWorksPairingCheck,
    LegacyPairingCheck,
    TrackableAddressCheck,
)
from toyaudit.assess.checks.interception import InterceptionCheck
from toyaudit.assess.checks.names import BroadcastNameCheck
from toyaudit.assess.checks.plaintext import PlaintextDataCheck
from toyaudit.assess.checks.rule import CheckRule
from toyaudit.assess.checks.tls import Side, TlsSuiteCheck, TlsVersionCheck
from toyaudit.assess.records import CheckFinding, Finding
from toyaudit.assess.tally import CheckTally, EvidenceOrder, FailureTally
from toyaudit.classify.records import Match
from toyaudit.errors import RulesError
from toyaudit.ingest.records import (
    Endpoint,
    InterceptionVerdict,
    Observation,
    TlsClientHello,
    TlsServerHello,
    host_of,
)

logger = logging.getLogger(__name__)

IMPLEMENTATIONS: Mapping[str, Callable[[CheckRule], SecurityCheck]] = {
    "plaintext-personal-data": PlaintextDataCheck,
    "plaintext-credentials": PlaintextDataCheck,
    "tls-old-version-offered": partial(TlsVersionCheck, side=Side.OFFERED),
    "tls-old-version-negotiated": partial(TlsVersionCheck, side=Side.NEGOTIATED),
    "tls-weak-cipher-offered": partial(TlsSuiteCheck, side=Side.OFFERED),
    "tls-weak-cipher-negotiated": partial(TlsSuiteCheck, side=Side.NEGOTIATED),
    "tls-interception-accepted": partial(
        InterceptionCheck, verdict=InterceptionVerdict.ACCEPTED
    ),
    "tls-interception-rejected": partial(
        InterceptionCheck, verdict=InterceptionVerdict.REJECTED
    ),
    "ble-read-without-pairing": partial(CharacteristicAccessCheck, operation="read"),
    "ble-write-without-pairing": partial(CharacteristicAccessCheck, operation="write"),
    "ble-just-works-pairing": JustWorksPairingCheck,
    "ble-legacy-pairing": LegacyPairingCheck,
    "ble-trackable-address": TrackableAddressCheck,
    "child-name-broadcast": BroadcastNameCheck,
}
"""The code of each check, by the id of the rule that configures it."""


@dataclass(frozen=True, slots=True)
class SecurityChecks:
    """The checks of one audit, configured from the rules and ready to run."""

    checks: tuple[SecurityCheck, ...] = ()


def build_checks(rules: Iterable[CheckRule]) -> SecurityChecks:
    """Configure a check for every rule, in id order.

    Raises :class:`~toyaudit.errors.RulesError` naming the rule for an id
    no code implements, and for parameters the check cannot use.
    """
    checks = []
    for rule in sorted(rules, key=lambda rule: rule.id):
        implementation = IMPLEMENTATIONS.get(rule.id)
        if implementation is None:
            raise RulesError(
                f"{rule.source}: check {rule.id}: toyaudit has no code for this check",
                "use the id of a check toyaudit implements: "
                + ", ".join(sorted(IMPLEMENTATIONS)),
            )
        check = implementation(rule)
        check.check_needs()
        checks.append(check)
    logger.debug("%d security checks configured", len(checks))
    return SecurityChecks(tuple(checks))


class Checker:
    """Feeds the observations of one assessor to the checks that want them.

    ``file_rank`` gives each evidence file its place in the session, for
    the order of the evidence of derived checks.
    """

    def __init__(self, checks: SecurityChecks, file_rank: Mapping[str, int]) -> None:
        self._checks = checks.checks
        self._file_rank = file_rank
        self._by_kind: dict[type, list[SecurityCheck]] = {}
        for check in self._checks:
            for kind in check.kinds:
                self._by_kind.setdefault(kind, []).append(check)
        self._names_servers = TlsServerHello in self._by_kind
        self._server_names: dict[tuple[Endpoint, Endpoint], str] = {}
        """Each connection's SNI from its ClientHello, until its ServerHello,
        kept only when a check reads ServerHellos.
        Both are in the same shard, which reads whole conversations. Nothing
        else is evicted: what a shard forgot would depend on how many shards
        there are. Only handshakes the server never answered stay, a few
        hundred bytes each."""

    def add(
        self,
        observation: Observation,
        matches: Sequence[Match],
        order: EvidenceOrder,
        tally: CheckTally,
    ) -> None:
        """Run the checks that want this kind of observation."""
        checks = self._by_kind.get(type(observation))
        if not checks:
            return
        observed = Observed(observation, matches, self._host(observation), order)
        for check in checks:
            check.observe(observed, tally)

    def finish(
        self, tally: CheckTally, findings: Sequence[Finding]
    ) -> tuple[CheckFinding, ...]:
        """Every standing failure as a check finding, most severe first."""
        standing = tally.standing()
        closed = []
        for check in self._checks:
            for subject, failure in check.derive(findings, self._file_rank).items():
                closed.append(_close(check, subject, failure))
            closed += [
                _close(check, subject, failure)
                for (check_id, subject), failure in standing.items()
                if check_id == check.id
            ]
        closed.sort(key=check_order)
        logger.info("%d security check findings", len(closed))
        return tuple(closed)

    def _host(self, observation: Observation) -> str:
        """The host an observation concerns; a ServerHello takes its client's
        SNI, else the name DNS gave its server's address, else the address."""
        match observation:
            case TlsClientHello() if observation.sni and self._names_servers:
                connection = (observation.client, observation.server)
                self._server_names[connection] = observation.sni
            case TlsServerHello():
                connection = (observation.client, observation.server)
                name = self._server_names.pop(connection, None)
                return name or host_of(observation)
        return host_of(observation)


def check_order(finding: CheckFinding) -> tuple[int, str, str, str]:
    """Most severe first, then check id, subject and id."""
    return (-finding.severity.rank, finding.check, finding.subject, finding.id)


def _close(check: SecurityCheck, subject: str, failure: FailureTally) -> CheckFinding:
    rule = check.rule
    identity = f"{check.id}|{subject}"
    return CheckFinding(
        id="C-" + hashlib.sha256(identity.encode()).hexdigest()[:8],
        check=check.id,
        title=rule.title,
        severity=check.severity,
        subject=subject,
        explanation=check.explain(failure),
        evidence=failure.earliest(),
        occurrences=max(failure.occurrences, 1),
        description=rule.description,
        regulations=tuple(rule.regulations),
        findings=tuple(sorted(failure.findings)),
    )
