"""The technical appendix of a report: each finding's proof, contacts, coverage.

Where the plain-language sections of :mod:`toyaudit.report.outline` say what
a toy collects and what to do, the appendix ties every finding to the
detections that prove it (rule, location, decoding chain, redacted value,
evidence reference), lists every host contacted, says what the audit could
not read and why, and names the tool version and digests of the run. The
security checks' part of the appendix is in :mod:`toyaudit.report.checksection`.
"""

from __future__ import annotations

from toyaudit.assess.records import Assessment, Detection, Finding
from toyaudit.report.blocks import (
    Block,
    BulletList,
    Heading,
    Inline,
    Paragraph,
    Table,
    anchor,
    badge,
    said,
    shown,
)
from toyaudit.report.jsondoc import ordered_contacts
from toyaudit.report.redact import Redactor, scrub


def findings_appendix(findings: list[Finding], redactor: Redactor) -> list[Block]:
    """The appendix's heading and every finding with its facts and detections."""
    blocks: list[Block] = [Heading(2, (said("Technical appendix"),), "appendix")]
    if not findings:
        blocks.append(Paragraph((said("No findings."),)))
    for finding in findings:
        blocks += _finding_blocks(finding, redactor)
    return blocks


def _finding_blocks(finding: Finding, redactor: Redactor) -> list[Block]:
    category, recipient = finding.category, finding.recipient
    title = (
        shown(scrub(finding.id)),
        said(": "),
        shown(scrub(category.label)),
        said(" to "),
        shown(redactor.text(recipient.host)),
    )
    kept, seen = (
        len(finding.detections),
        max(finding.occurrences, len(finding.detections)),
    )
    how = "How it was detected:"
    if seen > kept:
        how = f"How it was detected (the strongest {kept} of {seen} detections):"
    detections = tuple(_detection_item(item, redactor) for item in finding.detections)
    return [
        Heading(3, title, "finding-" + anchor(finding.id)),
        BulletList(_finding_facts(finding, redactor)),
        Paragraph((said(how),)),
        BulletList(detections),
    ]


def _finding_facts(finding: Finding, redactor: Redactor) -> tuple[Inline, ...]:
    category, recipient = finding.category, finding.recipient
    return (
        (
            said("Severity: "),
            badge(finding.severity),
            said(" ("),
            shown(redactor.text(finding.severity_reason)),
            said(")"),
        ),
        (
            said("Category: "),
            shown(scrub(category.id), code=True),
            said(f" (tier {category.tier.value})"),
        ),
        (
            said("Recipient: "),
            shown(redactor.text(recipient.host), code=True),
            said(f", {recipient.party.value}, owner "),
            shown(scrub(recipient.owner) or "unknown"),
            said(", purpose "),
            shown(scrub(recipient.purpose) or "unknown"),
        ),
        (said(f"Transport: {finding.transport.value}"),),
    )


def _detection_item(detection: Detection, redactor: Redactor) -> Inline:
    spans = [
        said(f"{detection.method.value} match, rule "),
        shown(scrub(detection.rule), code=True),
    ]
    if detection.persona_field:
        spans += [
            said(", persona field "),
            shown(scrub(detection.persona_field), code=True),
        ]
    if detection.form:
        spans += [said(", form "), shown(scrub(detection.form))]
    spans += [said(", in "), shown(redactor.text(detection.location), code=True)]
    if detection.decoding:
        chain = " > ".join(redactor.text(step) for step in detection.decoding)
        spans += [said(", decoded as "), shown(chain)]
    spans += [said("; value "), shown(redactor.value(detection), code=True)]
    spans += [said(f"; confidence {detection.confidence:.2f}; evidence ")]
    spans.append(shown(redactor.text(detection.evidence.describe()), code=True))
    return tuple(spans)


def contacts_section(assessment: Assessment, redactor: Redactor) -> list[Block]:
    """A table of every host the toy contacted, with its first evidence."""
    blocks: list[Block] = [
        Heading(2, (said("Everyone the toy contacted"),), "contacts")
    ]
    rows = []
    for contact in ordered_contacts(assessment):
        recipient = contact.recipient
        transports = ", ".join(sorted({item.value for item in contact.transports}))
        transports = transports or "DNS lookup only"
        rows.append(
            (
                (shown(redactor.text(recipient.host), code=True),),
                (said(recipient.party.value),),
                (shown(scrub(recipient.owner) or "unknown"),),
                (said(transports),),
                (said(str(contact.observations)),),
                (shown(redactor.text(contact.first_evidence.describe()), code=True),),
            )
        )
    if not rows:
        return blocks + [Paragraph((said("No contacts were recorded."),))]
    header = ("Host", "Party", "Owner", "Transports", "Observations", "First seen")
    return blocks + [Table(header, tuple(rows))]


def coverage_section(assessment: Assessment, redactor: Redactor) -> list[Block]:
    """What was read, what was skipped and why, and what no capture shows."""
    coverage = assessment.coverage
    files = ", ".join(scrub(name) for name in coverage.files_read) or "none"
    items: list[Inline] = [
        (said("Files read: "), shown(files)),
        (said(f"Packets read: {coverage.packets}; flows read: {coverage.flows}."),),
    ]
    for problem in coverage.problems:
        items.append(
            (said("Skipped:", strong=True), said(" "), shown(redactor.text(problem)))
        )
    for note in coverage.notes:
        items.append((said("Note: "), shown(redactor.text(note))))
    for note in assessment.session.notes:
        items.append((said("Session note: "), shown(redactor.text(note))))
    items.append((said(_CAPTURE_LIMITS),))
    heading = Heading(2, (said("What this audit could not see"),), "coverage")
    return [heading, BulletList(tuple(items))]


_CAPTURE_LIMITS = (
    "toyaudit sees only what the toy and its app sent during this capture: features "
    "not used while capturing, traffic the set-up could not decrypt (it shows only "
    "host names) and what companies do with the data afterwards are not covered."
)


def run_section(assessment: Assessment, reveal: bool) -> list[Block]:
    """The tool version and digests that let a regulator reproduce the run."""
    run = assessment.run
    items: list[Inline] = [
        (said("toyaudit version "), shown(scrub(run.tool_version))),
        (said("Rules SHA-256 "), shown(scrub(run.rules_sha256), code=True)),
        (
            said("Session manifest SHA-256 "),
            shown(scrub(run.manifest_sha256), code=True),
        ),
        (said("Personal values shown" if reveal else "Personal values redacted"),),
    ]
    return [Heading(2, (said("About this run"),), "run"), BulletList(tuple(items))]
