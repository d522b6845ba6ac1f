"""What an assessor has gathered so far, in a form that merges exactly.

An audit on several cores (:mod:`toyaudit.audit`) gives each shard its own
:class:`~toyaudit.assess.Assessor`, and the parent merges what they gathered
(:class:`AssessmentTally`). For the findings to be the same byte for byte
whatever the number of shards, and whatever order observations arrive in,
nothing here depends on arrival order:

* a finding keeps the :data:`DETECTIONS_PER_FINDING` detections that come
  first in one total order (:func:`detection_order`: persona hits first,
  then higher confidence, then earlier evidence, then rule, place and value),
  and counts every occurrence;
* a contact counts observations, collects transports and keeps the earliest
  evidence (:func:`evidence_order`: file in session order, first frame,
  time, flow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from toyaudit.assess.records import Detection
from toyaudit.classify.records import Category, Match, Method, Recipient
from toyaudit.ingest.records import Evidence, Transport

DETECTIONS_PER_FINDING = 25
"""Detections kept per finding; the rest are counted in ``occurrences``."""

METHOD_STRENGTH = {
    Method.PERSONA: 0,
    Method.PATTERN: 1,
    Method.CONTENT: 2,
    Method.KEY: 3,
}
"""Sort rank of each detection method: the most convincing proof first."""

FindingKey = tuple[str, str, Transport]
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

    def merge(self, other: FindingTally) -> None:
        """Add what another assessor gathered for the same finding."""
        self.occurrences += other.occurrences
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
class AssessmentTally:
    """Every finding and contact an assessor has gathered, ready to merge."""

    findings: dict[FindingKey, FindingTally] = field(default_factory=dict)
    contacts: dict[str, ContactTally] = field(default_factory=dict)

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
