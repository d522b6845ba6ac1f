"""The outline of a report: what it says, independent of its format.

A report's content is built once from an :class:`Assessment`, as a list of
blocks (headings, paragraphs, bullet lists and tables) made of inline spans,
in reading order (:func:`build_outline`). It opens in plain language (what the
toy collects, who receives it, how it is protected, what the security checks
found, what a parent can do) and ends with a technical appendix that ties
every finding and check to its evidence.
:mod:`toyaudit.report.markdown` renders the outline as Markdown and
:mod:`toyaudit.report.html` as HTML, so both reports say the same thing.

The blocks and spans are in :mod:`toyaudit.report.blocks`, the security
check sections in :mod:`toyaudit.report.checksection`, the rest of the
technical appendix in :mod:`toyaudit.report.appendix`. A span is either
toyaudit's own wording (``literal``, made with ``said``) or a *captured*
string (made with ``shown``) that came from a capture, a rule or a session
file. Captured strings are redacted and control-scrubbed by
:class:`~toyaudit.report.redact.Redactor` here; each renderer escapes them for
its own format.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from toyaudit.assess.records import (
    Assessment,
    CheckFinding,
    Finding,
    Severity,
)
from toyaudit.classify.records import Party, Tier
from toyaudit.ingest.records import Transport
from toyaudit.report.appendix import (
    contacts_section,
    coverage_section,
    findings_appendix,
    run_section,
)
from toyaudit.report.blocks import (
    Block,
    BulletList,
    Heading,
    Inline,
    Paragraph,
    Table,
    badge,
    said,
    shown,
)
from toyaudit.report.checksection import (
    CHECKS_ADVICE,
    check_appendix_section,
    check_counts,
    checks_section,
)
from toyaudit.report.jsondoc import ordered_checks, ordered_findings
from toyaudit.report.redact import Redactor, scrub

__all__ = ["build_outline", "severity_counts"]

TIER_WORDS = {
    Tier.MOST_SENSITIVE: "most sensitive: voice, images, precise location or chat",
    Tier.IDENTIFYING: "identifies your child or family",
    Tier.TRACKING: "lets companies recognise the toy or phone over time",
    Tier.TELEMETRY: "how the toy is used",
    Tier.SECRET: "a password or secret key",
}
PARTY_WORDS = {
    Party.FIRST_PARTY: "the toy's maker",
    Party.PROCESSOR: "a service provider working for the toy's maker",
    Party.TRACKER: "an advertising or tracking company",
    Party.UNKNOWN: "a company toyaudit does not know",
}
TRANSPORT_WORDS = {
    Transport.PLAINTEXT: "not encrypted",
    Transport.TLS: "encrypted (TLS)",
    Transport.BLUETOOTH: "over Bluetooth without encryption",
    Transport.BLUETOOTH_ENCRYPTED: "over encrypted Bluetooth",
}

# -- Building the outline ---------------------------------------------------------


def build_outline(assessment: Assessment, reveal: bool = False) -> list[Block]:
    """Build the report's content, section by section, in reading order."""
    redactor = Redactor(assessment, reveal)
    findings = ordered_findings(assessment)
    checks = ordered_checks(assessment)
    blocks: list[Block] = []
    blocks += _introduction(assessment, findings, reveal)
    blocks += _collected_section(findings, redactor)
    blocks += _recipients_section(assessment, findings, redactor)
    blocks += _protection_section(findings, redactor)
    blocks += checks_section(checks, redactor)
    blocks += _advice_section(assessment, findings, redactor, checks)
    blocks += findings_appendix(findings, redactor)
    blocks += check_appendix_section(checks, redactor)
    blocks += contacts_section(assessment, redactor)
    blocks += coverage_section(assessment, redactor)
    blocks += run_section(assessment, reveal)
    return blocks


def severity_counts(findings: Iterable[Finding]) -> str:
    """Plain words such as "3 findings: 1 critical, 2 medium"."""
    counts = Counter(finding.severity for finding in findings)
    total = sum(counts.values())
    noun = "finding" if total == 1 else "findings"
    if not total:
        return "no findings"
    parts = [
        f"{counts[severity]} {severity.value}"
        for severity in sorted(counts, key=lambda level: -level.rank)
    ]
    return f"{total} {noun}: " + ", ".join(parts)


