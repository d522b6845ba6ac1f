"""Render an assessment as ``findings.json``, the machine-readable report.

The document is versioned (``schema_version``, and the exact revision in
``$schema``) and described by the JSON Schema packaged next to this module
(``schema/findings-1.2.schema.json``, documented in docs/findings-format.md;
revision 1.1 added the security ``checks`` to version 1, revision 1.2 the
informational ``coverage.notes`` and each evidence reference's ``dns_name``;
the schemas of earlier revisions stay in the package). It is deterministic:
objects have sorted keys, lists follow a fixed order, and nothing depends on
the clock, so two runs over the same session and rules produce byte-identical
files that a regulator can compare with a digest. The order of findings,
checks and contacts defined here is the one every other report follows.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

from toyaudit.assess.checks import check_order
from toyaudit.assess.records import (
    Assessment,
    CheckFinding,
    Contact,
    Detection,
    Finding,
)
from toyaudit.classify.records import Recipient, Tier
from toyaudit.ingest.records import Coverage, Evidence
from toyaudit.report.redact import Redactor, scrub
from toyaudit.session import Session

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""The format version: readers of version 1 read every revision of it."""
SCHEMA_ID = "urn:toyaudit:findings-1.2"
"""The ``$id`` of the packaged schema, repeated as ``$schema`` in every document."""
SCHEMA_RESOURCE = "findings-1.2.schema.json"
VERSION_1_RESOURCE = "findings-1.schema.json"
"""The schema of revision 1.0, kept for readers that validate against it."""
REVISION_1_1_RESOURCE = "findings-1.1.schema.json"
"""The schema of revision 1.1, kept for readers that validate against it."""

_TIER_ORDER = {tier: position for position, tier in enumerate(Tier)}
_CONFIDENCE_DIGITS = 3

JsonObject = dict[str, Any]


def ordered_findings(assessment: Assessment) -> list[Finding]:
    """Findings most severe first, then most sensitive tier, then host and id."""
    return sorted(
        assessment.findings,
        key=lambda finding: (
            -finding.severity.rank,
            _TIER_ORDER[finding.category.tier],
            finding.recipient.host,
            finding.category.id,
            finding.id,
        ),
    )


def ordered_contacts(assessment: Assessment) -> list[Contact]:
    """Contacts by host name, then party."""
    return sorted(
        assessment.contacts,
        key=lambda contact: (contact.recipient.host, contact.recipient.party),
    )


def ordered_checks(assessment: Assessment) -> list[CheckFinding]:
    """Check findings most severe first, then by check id, subject and id."""
    return sorted(assessment.checks, key=check_order)


def load_schema(resource: str = SCHEMA_RESOURCE) -> JsonObject:
    """Return a packaged JSON Schema: by default the one ``findings.json`` follows."""
    schema_file = resources.files("toyaudit.report").joinpath("schema", resource)
    schema: JsonObject = json.loads(schema_file.read_text(encoding="utf-8"))
    return schema


def render_json(assessment: Assessment, reveal: bool = False) -> bytes:
    """Render the assessment as the UTF-8 bytes of ``findings.json``.

    Personal values are redacted unless ``reveal`` is true; the document says
    which in ``run.redacted``. The output ends with a newline.
    """
    document = build_document(assessment, reveal)
    logger.debug(
        "rendering findings.json: %d findings, redacted=%s",
        len(document["findings"]),
        not reveal,
    )
    parts: list[str] = []
    _lay_out(document, "\n", parts)
    parts.append("\n")
    return "".join(parts).encode("utf-8")


_SCALAR = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
"""A scalar, or a list of scalars, as JSON on one line (CPython's C encoder)."""
_SCALARS = (str, int, float, bool, type(None))


def _lay_out(value: object, newline: str, parts: list[str]) -> None:
    """Append ``value`` as indented JSON to ``parts``; ``newline`` ends its lines.

    Objects have sorted keys and one member per line, two spaces deeper
    than their braces; lists of objects or lists likewise; a list of
    scalars (a finding's frame numbers, a decoding) stays on one line.
    Python's own indented encoder walks every frame number of every
    evidence reference in Python, five times as slow on a large audit.
    """
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key in sorted(value):
            parts.append(separator)
            parts.append(_SCALAR(key))
            parts.append(": ")
            _lay_out(value[key], inner, parts)
            separator = "," + inner
        parts.append(newline + "}")
    elif isinstance(value, list):
        if all(isinstance(item, _SCALARS) for item in value):
            parts.append(_SCALAR(value))
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            _lay_out(item, inner, parts)
            separator = "," + inner
        parts.append(newline + "]")
    else:
        parts.append(_SCALAR(value))


