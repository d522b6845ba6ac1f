"""Turn classification matches into findings, contacts and an assessment.

The :class:`Assessor` is fed one observation at a time, with the recipient and
the matches classification found in it, and keeps only what the report needs:
per finding a bounded number of detections (the strongest first) and a count
of the rest, and per contacted host a counter. Memory therefore stays flat
however large the capture.

It also runs the security checks (:mod:`~toyaudit.assess.checks`) on every
observation, and closes them with the findings into check findings.

What it keeps does not depend on the order observations arrive in (see
:mod:`~toyaudit.assess.tally`), so the shards of a parallel audit each feed
an assessor of their own, and the parent merges what they gathered
(:meth:`Assessor.merge`): the findings are the same byte for byte as from one
process.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from toyaudit.assess.checks import Checker, SecurityChecks, build_checks
from toyaudit.assess.records import (
    Assessment,
    CheckFinding,
    Contact,
    Detection,
    Finding,
    RunInfo,
    Severity,
)
from toyaudit.assess.severity import PhaseClock, PhaseMark, rate
from toyaudit.assess.tally import (
    DETECTIONS_PER_FINDING,
    METHOD_STRENGTH,
    AssessmentTally,
    ContactTally,
    EvidenceOrder,
    FindingTally,
    detection_order,
    evidence_order,
)
from toyaudit.classify import SeverityRules
from toyaudit.classify.records import Match, Recipient
from toyaudit.ingest.records import (
    Coverage,
    DnsQuery,
    HttpRequest,
    MqttMessage,
    Observation,
    RawPayload,
    TlsClientHello,
    Transport,
    WebSocketMessage,
    transport_of,
)
from toyaudit.session import Phase, Session

__all__ = [
    "DETECTIONS_PER_FINDING",
    "Assessment",
    "AssessmentTally",
    "Assessor",
    "CheckFinding",
    "Finding",
    "RunInfo",
    "SecurityChecks",
    "Severity",
    "build_checks",
]

logger = logging.getLogger(__name__)

_CONTACT_KINDS = (
    DnsQuery,
    TlsClientHello,
    HttpRequest,
    MqttMessage,
    WebSocketMessage,
    RawPayload,
)
"""Observations that show the toy or app reaching a host. Server hellos,
broadcasts (DHCP, SSDP) and Bluetooth traffic name no host the toy chose."""


class Assessor:
    """Accumulates observations and matches into one :class:`Assessment`.

    ``evidence_files`` are the session's evidence files in reading order:
    "earliest evidence" means earliest in that order, then by frame, time
    and flow. ``checks`` are the security checks to run
    (:func:`~toyaudit.assess.checks.build_checks`); none by default.
    ``phases`` are the session's capture phases: data sent in one the
    severity rules weigh raises its finding (:class:`PhaseClock`).
    """

    def __init__(
        self,
        severity_rules: SeverityRules,
        evidence_files: Sequence[str] = (),
        checks: SecurityChecks | None = None,
        phases: Sequence[Phase] = (),
    ) -> None:
        self._severity_rules = severity_rules
        self._file_rank = {name: rank for rank, name in enumerate(evidence_files)}
        self._tally = AssessmentTally()
        self._clock = PhaseClock(phases, severity_rules.phases)
        self._checker = Checker(checks or SecurityChecks(), self._file_rank)

    def add(
        self, observation: Observation, recipient: Recipient, matches: list[Match]
    ) -> None:
        """Count the contact and fold the observation's matches into findings.

        The same value found twice in one place of one observation counts
        once; classification already counts repeats in ``Match.count``.
        """
        order = evidence_order(observation.evidence, self._file_rank)
        self._count_contact(observation, recipient, order)
        self._checker.add(observation, matches, order, self._tally.checks)
        if not matches:
            return
        mark = self._clock.mark(observation.evidence, order)
        transport = transport_of(observation)
        seen: set[tuple[str, str, str, str, str]] = set()
        for match in matches:
            place = (
                match.category.id,
                match.recipient.host,
                match.rule,
                match.location,
                match.value,
            )
            if place not in seen:
                seen.add(place)
                sent = (
                    transport
                    if match.observation is observation
                    else transport_of(match.observation)
                )
                self._add_match(match, sent, order, mark)

    def partial(self) -> AssessmentTally:
        """What this assessor gathered, for another assessor to :meth:`merge`."""
        return self._tally

    def merge(self, partial: AssessmentTally) -> None:
        """Add what another assessor of the same session gathered."""
        self._tally.merge(partial)

    def finish(self, session: Session, run: RunInfo, coverage: Coverage) -> Assessment:
        """Close every finding and check, rate them, and return the assessment."""
        findings = sorted(
            (self._close(tally) for tally in self._tally.findings.values()),
            key=_finding_order,
        )
        checks = self._checker.finish(self._tally.checks, findings)
        contacts = sorted(
            (_close_contact(tally) for tally in self._tally.contacts.values()),
            key=lambda contact: (-contact.observations, contact.recipient.host),
        )
        logger.info("%d findings, %d contacted hosts", len(findings), len(contacts))
        return Assessment(
            session=session,
            run=run,
            findings=tuple(findings),
            contacts=tuple(contacts),
            coverage=coverage,
            checks=checks,
        )

    def _count_contact(
        self, observation: Observation, recipient: Recipient, order: EvidenceOrder
    ) -> None:
        if not isinstance(observation, _CONTACT_KINDS):
            return
        contacts = self._tally.contacts
        contact = contacts.get(recipient.host)
        if contact is None:
            contact = ContactTally(recipient, observation.evidence, order)
            contacts[recipient.host] = contact
        contact.saw(observation.evidence, order)
        # A DNS lookup names a host but carries nothing to it, so it says
        # nothing about how the conversation with that host is protected.
        if not isinstance(observation, DnsQuery):
            contact.transports.add(transport_of(observation))

    def _add_match(
        self,
        match: Match,
        transport: Transport,
        order: EvidenceOrder,
        mark: PhaseMark | None,
    ) -> None:
        """Fold one match, sent over ``transport``, into its finding."""
        key = (match.category.id, match.recipient.host, transport)
        finding = self._tally.findings.get(key)
        if finding is None:
            finding = FindingTally(match.category, match.recipient, transport)
            self._tally.findings[key] = finding
        finding.occurrences += match.count
        if mark is not None:
            finding.weigh(mark)
        if finding.beaten((METHOD_STRENGTH[match.method], -match.confidence, order)):
            return  # the common case once a finding is full: nothing to build
        evidence = match.observation.evidence
        identity = (match.rule, match.location, match.value, evidence)
        strength = detection_order(match, order)
        # The proof is only built when it is kept, so a long capture costs
        # one comparison per match once a finding is full.
        if finding.wants(identity, strength):
            phase = self._clock.phase_of(evidence.time)
            finding.keep(identity, strength, _detection(match, phase))

    def _close(self, tally: FindingTally) -> Finding:
        severity, reason = rate(
            tally.category.tier,
            tally.recipient.party,
            tally.transport,
            self._severity_rules,
            tally.phase,
        )
        return Finding(
            id=_finding_id(tally),
            category=tally.category,
            recipient=tally.recipient,
            transport=tally.transport,
            severity=severity,
            severity_reason=reason,
            detections=tally.detections(),
            occurrences=tally.occurrences,
            phase=None if tally.phase is None else tally.phase.weight.phase,
        )


def _detection(match: Match, phase: str | None) -> Detection:
    return Detection(
        method=match.method,
        rule=match.rule,
        location=match.location,
        decoding=match.decoding,
        value=match.value,
        confidence=match.confidence,
        evidence=match.observation.evidence,
        persona_field=match.persona_field,
        form=match.form,
        phase=phase,
    )


def _finding_id(tally: FindingTally) -> str:
    identity = "|".join((tally.category.id, tally.recipient.host, tally.transport))
    return "F-" + hashlib.sha256(identity.encode()).hexdigest()[:8]


def _finding_order(finding: Finding) -> tuple[int, str, str, str]:
    return (
        -finding.severity.rank,
        finding.category.tier.value,
        finding.recipient.host,
        finding.category.id,
    )


def _close_contact(tally: ContactTally) -> Contact:
    return Contact(
        recipient=tally.recipient,
        transports=tuple(sorted(tally.transports)),
        observations=tally.observations,
        first_evidence=tally.first_evidence,
    )
