"""The shape every security check shares, and the words they are explained in.

A :class:`SecurityCheck` is configured from one ``checks:`` rule. It either
reads observations (:meth:`SecurityCheck.observe`, called for the kinds of
observation it names in ``kinds``) and records failures in a
:class:`~toyaudit.assess.tally.CheckTally`, or derives failures from the
finished data findings (:meth:`SecurityCheck.derive`). Either way it says in
:meth:`SecurityCheck.explain` what exactly was seen, from the details it
recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from toyaudit.assess.checks.rule import CheckRule
from toyaudit.assess.records import Finding, Severity
from toyaudit.assess.tally import CheckTally, EvidenceOrder, FailureTally
from toyaudit.classify.records import Match
from toyaudit.errors import RulesError
from toyaudit.ingest.records import Observation


@dataclass(frozen=True, slots=True)
class Observed:
    """One observation as the checks see it, with what the pipeline knows of it."""

    observation: Observation
    matches: Sequence[Match]
    """The personal data classification found in it."""
    host: str
    """The host it concerns (a server hello is named by its client hello's SNI)."""
    order: EvidenceOrder
    """Where its evidence sorts: earlier evidence is listed first."""


class SecurityCheck:
    """One check, configured from its rule; subclasses do the checking."""

    kinds: tuple[type[Observation], ...] = ()
    """Kinds of observation :meth:`observe` wants; none for derived checks."""
    derived = False
    """Whether the check reads the data findings (:meth:`derive`)."""

    def __init__(self, rule: CheckRule) -> None:
        self.rule = rule
        self.id = rule.id
        try:
            self.severity = Severity(rule.severity)
        except ValueError:
            raise RulesError(
                f"{rule.source}: check {rule.id}: severity {rule.severity!r} "
                "is unknown",
                "use one of: " + ", ".join(level.value for level in Severity),
            ) from None

    def check_needs(self) -> None:
        """Refuse a rule whose ``needs`` names evidence this check does not read."""
        reads = self.reads()
        for name in self.rule.needs:
            if name not in reads:
                raise RulesError(
                    f"{self.rule.source}: check {self.id}: needs {name!r}, "
                    "which this check does not read",
                    "list only what it reads: " + ", ".join(sorted(reads)),
                )

    def reads(self) -> frozenset[str]:
        """The evidence this check reads, by the names rules use in ``needs``."""
        names = {evidence_name(kind) for kind in self.kinds}
        if self.derived:
            names.add(DATA_FINDINGS)
        return frozenset(names)

    def observe(self, observed: Observed, tally: CheckTally) -> None:
        """Record what one observation shows; only called for :attr:`kinds`."""

    def derive(
        self, findings: Sequence[Finding], file_rank: Mapping[str, int]
    ) -> dict[str, FailureTally]:
        """Failures by subject that follow from the data findings; none by default."""
        return {}

    def explain(self, failure: FailureTally) -> str:
        """What was seen, in one sentence, from the failure's details."""
        return f"Seen {times(failure.occurrences)}: {listing(failure)}."


DATA_FINDINGS = "data-findings"
"""What checks derived from the data findings read, in a rule's ``needs``."""


def evidence_name(kind: type[Observation]) -> str:
    """The ``needs`` name of an observation kind: TlsClientHello, tls-client-hello."""
    words = re.findall(r"[A-Z][a-z]*", kind.__name__)
    return "-".join(word.lower() for word in words)


def listing(failure: FailureTally) -> str:
    """The failure's details in sort order, "a, b and c", noting any left out."""
    details = sorted(failure.details)
    if failure.more_details:
        details.append("others")
    if len(details) <= 1:
        return "".join(details)
    return ", ".join(details[:-1]) + " and " + details[-1]


def times(count: int) -> str:
    """The count in words: once, twice, 5 times."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def plural(count: int, noun: str) -> str:
    """The count and the noun, plural when it must be: 1 connection, 3 connections."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