def build_document(assessment: Assessment, reveal: bool = False) -> JsonObject:
    """Build the ``findings.json`` document as plain JSON-compatible objects."""
    redactor = Redactor(assessment, reveal)
    run = assessment.run
    return {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "run": {
            "tool_version": run.tool_version,
            "rules_sha256": run.rules_sha256,
            "manifest_sha256": run.manifest_sha256,
            "redacted": not reveal,
        },
        "session": _session(assessment.session, redactor),
        "findings": [
            _finding(finding, redactor) for finding in ordered_findings(assessment)
        ],
        "checks": [_check(check, redactor) for check in ordered_checks(assessment)],
        "contacts": [
            _contact(contact, redactor) for contact in ordered_contacts(assessment)
        ],
        "coverage": _coverage(assessment.coverage, redactor),
    }


def _session(session: Session, redactor: Redactor) -> JsonObject:
    toy = session.toy
    return {
        "name": scrub(session.name),
        "toy": {
            "name": scrub(toy.name),
            "vendor": scrub(toy.vendor),
            "model": scrub(toy.model),
            "firmware": scrub(toy.firmware),
        },
        "first_party_domains": [
            scrub(domain) for domain in session.first_party_domains
        ],
        "captured_at": session.captured_at.isoformat() if session.captured_at else None,
        "captured_by": scrub(session.captured_by),
        "phases": [
            {
                "name": scrub(phase.name),
                "start": phase.start.isoformat(),
                "end": phase.end.isoformat(),
            }
            for phase in session.phases
        ],
        "notes": [redactor.text(note) for note in session.notes],
    }


def _finding(finding: Finding, redactor: Redactor) -> JsonObject:
    category = finding.category
    return {
        "id": scrub(finding.id),
        "category": {
            "id": scrub(category.id),
            "label": scrub(category.label),
            "tier": category.tier.value,
        },
        "recipient": _recipient(finding.recipient, redactor),
        "transport": finding.transport.value,
        "severity": finding.severity.value,
        "severity_reason": redactor.text(finding.severity_reason),
        "detections": [
            _detection(detection, redactor) for detection in finding.detections
        ],
        "occurrences": max(finding.occurrences, len(finding.detections)),
        "phase": _optional(finding.phase),
    }


def _recipient(recipient: Recipient, redactor: Redactor) -> JsonObject:
    return {
        "host": redactor.text(recipient.host),
        "party": recipient.party.value,
        "owner": scrub(recipient.owner),
        "purpose": scrub(recipient.purpose),
    }


def _detection(detection: Detection, redactor: Redactor) -> JsonObject:
    return {
        "method": detection.method.value,
        "rule": scrub(detection.rule),
        "location": redactor.text(detection.location),
        "decoding": [redactor.text(step) for step in detection.decoding],
        "value": redactor.value(detection),
        "confidence": round(detection.confidence, _CONFIDENCE_DIGITS),
        "persona_field": _optional(detection.persona_field),
        "form": _optional(detection.form),
        "evidence": _evidence(detection.evidence, redactor),
        "phase": _optional(detection.phase),
    }


def _check(check: CheckFinding, redactor: Redactor) -> JsonObject:
    return {
        "id": scrub(check.id),
        "check": scrub(check.check),
        "title": scrub(check.title),
        "description": scrub(check.description),
        "severity": check.severity.value,
        "subject": redactor.text(check.subject),
        "explanation": redactor.text(check.explanation),
        "regulations": [scrub(regulation) for regulation in check.regulations],
        "evidence": [_evidence(evidence, redactor) for evidence in check.evidence],
        "occurrences": max(check.occurrences, 1),
        "findings": [scrub(finding) for finding in check.findings],
    }


def _contact(contact: Contact, redactor: Redactor) -> JsonObject:
    return {
        "recipient": _recipient(contact.recipient, redactor),
        "transports": sorted(transport.value for transport in set(contact.transports)),
        "observations": contact.observations,
        "first_evidence": _evidence(contact.first_evidence, redactor),
    }


def _evidence(evidence: Evidence, redactor: Redactor) -> JsonObject:
    dns_name = evidence.dns_name
    return {
        "file": scrub(evidence.file),
        "packets": list(evidence.packets),
        "flow_id": None
        if evidence.flow_id is None
        else redactor.text(evidence.flow_id),
        "reference": redactor.text(evidence.describe()),
        "dns_name": None
        if dns_name is None
        else {
            "name": redactor.text(dns_name.name),
            "address": scrub(dns_name.address),
            "answer": _evidence(dns_name.answer, redactor),
        },
    }


def _coverage(coverage: Coverage, redactor: Redactor) -> JsonObject:
    return {
        "files_read": [scrub(name) for name in coverage.files_read],
        "packets": coverage.packets,
        "flows": coverage.flows,
        "problems": [redactor.text(problem) for problem in coverage.problems],
        "notes": [redactor.text(note) for note in coverage.notes],
    }


def _optional(text: str | None) -> str | None:
    return None if text is None else scrub(text)
