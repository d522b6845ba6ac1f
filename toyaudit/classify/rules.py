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
from toyaudit.classify.rulecache import RuleCache
from toyaudit.classify.ruleschema import (
    check_version,
    rules_schema_bytes,
    validate_rule_file,
)
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


def load_rules(directories: Sequence[Path], cache: RuleCache | None = None) -> RuleSet:
    """Load rule folders in order; later folders extend or override by rule id.

    With a ``cache`` (:mod:`.rulecache`), rule files whose very bytes loaded
    before are not parsed and checked again: the rule set they gave is read
    back; rules that load now are kept for next time.
    """
    if not directories:
        raise RulesError("no rules folder given", "pass at least default_rules_dir()")
    folders = [_read_folder(directory) for directory in directories]
    digest = hashlib.sha256()
    readable = True
    for folder in folders:
        for _, relative, content in folder if isinstance(folder, list) else ():
            if isinstance(content, OSError):
                readable = False
                break
            digest.update(f"{relative}\0{len(content)}\0".encode())
            digest.update(content)
        readable = readable and isinstance(folder, list)
    sha256 = digest.hexdigest()
    if cache is None or not readable:
        return _build(folders, sha256)
    key = cache.key(sha256, directories, rules_schema_bytes())
    rules = cache.load(key, sha256)
    if rules is None:
        rules = _build(folders, sha256)
        cache.store(key, rules)
    else:
        logger.info("rules %s read from the cache", sha256[:12])
    return rules


_Source = tuple[Path, str, bytes | OSError]
"""A rule file, its path relative to its folder, and its bytes (or why not)."""


def _read_folder(directory: Path) -> list[_Source] | RulesError:
    """The rule files of a folder with their bytes, or why the folder is unusable.

    Problems are returned, not raised: the load raises them in order, when
    it reaches the folder or file, as if everything were read as it goes.
    """
    try:
        found = _rule_files(directory)
    except RulesError as error:
        return error
    sources: list[_Source] = []
    for path, relative in found:
        try:
            sources.append((path, relative, path.read_bytes()))
        except OSError as error:
            sources.append((path, relative, error))
    return sources


def _build(folders: list[list[_Source] | RulesError], sha256: str) -> RuleSet:
    """Parse, check and build every rule file, folder by folder, in order.

    A folder or file that could not be read stops the load where it stands.
    """
    builder = RuleBuilder()
    files: list[Path] = []
    for folder in folders:
        if isinstance(folder, RulesError):
            raise folder
        builder.start_folder()
        for path, _, content in folder:
            if isinstance(content, OSError):
                raise content
            files.append(path)
            document = load_yaml(path, content)
            check_version(path, document)
            builder.add_file(path, document)
            validate_rule_file(path, document)
    rules = builder.build(sha256, tuple(files))
    logger.info("loaded %d rule files (sha256 %s)", len(files), sha256[:12])
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


__all__ = [
    "RuleSet",
    "SeverityRules",
    "RuleCache",
    "default_rules_dir",
    "load_rules",
]
