"""The shape every section of a rule file must have, checked with ``file:line``.

A section is either a list of rules (``categories``, ``detectors``...), each
a mapping, or one mapping (``persona``, ``plaintext``, ``phases``...). The
section parsers of :mod:`.rulebuilder` and :mod:`.severitymatrix` check that
shape here before reading fields, and name each rule's source the same way.
"""

from __future__ import annotations

import logging
from pathlib import Path

from toyaudit.classify.yamlsource import LocatedMapping, RuleReader
from toyaudit.errors import RulesError

logger = logging.getLogger(__name__)


def section_items(
    path: Path, line: int, section: str, content: object
) -> list[RuleReader]:
    """The rules of a list section, each wrapped in a reader named by its id."""
    if not isinstance(content, list):
        raise RulesError(
            f"{path}:{line}: '{section}' must be a list", "see docs/rules.md"
        )
    readers = []
    for index, entry in enumerate(content):
        if not isinstance(entry, LocatedMapping):
            raise RulesError(
                f"{path}:{line}: item {index + 1} of '{section}' is not a mapping",
                "write each rule as '- id: ...' followed by its fields",
            )
        identifier = entry.get("id", entry.get("domain", f"#{index + 1} of {section}"))
        readers.append(RuleReader(path, entry, str(identifier)))
    return readers


def section_mapping(
    path: Path, line: int, section: str, content: object
) -> LocatedMapping:
    """The content of a section (or part of one) that must be a mapping."""
    if not isinstance(content, LocatedMapping):
        raise RulesError(
            f"{path}:{line}: '{section}' must be a mapping", "see docs/rules.md"
        )
    return content


def rule_source(reader: RuleReader) -> str:
    """Where the rule ``reader`` reads was defined: ``file:line``."""
    return f"{reader.path}:{reader.mapping.line}"
