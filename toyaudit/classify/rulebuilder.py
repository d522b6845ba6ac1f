"""Collect parsed rules file by file, then check references and completeness.

Each top-level section of a rule file has a parser that validates its
entries with :class:`RuleReader` (so errors name ``file:line`` and the rule
id) and records them in a :class:`RuleBuilder`. The builder refuses an id
defined twice in one folder, lets a later folder replace an earlier one's
rule, and finally checks that every referenced category exists, that every
persona field is mapped and that the severity matrix and decoding settings
are complete. (The JSON Schema check of each file, :mod:`.ruleschema`, runs
after these parsers, so their more specific messages come first.)

This module holds the builder and the parsers of the categories, detectors,
persona, recipients, checks and decoding sections. The severity matrix
(``over_tls``, ``plaintext``) and ``phases`` are read and checked complete
by :mod:`.severitymatrix`; the shape every section must have is checked by
:mod:`.rulesections`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from toyaudit.classify.checks import Check, plain_mapping
from toyaudit.classify.decoders import DecodingRules
from toyaudit.classify.detectorrules import parse_detector
from toyaudit.classify.detectors import Detector
from toyaudit.classify.recipients import PURPOSES, RecipientRule
from toyaudit.classify.records import Category, Party, Tier
from toyaudit.classify.ruleschema import VERSION_KEY
from toyaudit.classify.rulesections import rule_source, section_items, section_mapping
from toyaudit.classify.ruleset import TIERS, PhaseRule, RuleSet
from toyaudit.classify.severitymatrix import (
    complete_severity,
    over_tls_entries,
    phase_entries,
    plaintext_entries,
    severity_name,
)
from toyaudit.classify.yamlsource import LocatedMapping, RuleReader
from toyaudit.errors import RulesError
from toyaudit.session import PERSONA_FIELDS

logger = logging.getLogger(__name__)

_DECODING_NUMBERS = ("max_depth", "max_body_bytes", "max_fields", "base64_min_length")
_DECODING_LISTS = ("skip_headers", "ignored_values")

_T = TypeVar("_T")


class RuleBuilder:
    """Collects rules file by file, then checks references and completeness.

    Each table maps a rule id to the parsed rule and its ``file:line``.
    """

    def __init__(self) -> None:
        self.categories: dict[str, tuple[_CategoryRule, str]] = {}
        self.detectors: dict[str, tuple[Detector, str]] = {}
        self.persona: dict[str, tuple[str, str]] = {}
        self.recipients: dict[str, tuple[RecipientRule, str]] = {}
        self.severity: dict[str, tuple[str, str]] = {}
        self.phases: dict[str, tuple[PhaseRule, str]] = {}
        self.decoding: dict[str, tuple[int | tuple[str, ...], str]] = {}
        self.checks: dict[str, tuple[Check, str]] = {}
        self.folder_ids: set[tuple[int, str]] = set()

    def start_folder(self) -> None:
        """A new folder may override ids from earlier ones, but not repeat its own."""
        self.folder_ids = set()

    def add(
        self, table: dict[str, tuple[_T, str]], rule_id: str, rule: _T, source: str
    ) -> None:
        """Record one rule, refusing an id already defined in the same folder."""
        if (id(table), rule_id) in self.folder_ids:
            raise RulesError(
                f"{source}: rule {rule_id}: duplicate id "
                f"(first defined at {table[rule_id][1]})",
                "rename one of them, or override it from a separate rules folder",
            )
        if rule_id in table:
            logger.debug(
                "rule %s from %s overrides %s", rule_id, source, table[rule_id][1]
            )
        self.folder_ids.add((id(table), rule_id))
        table[rule_id] = (rule, source)

    def add_file(self, path: Path, document: LocatedMapping) -> None:
        """Parse every section of one rule file."""
        for section, content in document.items():
            if section == VERSION_KEY:
                continue
            parser = _SECTIONS.get(str(section))
            if parser is None:
                raise RulesError(
                    f"{path}:{document.line_of(section)}: unknown section '{section}'",
                    "use one of: " + ", ".join((VERSION_KEY, *_SECTIONS)),
                )
            parser(self, path, document.line_of(section), content)

    def build(self, sha256: str, files: tuple[Path, ...]) -> RuleSet:
        """Resolve references, check completeness and freeze the rule set."""
        self._check_references()
        return RuleSet(
            categories={
                key: rule.category for key, (rule, _) in self.categories.items()
            },
            severity=complete_severity(self.severity, self.phases),
            sha256=sha256,
            files=files,
            detectors=tuple(rule for rule, _ in self.detectors.values()),
            persona={field: category for field, (category, _) in self.persona.items()},
            recipients=tuple(rule for rule, _ in self.recipients.values()),
            decoding=self._decoding(),
            legal={key: rule.legal for key, (rule, _) in self.categories.items()},
            checks={key: rule for key, (rule, _) in self.checks.items()},
        )

    def _check_references(self) -> None:
        known = ", ".join(self.categories) or "(none defined)"
        references = [
            (rule.id, rule.category_id, source)
            for rule, source in self.detectors.values()
        ]
        references += [
            (rule.id, category_id, source)
            for rule, source in self.detectors.values()
            for category_id in rule.alongside
        ]
        references += [
            (rule.id, category_id, f"{source.rpartition(':')[0]}:{example.line}")
            for rule, source in self.detectors.values()
            for example in rule.examples
            for category_id in example.also
        ]
        references += [
            (f"persona:{field}", category, source)
            for field, (category, source) in self.persona.items()
        ]
        for rule_id, category_id, source in references:
            if category_id not in self.categories:
                raise RulesError(
                    f"{source}: rule {rule_id}: "
                    f"category '{category_id}' is not defined",
                    f"use one of: {known}, or define it under 'categories:'",
                )
        missing = [field for field in PERSONA_FIELDS if field not in self.persona]
        if missing:
            raise RulesError(
                f"rules: persona fields without a category: {', '.join(missing)}",
                "map each under 'persona:' (see rules/persona.yaml)",
            )

    def _decoding(self) -> DecodingRules:
        missing = [
            name
            for name in (*_DECODING_NUMBERS, *_DECODING_LISTS)
            if name not in self.decoding
        ]
        if missing:
            raise RulesError(
                f"rules: 'decoding' lacks {', '.join(missing)}",
                "add them (see rules/decoding.yaml)",
            )
        numbers = {name: int(str(self.decoding[name][0])) for name in _DECODING_NUMBERS}
        lists = {
            name: frozenset(_as_words(self.decoding[name][0]))
            for name in _DECODING_LISTS
        }
        return DecodingRules(**numbers, **lists)  # type: ignore[arg-type]


def _as_words(value: int | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()


@dataclass(frozen=True, slots=True)
class _CategoryRule:
    category: Category
    legal: tuple[str, ...]


def _parse_categories(
    builder: RuleBuilder, path: Path, line: int, content: object
) -> None:
    for reader in section_items(path, line, "categories", content):
        if "provisions" in reader.mapping:
            reader.fail(
                "provisions",
                "'provisions' is now called 'legal'",
                "rename the field to 'legal' (rule schema 1, docs/rules.md)",
            )
        reader.check_fields(("id", "tier", "label"), ("description", "legal"))
        tier = reader.text("tier")
        if tier not in TIERS:
            reader.fail(
                "tier",
                f"tier {tier!r} is not a tier",
                "use one of: " + ", ".join(TIERS),
            )
        category = Category(
            id=reader.text("id"),
            tier=Tier(tier),
            label=reader.text("label"),
            description=str(reader.mapping.get("description", "")).strip(),
        )
        rule = _CategoryRule(category, reader.text_list("legal"))
        builder.add(builder.categories, category.id, rule, rule_source(reader))


def _parse_detectors(
    builder: RuleBuilder, path: Path, line: int, content: object
) -> None:
    for reader in section_items(path, line, "detectors", content):
        detector = parse_detector(reader)
        builder.add(builder.detectors, detector.id, detector, detector.source)


def _parse_persona(
    builder: RuleBuilder, path: Path, line: int, content: object
) -> None:
    mapping = section_mapping(path, line, "persona", content)
    for field in mapping:
        reader = RuleReader(path, mapping, f"persona:{field}")
        if field not in PERSONA_FIELDS:
            reader.fail(
                str(field),
                f"unknown persona field '{field}'",
                "use one of: " + ", ".join(PERSONA_FIELDS),
            )
        category_id = reader.text(str(field))
        builder.add(
            builder.persona, str(field), category_id, f"{path}:{mapping.line_of(field)}"
        )


def _parse_recipients(
    builder: RuleBuilder, path: Path, line: int, content: object
) -> None:
    for reader in section_items(path, line, "recipients", content):
        reader.check_fields(("domain", "owner", "purpose", "party"), ("service",))
        domain = reader.text("domain")
        suffix = domain.removeprefix("*.")
        if (
            domain != domain.lower()
            or "*" in suffix
            or " " in domain
            or "." not in suffix
        ):
            reader.fail(
                "domain",
                f"{domain!r} is not a lower-case domain",
                "write 'example.com' or '*.example.com'",
            )
        purpose = reader.text("purpose")
        if purpose not in PURPOSES:
            reader.fail(
                "purpose",
                f"unknown purpose {purpose!r}",
                "use one of: " + ", ".join(PURPOSES),
            )
        party = reader.text("party")
        if party not in (Party.TRACKER, Party.PROCESSOR):
            reader.fail(
                "party",
                f"party {party!r} is not allowed here",
                "use 'tracker' or 'processor'",
            )
        rule = RecipientRule(
            domain,
            reader.text("owner"),
            purpose,
            Party(party),
            str(reader.mapping.get("service", "")),
        )
        builder.add(builder.recipients, domain, rule, rule_source(reader))


def _parse_checks(builder: RuleBuilder, path: Path, line: int, content: object) -> None:
    for reader in section_items(path, line, "checks", content):
        reader.check_fields(
            ("id", "title", "severity"),
            ("description", "needs", "regulations", "parameters"),
        )
        parameters = reader.section("parameters")
        check = Check(
            id=reader.text("id"),
            title=reader.text("title"),
            severity=severity_name(reader, "severity"),
            source=rule_source(reader),
            description=str(reader.mapping.get("description", "")).strip(),
            needs=reader.text_list("needs"),
            regulations=reader.text_list("regulations"),
            parameters={} if parameters is None else plain_mapping(parameters.mapping),
        )
        builder.add(builder.checks, check.id, check, check.source)


def _parse_over_tls(
    builder: RuleBuilder, path: Path, line: int, content: object
) -> None:
    for rule_id, severity, source in over_tls_entries(path, line, content):
        builder.add(builder.severity, rule_id, severity, source)


def _parse_plaintext(
    builder: RuleBuilder, path: Path, line: int, content: object
) -> None:
    for rule_id, severity, source in plaintext_entries(path, line, content):
        builder.add(builder.severity, rule_id, severity, source)


def _parse_phases(builder: RuleBuilder, path: Path, line: int, content: object) -> None:
    for key, rule, source in phase_entries(path, line, content):
        builder.add(builder.phases, key, rule, source)


def _parse_decoding(
    builder: RuleBuilder, path: Path, line: int, content: object
) -> None:
    reader = RuleReader(
        path, section_mapping(path, line, "decoding", content), "decoding"
    )
    reader.check_fields((), (*_DECODING_NUMBERS, *_DECODING_LISTS))
    for name in reader.mapping:
        source = f"{path}:{reader.mapping.line_of(name)}"
        if name in _DECODING_NUMBERS:
            value: int | tuple[str, ...] = int(reader.number(name, 1, 1 << 30, 1))
        else:
            value = tuple(word.lower() for word in reader.text_list(name))
        builder.add(builder.decoding, name, value, source)


_SECTIONS: dict[str, Callable[[RuleBuilder, Path, int, object], None]] = {
    "categories": _parse_categories,
    "detectors": _parse_detectors,
    "persona": _parse_persona,
    "recipients": _parse_recipients,
    "checks": _parse_checks,
    "over_tls": _parse_over_tls,
    "plaintext": _parse_plaintext,
    "phases": _parse_phases,
    "decoding": _parse_decoding,
}
