"""Turn classification matches into findings, contacts and an assessment.

The :class:`Assessor` is fed one observation at a time, with the recipient and
the matches classification found in it, and keeps only what the report needs:
per finding a bounded number of detections (the strongest first) and a count
of the rest, and per contacted host a counter. Memory therefore stays flat
however large the capture.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from toyaudit.assess.records import (
    Assessment,
    Contact,
    Detection,
    Finding,
    RunInfo,
    Severity,
)
from toyaudit.assess.severity import rate
from toyaudit.classify import SeverityRules
from toyaudit.classify.records import Category, Match, Method, Recipient
from toyaudit.ingest.records import (
    Coverage,
    DnsQuery,
    Evidence,
    HttpRequest,
    MqttMessage,
    Observation,
    RawPayload,
    TlsClientHello,
    Transport,
    WebSocketMessage,
    transport_of,
)
from toyaudit.session import Session

__all__ = ["Assessment", "Assessor", "Finding", "RunInfo", "Severity"]

logger = logging.getLogger(__name__)

DETECTIONS_PER_FINDING = 25
"""Detections kept per finding; the rest are counted in ``occurrences``."""

_METHOD_STRENGTH = {
    Method.PERSONA: 0,
    Method.PATTERN: 1,
    Method.CONTENT: 2,
    Method.KEY: 3,
}

_FindingKey = tuple[str, str, Transport]
_Strength = tuple[int, float, tuple[int, ...], str]

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


@dataclass(slots=True)
class _OpenFinding:
    category: Category
    recipient: Recipient
    transport: Transport
    detections: dict[tuple[object, ...], Detection] = field(default_factory=dict)
    occurrences: int = 0
    weakest: tuple[tuple[object, ...], _Strength] | None = None
    """The weakest kept detection and its strength, once the finding is full."""


@dataclass(slots=True)
class _OpenContact:
    recipient: Recipient
    first_evidence: Evidence
    transports: set[Transport] = field(default_factory=set)
    observations: int = 0


class Assessor:
    """Accumulates observations and matches into one :class:`Assessment`."""

    def __init__(self, severity_rules: SeverityRules) -> None:
        self._severity_rules = severity_rules
        self._findings: dict[_FindingKey, _OpenFinding] = {}
        self._contacts: dict[str, _OpenContact] = {}

    def add(
        self, observation: Observation, recipient: Recipient, matches: list[Match]
    ) -> None:
        """Count the contact and fold the observation's matches into findings."""
        self._count_contact(observation, recipient)
        for match in matches:
            self._add_match(match)

    def finish(self, session: Session, run: RunInfo, coverage: Coverage) -> Assessment:
        """Close every finding, rate it, and return the assessment."""
        findings = sorted(
            (self._close(open_finding) for open_finding in self._findings.values()),
            key=_finding_order,
        )
        contacts = sorted(
            (_close_contact(open_contact) for open_contact in self._contacts.values()),
            key=lambda contact: (-contact.observations, contact.recipient.host),
        )
        logger.info("%d findings, %d contacted hosts", len(findings), len(contacts))
        return Assessment(
            session=session,
            run=run,
            findings=tuple(findings),
            contacts=tuple(contacts),
            coverage=coverage,
        )

    def _count_contact(self, observation: Observation, recipient: Recipient) -> None:
        if not isinstance(observation, _CONTACT_KINDS):
            return
        contact = self._contacts.get(recipient.host)
        if contact is None:
            contact = _OpenContact(recipient, observation.evidence)
            self._contacts[recipient.host] = contact
        contact.observations += 1
        # A DNS lookup names a host but carries nothing to it, so it says
        # nothing about how the conversation with that host is protected.
        if not isinstance(observation, DnsQuery):
            contact.transports.add(transport_of(observation))

    def _add_match(self, match: Match) -> None:
        transport = transport_of(match.observation)
        key = (match.category.id, match.recipient.host, transport)
        open_finding = self._findings.get(key)
        if open_finding is None:
            open_finding = _OpenFinding(match.category, match.recipient, transport)
            self._findings[key] = open_finding
        evidence = match.observation.evidence
        identity = (match.rule, match.location, match.value, evidence)
        detections = open_finding.detections
        if identity in detections:
            return
        open_finding.occurrences += match.count
        if len(detections) < DETECTIONS_PER_FINDING:
            detections[identity] = _detection(match)
            return
        # Full: replace the weakest kept proof if this one is stronger. The
        # weakest is remembered until it is replaced, and the new proof is only
        # built when it wins, so a long capture costs one comparison per match.
        if open_finding.weakest is None:
            weakest = max(detections, key=lambda kept: _strength(detections[kept]))
            open_finding.weakest = (weakest, _strength(detections[weakest]))
        strength = _strength_of(match.method, match.confidence, evidence)
        if strength < open_finding.weakest[1]:
            del detections[open_finding.weakest[0]]
            detections[identity] = _detection(match)
            open_finding.weakest = None

    def _close(self, open_finding: _OpenFinding) -> Finding:
        severity, reason = rate(
            open_finding.category.tier,
            open_finding.recipient.party,
            open_finding.transport,
            self._severity_rules,
        )
        detections = sorted(open_finding.detections.values(), key=_strength)
        return Finding(
            id=_finding_id(open_finding),
            category=open_finding.category,
            recipient=open_finding.recipient,
            transport=open_finding.transport,
            severity=severity,
            severity_reason=reason,
            detections=tuple(detections),
            occurrences=open_finding.occurrences,
        )


def _detection(match: Match) -> Detection:
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
    )


def _strength(detection: Detection) -> _Strength:
    """Sort key: persona hits first, then higher confidence, then earlier evidence."""
    return _strength_of(detection.method, detection.confidence, detection.evidence)


def _strength_of(method: Method, confidence: float, evidence: Evidence) -> _Strength:
    return (
        _METHOD_STRENGTH[method],
        -confidence,
        evidence.packets[:1],
        evidence.flow_id or "",
    )


def _finding_id(open_finding: _OpenFinding) -> str:
    identity = "|".join(
        (open_finding.category.id, open_finding.recipient.host, open_finding.transport)
    )
    return "F-" + hashlib.sha256(identity.encode()).hexdigest()[:8]


def _finding_order(finding: Finding) -> tuple[int, str, str, str]:
    return (
        -finding.severity.rank,
        finding.category.tier.value,
        finding.recipient.host,
        finding.category.id,
    )


def _close_contact(open_contact: _OpenContact) -> Contact:
    return Contact(
        recipient=open_contact.recipient,
        transports=tuple(sorted(open_contact.transports)),
        observations=open_contact.observations,
        first_evidence=open_contact.first_evidence,
    )
