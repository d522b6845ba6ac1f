"""The severity matrix and phase rules of rule files: read, then checked complete.

Three sections say how much a finding weighs: ``over_tls`` (severity by tier
and recipient party, for data sent inside TLS), ``plaintext`` (by tier, for
data sent in the clear) and ``phases`` (capture phases in which data weighs
more). The readers here check each entry, naming ``file:line``, and yield
it for :class:`~.rulebuilder.RuleBuilder` to record; once every file is read,
:func:`complete_severity` refuses a matrix with a gap and freezes it into
:class:`~.ruleset.SeverityRules`. :func:`severity_name` checks a severity
wherever a rule names one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from toyaudit.classify.records import Party, Tier
from toyaudit.classify.rulesections import section_mapping
from toyaudit.classify.ruleset import (
    PARTIES,
    SEVERITIES,
    TIERS,
    PhaseReach,
    PhaseRule,
    SeverityRules,
    phase_key,
)
from toyaudit.classify.yamlsource import RuleReader
from toyaudit.errors import RulesError

logger = logging.getLogger(__name__)


def over_tls_entries(
    path: Path, line: int, content: object
) -> Iterator[tuple[str, str, str]]:
    """Yield ``(rule id, severity, file:line)`` for each ``over_tls`` cell."""
    for tier, row_line, row in _tier_rows(path, line, "over_tls", content):
        table = section_mapping(path, row_line, f"over_tls {tier}", row)
        reader = RuleReader(path, table, f"over_tls {tier}")
        for party in table:
            if party not in PARTIES:
                reader.fail(party, f"unknown party {party!r}", _one_of(PARTIES))
            source = f"{path}:{table.line_of(party)}"
            severity = severity_name(reader, party)
            yield f"over_tls {tier} {party}", severity, source


def plaintext_entries(
    path: Path, line: int, content: object
) -> Iterator[tuple[str, str, str]]:
    """Yield ``(rule id, severity, file:line)`` for each ``plaintext`` tier."""
    mapping = section_mapping(path, line, "plaintext", content)
    for tier, row_line, _ in _tier_rows(path, line, "plaintext", content):
        reader = RuleReader(path, mapping, f"plaintext {tier}")
        severity = severity_name(reader, tier)
        yield f"plaintext {tier}", severity, f"{path}:{row_line}"


def phase_entries(
    path: Path, line: int, content: object
) -> Iterator[tuple[str, PhaseRule, str]]:
    """Yield ``(phase key, rule, file:line)`` for each entry of ``phases``."""
    mapping = section_mapping(path, line, "phases", content)
    reaches = tuple(PhaseReach)
    for name, value in mapping.items():
        source = f"{path}:{mapping.line_of(name)}"
        table = section_mapping(path, mapping.line_of(name), f"phases {name}", value)
        reader = RuleReader(path, table, f"phase {name}")
        reader.check_fields(("raise", "applies"), ("label",))
        steps = reader.number("raise", 0, 4, 0)
        if steps != int(steps):
            reader.fail("raise", "'raise' must be a whole number", "use 0 to 4")
        reach = reader.text("applies")
        if reach not in reaches:
            reader.fail("applies", f"'applies' is {reach!r}", _one_of(reaches))
        key = phase_key(name)
        label = reader.text("label", _phase_label(key, PhaseReach(reach)))
        yield key, PhaseRule(key, int(steps), PhaseReach(reach), label), source


def complete_severity(
    severity: Mapping[str, tuple[str, str]],
    phases: Mapping[str, tuple[PhaseRule, str]],
) -> SeverityRules:
    """Freeze the recorded cells and phase rules; refuse a matrix with a gap.

    Both map a rule id to the rule and its ``file:line``, as the builder
    records them.
    """
    over_tls: dict[tuple[Tier, Party], str] = {}
    plaintext: dict[Tier, str] = {}
    for tier in Tier:
        plaintext[tier] = _required(severity, f"plaintext {tier.value}")
        for party in Party:
            over_tls[(tier, party)] = _required(
                severity, f"over_tls {tier.value} {party.value}"
            )
    rules = {name: rule for name, (rule, _) in phases.items()}
    return SeverityRules(over_tls=over_tls, plaintext=plaintext, phases=rules)


def _required(severity: Mapping[str, tuple[str, str]], rule_id: str) -> str:
    if rule_id not in severity:
        raise RulesError(
            f"rules: the severity matrix has no entry '{rule_id}'",
            "complete 'over_tls' and 'plaintext' (see rules/severity.yaml)",
        )
    return severity[rule_id][0]


def _phase_label(name: str, reach: PhaseReach) -> str:
    """What a phase rule without a ``label`` tells parents."""
    if reach is PhaseReach.UNTIL_END:
        return f"before the {name} phase ended"
    if reach is PhaseReach.FROM_START:
        return f"after the {name} phase began"
    return f"during the {name} phase"


def _tier_rows(
    path: Path, line: int, section: str, content: object
) -> list[tuple[str, int, object]]:
    """(tier, line, value) for each row of a tier-keyed section, tiers checked."""
    mapping = section_mapping(path, line, section, content)
    rows = []
    for tier, row in mapping.items():
        if tier not in TIERS:
            raise RulesError(
                f"{path}:{mapping.line_of(tier)}: rule {section} {tier}: "
                f"{tier!r} is not a tier",
                _one_of(TIERS),
            )
        rows.append((tier, mapping.line_of(tier), row))
    return rows


def _one_of(choices: Sequence[str]) -> str:
    return "use one of: " + ", ".join(choices)


def severity_name(reader: RuleReader, key: str) -> str:
    """The severity under ``key``, refused unless it is one of :data:`SEVERITIES`."""
    severity = reader.text(key)
    if severity not in SEVERITIES:
        reader.fail(
            key,
            f"severity {severity!r} is unknown",
            "use one of: " + ", ".join(SEVERITIES),
        )
    return severity