def _introduction(
    assessment: Assessment, findings: list[Finding], reveal: bool
) -> list[Block]:
    toy_name = scrub(assessment.session.toy.name)
    contacted = len({contact.recipient.host for contact in assessment.contacts})
    summary: Inline = (
        said("In short:", strong=True),
        said(f" {severity_counts(findings)}."),
        said(f" The toy contacted {contacted} {_plural(contacted, 'host')}."),
    )
    if assessment.checks:
        summary += (said(f" {check_counts(assessment.checks).capitalize()}."),)
    return [
        Heading(1, (said("Privacy report: "), shown(toy_name))),
        Paragraph(_about_toy(assessment)),
        Paragraph(summary),
        Paragraph((said(_redaction_words(reveal)),)),
    ]


def _about_toy(assessment: Assessment) -> Inline:
    session = assessment.session
    toy = session.toy
    about = [said("Toy: "), shown(scrub(toy.name), strong=True)]
    for label, value in (("maker", toy.vendor), ("model", toy.model)):
        if value:
            about += [said(f", {label} "), shown(scrub(value))]
    if toy.firmware:
        about += [said(", firmware "), shown(scrub(toy.firmware))]
    about += [said(". Capture session "), shown(scrub(session.name), code=True)]
    if session.captured_at is not None:
        about += [said(", recorded "), shown(session.captured_at.isoformat())]
    if session.captured_by:
        about += [said(" by "), shown(scrub(session.captured_by))]
    return (*about, said("."))


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _redaction_words(reveal: bool) -> str:
    if reveal:
        return (
            "This report shows the personal values toyaudit found, as they were "
            "sent. Keep it private and do not share it."
        )
    return (
        "Personal values are hidden in this report: each shows only what kind of "
        "value it was and how long. Run with --reveal to see them."
    )


def _collected_section(findings: list[Finding], redactor: Redactor) -> list[Block]:
    heading = Heading(2, (said("What your toy collects"),), "collects")
    if not findings:
        none = said("toyaudit found none of your child's data in this capture.")
        return [heading, Paragraph((none,))]
    by_category: dict[str, list[Finding]] = {}
    for finding in findings:
        by_category.setdefault(finding.category.id, []).append(finding)
    items = []
    for group in by_category.values():
        category = group[0].category
        spans = [shown(scrub(category.label), strong=True)]
        spans.append(
            said(f" (tier {category.tier.value}, {TIER_WORDS[category.tier]})")
        )
        spans.append(said(", sent to "))
        for position, finding in enumerate(group):
            if position:
                spans.append(said("; "))
            spans += [shown(redactor.text(finding.recipient.host), code=True)]
            spans += [said(f" ({PARTY_WORDS[finding.recipient.party]}) ")]
            spans.append(badge(finding.severity))
        items.append(tuple(spans))
    return [heading, BulletList(tuple(items))]


def _recipients_section(
    assessment: Assessment, findings: list[Finding], redactor: Redactor
) -> list[Block]:
    heading = Heading(2, (said("Who receives it"),), "recipients")
    by_host: dict[str, list[Finding]] = {}
    for finding in findings:
        by_host.setdefault(finding.recipient.host, []).append(finding)
    rows = [_recipient_row(group, redactor) for group in by_host.values()]
    blocks: list[Block] = [heading]
    if rows:
        header = ("Recipient", "Who they are", "What they receive", "Most severe")
        blocks.append(Table(header, tuple(rows)))
    others = len(
        {contact.recipient.host for contact in assessment.contacts} - set(by_host)
    )
    if others == 0:
        words = "Every host the toy contacted appears above."
    else:
        hosts = "host that" if others == 1 else "hosts that"
        words = f"The toy also contacted {others} other {hosts} received none of "
        words += "the data toyaudit looks for; the appendix lists every contact."
    return blocks + [Paragraph((said(words),))]


def _recipient_row(group: list[Finding], redactor: Redactor) -> tuple[Inline, ...]:
    recipient = group[0].recipient
    who = [said(PARTY_WORDS[recipient.party])]
    if recipient.owner:
        who += [said(": "), shown(scrub(recipient.owner))]
    if recipient.purpose:
        who += [said(", for "), shown(scrub(recipient.purpose))]
    labels = dict.fromkeys(scrub(finding.category.label) for finding in group)
    worst = max((finding.severity for finding in group), key=lambda level: level.rank)
    return (
        (shown(redactor.text(recipient.host), code=True),),
        tuple(who),
        (shown(", ".join(labels)),),
        (badge(worst),),
    )


