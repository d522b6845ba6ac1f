"""The records an assessment produces: findings, checks, contacts and the run.

A :class:`Finding` is what a report shows: one category of a child's data,
sent to one recipient, over one transport, with a severity and every detection
that proves it. A :class:`CheckFinding` is a security check that failed (or,
for a few reassuring checks, passed) for one host or device. An
:class:`Assessment` is everything a report needs about one audited session.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from toyaudit.classify.records import Category, Method, Recipient
from toyaudit.ingest.records import Coverage, Evidence, Transport
from toyaudit.session import Session


class Severity(StrEnum):
    """How much a finding matters, from ``info`` to ``critical``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical, for sorting and thresholds."""
        return list(Severity).index(self)


@dataclass(frozen=True, slots=True)
class Detection:
    """One proof of a finding: where and how a value was recognised."""

    method: Method
    rule: str
    location: str
    decoding: tuple[str, ...]
    value: str
    """The value as found; redacted in reports unless revealed."""
    confidence: float
    evidence: Evidence
    persona_field: str | None = None
    form: str | None = None
    phase: str | None = None
    """The session phase the evidence was sent in; None outside every phase
    or when the evidence has no time."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A category of the child's data sent to one recipient over one transport."""

    id: str
    """Stable id derived from category, host and transport, e.g. ``F-3a9c51``."""
    category: Category
    recipient: Recipient
    transport: Transport
    severity: Severity
    severity_reason: str
    """Plain words for how the severity was reached (tier, party, transport,
    phase)."""
    detections: tuple[Detection, ...]
    """The proofs kept for the report, strongest first (capped per finding)."""
    occurrences: int = 0
    """How many detections were seen in all, including those not kept."""
    phase: str | None = None
    """The session phase whose rule raised the severity (some of the data was
    sent in its reach, e.g. before setup was finished); None if none did."""

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        """Every distinct evidence reference of the finding, in order."""
        return tuple(dict.fromkeys(detection.evidence for detection in self.detections))


@dataclass(frozen=True, slots=True)
class CheckFinding:
    """The outcome of one security check for one host or device.

    Checks are rules of the ``checks:`` kind (docs/rules.md); the words
    (``title``, ``description``, ``regulations``) and the severity come from
    the rule, the rest from the capture.
    """

    id: str
    """Stable id derived from the check and the subject, e.g. ``C-5be1e7a2``."""
    check: str
    """Id of the check rule, e.g. ``tls-old-version-offered``."""
    title: str
    """What the check found, in plain words for parents."""
    severity: Severity
    subject: str
    """The host name or IP address, or the Bluetooth device address, it concerns."""
    explanation: str
    """What exactly was seen, in a sentence: versions, suites, characteristics."""
    evidence: tuple[Evidence, ...]
    """Where to see it: the earliest evidence references, capped per check."""
    occurrences: int = 1
    """How many observations showed it, including those not listed."""
    description: str = ""
    """What the check tests, from the rule, for the technical appendix."""
    regulations: tuple[str, ...] = ()
    """Provisions a failure may implicate, from the rule."""
    findings: tuple[str, ...] = ()
    """Ids of the data findings it rests on, for checks derived from them."""


@dataclass(frozen=True, slots=True)
class Contact:
    """A host the toy or its app talked to, whether or not it received data."""

    recipient: Recipient
    transports: tuple[Transport, ...]
    """How conversations with the host travelled; empty if it was only looked up."""
    observations: int
    """How many observations (DNS queries, TLS hellos, requests) involved it."""
    first_evidence: Evidence


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What a regulator needs to reproduce the run exactly."""

    tool_version: str
    rules_sha256: str
    """Digest over every rule file used, in path order."""
    manifest_sha256: str
    """Digest of the session's manifest.json, which pins every evidence file."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything a report needs about one audited session."""

    session: Session
    run: RunInfo
    findings: tuple[Finding, ...]
    """Sorted most severe first."""
    contacts: tuple[Contact, ...]
    coverage: Coverage
    checks: tuple[CheckFinding, ...] = ()
    """Security checks that produced something, most severe first."""
