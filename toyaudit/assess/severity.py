"""Decide how much a finding matters: tier x recipient x transport x capture phase.

The numbers live in ``rules/severity.yaml``, not here (docs/rules.md explains
them): one table gives the severity of each tier sent inside TLS to each kind
of recipient, and a second gives the floor for each tier sent in plaintext,
since anyone on the path reads plaintext, whoever the recipient is. Then the
capture phases weigh in: when any of a finding's data was sent in a phase the
rules name, such as before setup was finished or after the parent opted out,
its severity is raised by the levels the rule gives (:class:`PhaseClock`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from toyaudit.assess.records import Severity
from toyaudit.classify import SeverityRules
from toyaudit.classify.records import Party, Tier
from toyaudit.classify.ruleset import PhaseReach, PhaseRule, phase_key
from toyaudit.ingest.records import Evidence, Transport
from toyaudit.session import Phase

_PARTY_WORDS = {
    Party.FIRST_PARTY: "the toy's vendor",
    Party.PROCESSOR: "a service provider",
    Party.TRACKER: "an advertising or analytics company",
    Party.UNKNOWN: "an unknown third party",
}
_LEVEL_WORDS = {1: "one level", 2: "two levels", 3: "three levels", 4: "four levels"}
_NEVER = float("inf")


@dataclass(frozen=True, slots=True)
class PhaseWeight:
    """A phase rule as it applies to one phase of the session."""

    phase: str
    """The session's phase name, as ``session.yaml`` writes it."""
    steps: int
    """Severity levels added."""
    label: str
    """Completes "sent ...", e.g. "before setup was finished"."""
    rank: int
    """The phase's place in the session, which breaks ties between equal raises."""


@dataclass(frozen=True, slots=True)
class PhaseMark:
    """The weighing phase of one observation, comparable across shards.

    Of several marks on one finding, the smallest :attr:`key` is the one
    reported: the largest raise, then the earliest phase, then the earliest
    evidence.
    """

    weight: PhaseWeight
    key: tuple[int, int, tuple[object, ...]]
    """(-levels, phase rank, evidence order)."""
    evidence: Evidence
    """An observation sent in the phase's reach, the proof for the report."""

    @classmethod
    def of(
        cls, weight: PhaseWeight, order: tuple[object, ...], evidence: Evidence
    ) -> PhaseMark:
        """The mark of ``evidence``, whose evidence order is ``order``."""
        return cls(weight, (-weight.steps, weight.rank, order), evidence)


class PhaseClock:
    """Places capture times in the session's phases and weighs them by the rules.

    Phases run from ``start`` up to, not including, ``end``. Times are
    seconds since the epoch, as :attr:`Evidence.time` holds them.
    """

    def __init__(self, phases: Sequence[Phase], rules: Mapping[str, PhaseRule]) -> None:
        self._phases = [
            (phase.start.timestamp(), phase.end.timestamp(), phase.name)
            for phase in phases
        ]
        reaches = []
        for rank, phase in enumerate(phases):
            rule = rules.get(phase_key(phase.name))
            if rule is not None and rule.steps > 0:
                weight = PhaseWeight(phase.name, rule.steps, rule.label, rank)
                low, high = _reach(rule.reach, *self._phases[rank][:2])
                reaches.append((low, high, weight))
        reaches.sort(key=lambda reach: (-reach[2].steps, reach[2].rank))
        self._reaches = reaches

    def phase_of(self, time: float | None) -> str | None:
        """The name of the first phase ``time`` falls in, if any."""
        if time is not None:
            for start, end, name in self._phases:
                if start <= time < end:
                    return name
        return None

    def weigh(self, time: float | None) -> PhaseWeight | None:
        """The phase rule that raises data sent at ``time`` the most, if any."""
        if time is not None:
            for low, high, weight in self._reaches:
                if low <= time < high:
                    return weight
        return None

    def mark(self, evidence: Evidence, order: tuple[object, ...]) -> PhaseMark | None:
        """The mark of ``evidence`` (evidence order ``order``) if a phase weighs it."""
        weight = self.weigh(evidence.time)
        return None if weight is None else PhaseMark.of(weight, order, evidence)


def rate(
    tier: Tier,
    party: Party,
    transport: Transport,
    rules: SeverityRules,
    phase: PhaseMark | None = None,
) -> tuple[Severity, str]:
    """Return the severity of tier-``tier`` data sent to ``party`` over ``transport``.

    ``phase`` is the weighing phase any of the data was sent in, if any. The
    second value explains the decision in plain words for the report.
    """
    # 1. The matrix: tier by recipient, for data inside TLS.
    severity = Severity(rules.over_tls[(tier, party)])
    reason = f"tier {tier.value} data sent to {_PARTY_WORDS[party]}"

    # 2. The plaintext floor: anyone on the path reads it.
    if transport.readable_on_path:
        floor = Severity(rules.plaintext[tier])
        reason += " without encryption"
        if floor.rank > severity.rank:
            severity = floor
            reason += " (plaintext raises it)"

    # 3. The capture phase: before setup, after an opt-out.
    if phase is not None:
        severity, reason = _raise(severity, reason, phase)
    return severity, reason


def _raise(severity: Severity, reason: str, phase: PhaseMark) -> tuple[Severity, str]:
    weight = phase.weight
    rank = min(severity.rank + weight.steps, Severity.CRITICAL.rank)
    sent = f"sent {weight.label} ({phase.evidence.describe()})"
    if rank == severity.rank:
        return severity, f"{reason}; {sent}, already the highest level"
    levels = _LEVEL_WORDS[rank - severity.rank]
    return list(Severity)[rank], f"{reason}; raised {levels}: {sent}"


def _reach(reach: PhaseReach, start: float, end: float) -> tuple[float, float]:
    """The times a phase rule covers: [low, high)."""
    if reach is PhaseReach.UNTIL_END:
        return -_NEVER, end
    if reach is PhaseReach.FROM_START:
        return start, _NEVER
    return start, end