def _protection_section(findings: list[Finding], redactor: Redactor) -> list[Block]:
    blocks: list[Block] = [Heading(2, (said("How it is protected"),), "protection")]
    plain = [finding for finding in findings if finding.transport.readable_on_path]
    sealed = [f for f in findings if not f.transport.readable_on_path]
    if plain:
        blocks.append(Paragraph((said(_PLAINTEXT_WORDS, strong=True),)))
        blocks.append(BulletList(tuple(_sent_to(item, redactor) for item in plain)))
    if sealed:
        blocks.append(Paragraph((said(_TLS_WORDS),)))
        blocks.append(BulletList(tuple(_sent_to(item, redactor) for item in sealed)))
    if not findings:
        blocks.append(
            Paragraph((said("Nothing to report: no personal data was seen."),))
        )
    return blocks


_PLAINTEXT_WORDS = (
    "Sent without encryption: anyone on the same Wi-Fi, or on the way to the "
    "company, could read these."
)
_TLS_WORDS = (
    "Sent encrypted (TLS). toyaudit could read these only because the test set-up "
    "decrypted them; the receiving company still gets every value."
)


def _sent_to(finding: Finding, redactor: Redactor) -> Inline:
    return (
        shown(scrub(finding.category.label)),
        said(" to "),
        shown(redactor.text(finding.recipient.host), code=True),
        said(" "),
        badge(finding.severity),
    )


def _advice_section(
    assessment: Assessment,
    findings: list[Finding],
    redactor: Redactor,
    checks: list[CheckFinding],
) -> list[Block]:
    advice: dict[str, Inline] = {}
    for finding in findings:
        for item in _advice_for(finding, redactor):
            advice.setdefault("".join(span.text for span in item), item)
    serious = [check for check in checks if check.severity.rank >= Severity.HIGH.rank]
    if serious:
        item = (badge(serious[0].severity), said(" "), said(CHECKS_ADVICE))
        advice.setdefault("".join(span.text for span in item), item)
    # Most urgent first; the sort is stable, so findings keep their order.
    items = sorted(advice.values(), key=lambda item: -_urgency(item))
    closing = said(
        "Keep the toy and its app updated, and run toyaudit again after an update."
    )
    if closing.text not in advice:
        items.append((closing,))
    heading = Heading(2, (said("What you can do"),), "advice")
    return [heading, BulletList(tuple(items))]


def _urgency(item: Inline) -> int:
    severity = item[0].severity if item else None
    return -1 if severity is None else severity.rank


def _advice_for(finding: Finding, redactor: Redactor) -> list[Inline]:
    host = shown(redactor.text(finding.recipient.host), code=True)
    label = shown(scrub(finding.category.label))
    lead = (badge(finding.severity), said(" "))
    advice: list[Inline] = []
    party = finding.recipient.party
    if party is Party.TRACKER:
        advice.append(lead + (said("Block "), host) + _BLOCK_TRACKER)
    elif party is Party.UNKNOWN or (
        party is Party.PROCESSOR and finding.severity.rank >= Severity.MEDIUM.rank
    ):
        advice.append(lead + (said("Ask the toy's maker who runs "), host) + _ASK_WHO)
    if finding.category.tier is Tier.MOST_SENSITIVE:
        advice.append(
            lead + (said("Turn off the feature that sends "), label) + _TURN_OFF
        )
    if finding.category.tier is Tier.SECRET:
        advice.append(lead + (said(_ROTATE_CREDENTIALS),))
    if finding.transport.readable_on_path:
        advice.append(lead + (said(_PLAINTEXT_ADVICE),))
    if party is Party.FIRST_PARTY and finding.severity.rank >= Severity.HIGH.rank:
        advice.append(
            lead
            + (said("Ask the toy's maker how long they keep "), label)
            + _ASK_DELETE
        )
    return advice


_BLOCK_TRACKER = (
    said(
        " on your home router or a DNS filter (such as Pi-hole): it is an "
        "advertising or tracking company, and toys usually work without it "
        "(check that yours still does)."
    ),
)
_ASK_WHO = (said(", why it receives your child's data and how long it keeps it."),)
_TURN_OFF = (
    said(
        " in the toy's app when your child does not need it (often voice or "
        "location), and delete stored recordings or history in the app."
    ),
)
_ROTATE_CREDENTIALS = (
    "Change any password the toy may have sent (for example your Wi-Fi "
    "password), and tell the toy's maker: this is a security flaw."
)
_PLAINTEXT_ADVICE = (
    "Avoid using the toy on shared or public Wi-Fi until its maker encrypts this "
    "traffic, and ask them to fix it."
)
_ASK_DELETE = (said(", and ask them to delete what they hold about your child."),)
