"""The parts of a report outline that show the security checks.

For parents, :func:`checks_section` lists each check result with its
severity, title, subject and what was seen; for reviewers,
:func:`check_appendix_section` adds, per result, the check's rule id, what
it tests, the regulations a failure may implicate, the findings it rests on
and its evidence. :func:`check_counts` words the results for the summary.
Captured strings (subjects, explanations, and the rule's words) are redacted
or scrubbed here, like everything else in an outline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from toyaudit.assess.records import CheckFinding
from toyaudit.report.blocks import (
    Block,
    BulletList,
    Heading,
    Inline,
    Paragraph,
    anchor,
    badge,
    said,
    shown,
)
from toyaudit.report.redact import Redactor, scrub

CHECKS_ADVICE = (
    "Send the toy's maker the security problems listed under Security checks "
    "and ask when they will be fixed; until then, keep the toy off shared or "
    "public Wi-Fi and turn its Bluetooth off when it is not in use."
)
"""What a parent can do about a high or critical check result."""


def check_counts(checks: Iterable[CheckFinding]) -> str:
    """Plain words such as "2 security check results: 1 critical, 1 info"."""
    counts = Counter(check.severity for check in checks)
    total = sum(counts.values())
    if not total:
        return "no security check results"
    noun = "security check result" if total == 1 else "security check results"
    parts = [
        f"{counts[severity]} {severity.value}"
        for severity in sorted(counts, key=lambda level: -level.rank)
    ]
    return f"{total} {noun}: " + ", ".join(parts)


def checks_section(checks: list[CheckFinding], redactor: Redactor) -> list[Block]:
    """The parents' "Security checks" section: one item per result, in order."""
    heading = Heading(2, (said("Security checks"),), "checks")
    lead = said(
        "toyaudit also checked how the toy protects its connections and its "
        "Bluetooth link. A check can only judge what this capture shows."
    )
    if not checks:
        none = said("None of the security checks found anything to report.")
        return [heading, Paragraph((lead,)), Paragraph((none,))]
    items = tuple(_check_item(check, redactor) for check in checks)
    return [heading, Paragraph((lead,)), BulletList(items)]


def _check_item(check: CheckFinding, redactor: Redactor) -> Inline:
    return (
        badge(check.severity),
        said(" "),
        shown(sentence_case(scrub(check.title)), strong=True),
        said(": "),
        shown(redactor.text(check.subject), code=True),
        said(". "),
        shown(redactor.text(check.explanation)),
    )


def sentence_case(text: str) -> str:
    """The text with its first letter upper-cased: rule titles open a line."""
    return text[:1].upper() + text[1:]


def check_appendix_section(
    checks: list[CheckFinding], redactor: Redactor
) -> list[Block]:
    """The reviewers' appendix of check results; nothing when there are none."""
    if not checks:
        return []
    blocks: list[Block] = [
        Heading(2, (said("Technical appendix: security checks"),), "check-appendix")
    ]
    for check in checks:
        blocks += _check_blocks(check, redactor)
    return blocks


def _check_blocks(check: CheckFinding, redactor: Redactor) -> list[Block]:
    title = (
        shown(scrub(check.id)),
        said(": "),
        shown(sentence_case(scrub(check.title))),
        said(", "),
        shown(redactor.text(check.subject)),
    )
    facts: list[Inline] = [
        (said("Severity: "), badge(check.severity)),
        (said("Check: "), shown(scrub(check.check), code=True)),
        (said("Concerns: "), shown(redactor.text(check.subject), code=True)),
        (said("Seen: "), shown(redactor.text(check.explanation))),
    ]
    if check.description:
        facts.append((said("What is tested: "), shown(scrub(check.description))))
    if check.regulations:
        regulations = "; ".join(scrub(item) for item in check.regulations)
        facts.append((said("May implicate: "), shown(regulations)))
    if check.findings:
        related = ", ".join(scrub(item) for item in check.findings)
        facts.append((said("Rests on findings: "), shown(related, code=True)))
    kept = len(check.evidence)
    how = "Evidence:"
    if check.occurrences > kept:
        how = f"Evidence (the earliest {kept}; seen {check.occurrences} times in all):"
    evidence = tuple(
        (shown(redactor.text(item.describe()), code=True),) for item in check.evidence
    )
    blocks: list[Block] = [
        Heading(3, title, "check-" + anchor(check.id)),
        BulletList(tuple(facts)),
    ]
    if evidence:
        blocks += [Paragraph((said(how),)), BulletList(evidence)]
    return blocks
