"""Print the short summary of an audit on the terminal, with rich.

The summary is what a parent sees first: a headline (the toy and how many
findings of each severity), a table of what is collected, by whom and how it
is protected, what the security checks found, how many hosts the toy
contacted, what could not be read, and where the full reports were written.
It follows the order of ``findings.json``.

Captured strings are hostile input here: a device can name a host
``\\x1b]0;...`` and rewrite the terminal. Every one of them is redacted and has
its control characters made visible (:class:`toyaudit.report.redact.Redactor`)
and is then escaped for rich markup, before it reaches the console.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from toyaudit.assess.records import (
    Assessment,
    CheckFinding,
    Contact,
    Finding,
    Severity,
)
from toyaudit.classify.records import Party
from toyaudit.report.checksection import check_counts
from toyaudit.report.jsondoc import ordered_checks, ordered_findings
from toyaudit.report.outline import severity_counts
from toyaudit.report.redact import Redactor, scrub

logger = logging.getLogger(__name__)

_PARTY_ORDER = {
    Party.TRACKER: 0,
    Party.UNKNOWN: 1,
    Party.PROCESSOR: 2,
    Party.FIRST_PARTY: 3,
}

CONTACT_ROWS = 12
"""Third-party hosts listed in the summary; the reports list all of them."""
CHECK_ROWS = 12
"""Security check results listed in the summary; the reports list all of them."""

SEVERITY_STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def safe_markup(text: str) -> str:
    """Scrub control characters from ``text`` and escape it for rich markup."""
    return escape(scrub(text))


def print_summary(
    assessment: Assessment,
    console: Console,
    reveal: bool = False,
    written: Sequence[Path] = (),
) -> None:
    """Print the audit summary: headline, findings table, contacts, problems, paths.

    ``reveal`` only changes how captured strings are masked: the summary never
    prints personal values. ``written`` lists the report files to point at.
    """
    redactor = Redactor(assessment, reveal)
    findings = ordered_findings(assessment)
    checks = ordered_checks(assessment)
    toy = safe_markup(assessment.session.toy.name)
    headline = f"[bold]{toy}[/bold]: {severity_counts(findings)}"
    if checks:
        headline += f"; {check_counts(checks)}"
    console.print(headline)

    if findings:
        console.print(_findings_table(findings, redactor))
    if checks:
        console.print(_checks_table(checks, redactor))
    hosts = len({contact.recipient.host for contact in assessment.contacts})
    console.print(f"The toy contacted {hosts} host{'' if hosts == 1 else 's'}.")
    third_parties = sorted(
        (
            contact
            for contact in assessment.contacts
            if contact.recipient.party is not Party.FIRST_PARTY
        ),
        key=lambda contact: _PARTY_ORDER[contact.recipient.party],
    )
    if third_parties:
        console.print(_contacts_table(third_parties, redactor))

    for note in assessment.session.notes:
        console.print(f"[cyan]note:[/cyan] {escape(redactor.text(note))}")
    for note in assessment.coverage.notes:
        console.print(f"[cyan]note:[/cyan] {escape(redactor.text(note))}")
    for problem in assessment.coverage.problems:
        console.print(f"[yellow]warning:[/yellow] {escape(redactor.text(problem))}")
    for path in written:
        console.print(f"Report written: {safe_markup(str(path))}")


def _findings_table(findings: Sequence[Finding], redactor: Redactor) -> Table:
    """The table "What is collected, by whom, how it is protected"."""
    table = Table(title="What is collected, by whom, how it is protected")
    for column in ("Collected", "Tier", "Recipient", "Who", "Transport", "Severity"):
        table.add_column(column)
    for finding in findings:
        recipient = finding.recipient
        who = recipient.party.value
        if recipient.owner:
            who += f" ({scrub(recipient.owner)})"
        severity = finding.severity
        table.add_row(
            safe_markup(finding.category.label),
            finding.category.tier.value,
            escape(redactor.text(recipient.host)),
            escape(who),
            finding.transport.value,
            f"[{SEVERITY_STYLES[severity]}]{severity.value}[/]",
        )
    return table


def _checks_table(checks: Sequence[CheckFinding], redactor: Redactor) -> Table:
    """The table of security check results, most severe first."""
    table = Table(title="Security checks")
    for column in ("Severity", "Result", "Concerns"):
        table.add_column(column)
    for check in checks[:CHECK_ROWS]:
        severity = check.severity
        table.add_row(
            f"[{SEVERITY_STYLES[severity]}]{severity.value}[/]",
            safe_markup(check.title[:1].upper() + check.title[1:]),
            escape(redactor.text(check.subject)),
        )
    if len(checks) > CHECK_ROWS:
        table.caption = f"and {len(checks) - CHECK_ROWS} more in the reports"
    return table


def _contacts_table(contacts: Sequence[Contact], redactor: Redactor) -> Table:
    """The table of third parties contacted, whether or not they got data."""
    table = Table(title="Third parties the toy or its app contacted")
    for column in ("Host", "Who", "Purpose", "Transport", "Seen"):
        table.add_column(column)
    for contact in contacts[:CONTACT_ROWS]:
        recipient = contact.recipient
        who = recipient.party.value
        if recipient.owner:
            who += f" ({scrub(recipient.owner)})"
        table.add_row(
            escape(redactor.text(recipient.host)),
            escape(who),
            escape(scrub(recipient.purpose)),
            ", ".join(transport.value for transport in contact.transports)
            or "DNS lookup only",
            str(contact.observations),
        )
    if len(contacts) > CONTACT_ROWS:
        table.caption = f"and {len(contacts) - CONTACT_ROWS} more in the reports"
    return table
