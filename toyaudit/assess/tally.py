"""What an assessor has gathered so far, in a form that merges exactly.

An audit on several cores (:mod:`toyaudit.audit`) gives each shard its own
:class:`~toyaudit.assess.Assessor`, and the parent merges what they gathered
(:class:`AssessmentTally`). For the findings to be the same byte for byte
whatever the number of shards, and whatever order observations arrive in,
nothing here depends on arrival order:

* a finding keeps the :data:`DETECTIONS_PER_FINDING` detections that come
  first in one total order (:func:`detection_order`: persona hits first,
  then higher confidence, then earlier evidence, then rule, place and value),
  counts every occurrence, and keeps the one weighing capture phase with the
  smallest :class:`~toyaudit.assess.severity.PhaseMark` key (largest raise,
  earliest phase, earliest evidence);
* a contact counts observations, collects transports and keeps the earliest
  evidence (:func:`evidence_order`: file in session order, first frame,
  time, flow);
* a failed security check (:class:`CheckTally`) keeps its
  :data:`EVIDENCE_PER_CHECK` earliest evidence references and its
  :data:`DETAILS_PER_CHECK` first details in sort order, and counts the
  rest; a failure that other evidence may cancel (a write the toy refused)
  or must confirm (an advertiser that is the toy) is kept apart until the
  end, with what cancels or confirms it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from toyaudit.assess.records import Detection
from toyaudit.assess.severity import PhaseMark
from toyaudit.classify.records import Category, Match, Method, Recipient
from toyaudit.ingest.records import Evidence, Transport

DETECTIONS_PER_FINDING = 25
"""Detections kept per finding; the rest are counted in ``occurrences``."""
EVIDENCE_PER_CHECK = 10
"""Evidence references kept per failed check; the rest are counted."""
DETAILS_PER_CHECK = 12
"""Distinct details (versions, suites, characteristics) named per failed check."""

METHOD_STRENGTH = {
    Method.PERSONA: 0,
    Method.PATTERN: 1,
    Method.CONTENT: 2,
    Method.KEY: 3,
}
"""Sort rank of each detection method: the most convincing proof first."""

FindingKey = tuple[str, str, Transport]
FailureKey = tuple[str, str, str]
"""(check id, subject, condition): one failure of a check, see :class:`CheckTally`."""
IF_CONFIRMED = "if confirmed"
"""The condition of a failure that stands only once its subject is confirmed."""
"""(category id, recipient host, transport): what makes one finding."""
Identity = tuple[str, str, str, Evidence]
"""(rule, location, value, evidence): detections equal in these are one."""
EvidenceOrder = tuple[int, str, tuple[int, ...], bool, float, str]
DetectionOrder = tuple[
    int, float, EvidenceOrder, str, str, str, tuple[str, ...], str, str
]


def evidence_order(evidence: Evidence, file_rank: Mapping[str, int]) -> EvidenceOrder:
    """A sort key over every field of an evidence reference: earliest first.

    ``file_rank`` gives each evidence file its place in the session; files
    it does not name come after, by name.
    """
    time = evidence.time
    return (
        file_rank.get(evidence.file, len(file_rank)),
        evidence.file,
        evidence.packets,
        time is None,
        0.0 if time is None else time,
        evidence.flow_id or "",
    )


def detection_order(match: Match, evidence: EvidenceOrder) -> DetectionOrder:
    """A sort key over every field of a match's detection: the strongest first.

    ``evidence`` is the :func:`evidence_order` of the match's observation.
    """
    return (
        METHOD_STRENGTH[match.method],
        -match.confidence,
        evidence,
        match.rule,
        match.location,
        match.value,
        match.decoding,
        match.persona_field or "",
        match.form or "",
    )


@dataclass(slots=True)
class FindingTally:
    """One finding being gathered: its strongest detections and a count."""

    category: Category
    recipient: Recipient
    transport: Transport
    kept: dict[Identity, tuple[DetectionOrder, Detection]] = field(default_factory=dict)
    occurrences: int = 0
    weakest: tuple[Identity, DetectionOrder] | None = None
    """The last kept detection in order, remembered while nothing changes."""
    phase: PhaseMark | None = None
    """The weighing phase that raises the finding most (smallest key), if any."""

    def beaten(self, head: tuple[int, float, EvidenceOrder]) -> bool:
        """Whether no detection whose order starts with ``head`` would be kept.

        ``head`` is the first three fields of a :func:`detection_order`
        (method, confidence, evidence): when the finding is full and its
        weakest detection's head comes strictly first, the detection would
        be the weakest whatever its other fields, so the caller need not
        build its identity and order for :meth:`wants`.
        """
        if len(self.kept) < DETECTIONS_PER_FINDING:
            return False
        return head > self._weakest()[1][:3]

    def wants(self, identity: Identity, order: DetectionOrder) -> bool:
        """Whether a detection would be kept: call before building it."""
        held = self.kept.get(identity)
        if held is not None:
            return order < held[0]
        if len(self.kept) < DETECTIONS_PER_FINDING:
            return True
        return order < self._weakest()[1]

    def keep(self, identity: Identity, order: DetectionOrder, found: Detection) -> None:
        """Keep a detection :meth:`wants` wanted, dropping the weakest if full."""
        if identity not in self.kept and len(self.kept) >= DETECTIONS_PER_FINDING:
            del self.kept[self._weakest()[0]]
        self.kept[identity] = (order, found)
        self.weakest = None

    def weigh(self, mark: PhaseMark) -> None:
        """Note data of the finding sent in a weighing phase; the smallest key wins."""
        if self.phase is None or mark.key < self.phase.key:
            self.phase = mark

    def merge(self, other: FindingTally) -> None:
        """Add what another assessor gathered for the same finding."""
        self.occurrences += other.occurrences
        if other.phase is not None:
            self.weigh(other.phase)
        for identity, (order, found) in other.kept.items():
            if self.wants(identity, order):
                self.keep(identity, order, found)

    def detections(self) -> tuple[Detection, ...]:
        """The kept detections, strongest first."""
        return tuple(found for _, found in sorted(self.kept.values()))

    def _weakest(self) -> tuple[Identity, DetectionOrder]:
        if self.weakest is None:
            identity = max(self.kept, key=lambda kept: self.kept[kept][0])
            self.weakest = (identity, self.kept[identity][0])
        return self.weakest


@dataclass(slots=True)
class ContactTally:
    """One contacted host being gathered."""

    recipient: Recipient
    first_evidence: Evidence
    first_order: EvidenceOrder
    transports: set[Transport] = field(default_factory=set)
    observations: int = 0

    def saw(self, evidence: Evidence, order: EvidenceOrder) -> None:
        """Count one observation; remember its evidence if it is the earliest."""
        self.observations += 1
        if order < self.first_order:
            self.first_evidence, self.first_order = evidence, order

    def merge(self, other: ContactTally) -> None:
        """Add what another assessor gathered for the same host."""
        self.observations += other.observations
        self.transports |= other.transports
        if other.first_order < self.first_order:
            self.first_evidence, self.first_order = (
                other.first_evidence,
                other.first_order,
            )


@dataclass(slots=True)
class FailureTally:
    """One check failing for one subject, being gathered."""

    evidence: dict[Evidence, EvidenceOrder] = field(default_factory=dict)
    """The earliest evidence references, at most :data:`EVIDENCE_PER_CHECK`."""
    details: set[str] = field(default_factory=set)
    """The first details in sort order, at most :data:`DETAILS_PER_CHECK`."""
    more_details: bool = False
    """Whether details beyond those kept were seen."""
    occurrences: int = 0
    findings: set[str] = field(default_factory=set)
    """Ids of the data findings a failure derived from findings rests on."""

    def saw(
        self, evidence: Evidence, order: EvidenceOrder, details: Iterable[str] = ()
    ) -> None:
        """Count one observation that shows the failure."""
        self.occurrences += 1
        self.keep(evidence, order, details)

    def keep(
        self, evidence: Evidence, order: EvidenceOrder, details: Iterable[str] = ()
    ) -> None:
        """Keep evidence and details without counting an observation."""
        self._keep_evidence(evidence, order)
        self._keep_details(details)

    def merge(self, other: FailureTally) -> None:
        """Add what another assessor gathered for the same failure."""
        self.occurrences += other.occurrences
        for evidence, order in other.evidence.items():
            self._keep_evidence(evidence, order)
        self.more_details |= other.more_details
        self._keep_details(other.details)
        self.findings |= other.findings

    def earliest(self) -> tuple[Evidence, ...]:
        """The kept evidence references, earliest first."""
        return tuple(sorted(self.evidence, key=self.evidence.__getitem__))

    def _keep_evidence(self, evidence: Evidence, order: EvidenceOrder) -> None:
        held = self.evidence
        if evidence in held:
            return
        if len(held) >= EVIDENCE_PER_CHECK:
            latest = max(held, key=held.__getitem__)
            if order >= held[latest]:
                return
            del held[latest]
        held[evidence] = order

    def _keep_details(self, details: Iterable[str]) -> None:
        new = set(details) - self.details
        if not new:
            return
        kept = sorted(self.details | new)
        if len(kept) > DETAILS_PER_CHECK:
            self.more_details = True
            kept = kept[:DETAILS_PER_CHECK]
        self.details = set(kept)


@dataclass(slots=True)
class CheckTally:
    """Every security check failure an assessor has gathered, ready to merge.

    A failure is keyed by check, subject and a *condition*: "" for failures
    that stand once seen; :data:`IF_CONFIRMED` for failures that stand only
    if some observation confirms their subject (an advertiser the capture
    also connected to, so it is the toy and not a neighbour's speaker);
    anything else names what a later observation may still cancel (a
    characteristic's handle, for a write the toy may refuse). Cancellations
    and confirmations are collected as they come and applied by
    :meth:`standing`, after every shard is merged, so the outcome does not
    depend on which arrived first.
    """

    failures: dict[FailureKey, FailureTally] = field(default_factory=dict)
    cancelled: set[FailureKey] = field(default_factory=set)
    confirmed: set[tuple[str, str]] = field(default_factory=set)
    """(check id, subject) pairs that failures under :data:`IF_CONFIRMED` need."""

    def fail(
        self,
        key: FailureKey,
        evidence: Evidence,
        order: EvidenceOrder,
        details: Iterable[str] = (),
    ) -> None:
        """Record one observation showing the failure ``key``."""
        failure = self.failures.get(key)
        if failure is None:
            failure = self.failures[key] = FailureTally()
        failure.saw(evidence, order, details)

    def cancel(self, key: FailureKey) -> None:
        """Say that the failure ``key``, seen or not, must not be reported."""
        self.cancelled.add(key)

    def confirm(self, check: str, subject: str) -> None:
        """Let the check's :data:`IF_CONFIRMED` failures for ``subject`` stand."""
        self.confirmed.add((check, subject))

    def merge(self, other: CheckTally) -> None:
        """Add another assessor's failures; the result does not depend on order."""
        for key, failure in other.failures.items():
            mine = self.failures.get(key)
            if mine is None:
                self.failures[key] = failure
            else:
                mine.merge(failure)
        self.cancelled |= other.cancelled
        self.confirmed |= other.confirmed

    def standing(self) -> dict[tuple[str, str], FailureTally]:
        """The failures not cancelled, conditions folded, by (check id, subject)."""
        standing: dict[tuple[str, str], FailureTally] = {}
        for key in sorted(self.failures):
            check, subject, condition = key
            if key in self.cancelled or (
                condition == IF_CONFIRMED and (check, subject) not in self.confirmed
            ):
                continue
            folded = standing.setdefault((check, subject), FailureTally())
            folded.merge(self.failures[key])
        return standing


@dataclass(slots=True)
class AssessmentTally:
    """Every finding, contact and check failure an assessor gathered, to merge."""

    findings: dict[FindingKey, FindingTally] = field(default_factory=dict)
    contacts: dict[str, ContactTally] = field(default_factory=dict)
    checks: CheckTally = field(default_factory=CheckTally)

    def merge(self, other: AssessmentTally) -> None:
        """Add another assessor's tally; the result does not depend on order."""
        for key, finding in other.findings.items():
            mine = self.findings.get(key)
            if mine is None:
                self.findings[key] = finding
            else:
                mine.merge(finding)
        for host, contact in other.contacts.items():
            known = self.contacts.get(host)
            if known is None:
                self.contacts[host] = contact
            else:
                known.merge(contact)
        self.checks.merge(other.checks)
