"""Load and validate the YAML rules into one immutable :class:`RuleSet`.

A rules folder holds ``*.yaml`` files (searched recursively, hidden ones
skipped). Each file is a mapping whose top-level keys say what it holds:
``categories``, ``detectors``, ``persona``, ``recipients``, ``checks``,
``over_tls`` and ``plaintext`` (the severity matrix) and ``decoding``, and
optionally ``schema: 1``, the rule schema it is written for. Several folders
can be given: a later folder adds rules and replaces earlier ones with the
same id, which is how a user extends the shipped rules. Within one folder an
id may be defined once. Everything is checked on load, by the section parsers
and then by the packaged JSON Schema (:mod:`.ruleschema`), and any problem
stops the run with a message naming ``file:line``, the rule id and the fix
(docs/rules.md).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from toyaudit.classify.rulebuilder import RuleBuilder
from toyaudit.classify.ruleschema import check_version, validate_rule_file
from toyaudit.classify.ruleset import RuleSet, SeverityRules
from toyaudit.classify.yamlsource import load_yaml
from toyaudit.errors import RulesError

logger = logging.getLogger(__name__)


def default_rules_dir() -> Path:
    """The shipped rules: ``toyaudit/_rules`` in a wheel, ``rules/`` in a checkout."""
    installed = resources.files("toyaudit") / "_rules"
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    checkout = Path(__file__).parents[2] / "rules"
    if checkout.is_dir():
        return checkout
    raise RulesError(
        f"no shipped rules: neither {installed} nor {checkout} exists",
        "reinstall toyaudit, or pass your rules folder with --rules",
    )


def load_rules(directories: Sequence[Path]) -> RuleSet:
    """Load rule folders in order; later folders extend or override by rule id."""
    if not directories:
        raise RulesError("no rules folder given", "pass at least default_rules_dir()")
    builder = RuleBuilder()
    digest = hashlib.sha256()
    files: list[Path] = []
    for directory in directories:
        builder.start_folder()
        for path, relative in _rule_files(directory):
            content = path.read_bytes()
            digest.update(f"{relative}\0{len(content)}\0".encode())
            digest.update(content)
            files.append(path)
            document = load_yaml(path, content)
            check_version(path, document)
            builder.add_file(path, document)
            validate_rule_file(path, document)
    rules = builder.build(digest.hexdigest(), tuple(files))
    logger.info("loaded %d rule files (sha256 %s)", len(files), rules.sha256[:12])
    return rules


def _rule_files(directory: Path) -> list[tuple[Path, str]]:
    if not directory.is_dir():
        raise RulesError(f"{directory}: no such rules folder", "check the path")
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        hidden = any(part.startswith(".") for part in path.relative_to(directory).parts)
        if path.is_file() and path.suffix in (".yaml", ".yml") and not hidden:
            found.append((path, relative))
    if not found:
        raise RulesError(f"{directory}: holds no .yaml rule files", "check the path")
    return found


__all__ = ["RuleSet", "SeverityRules", "default_rules_dir", "load_rules"]
