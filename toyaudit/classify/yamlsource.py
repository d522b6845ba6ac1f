"""Read rule files as YAML that remembers line numbers, and check their fields.

Every rule error must name the file, the line and the rule id, so the loader
builds mappings that record where each key was written, and lists that record
where each item was. :class:`RuleReader` wraps one rule (one YAML mapping)
and offers typed accessors that raise :class:`RulesError` with that position
and a hint, instead of letting a wrong type slip through as a ``KeyError`` or
a silent default later on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml

from toyaudit.classify.linear import LinearPattern
from toyaudit.errors import RulesError

logger = logging.getLogger(__name__)


class LocatedMapping(dict[str, Any]):
    """A YAML mapping that knows the line it starts on and the line of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        """1-based line of the mapping's first key."""
        self.key_lines: dict[str, int] = {}
        """1-based line of each key."""

    def line_of(self, key: str) -> int:
        """The line a key was written on, or the mapping's line if it is absent."""
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    """A YAML sequence that knows the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        """1-based line where the sequence starts."""
        self.item_lines: list[int] = []
        """1-based line of each item."""

    def line_of(self, index: int) -> int:
        """The line an item was written on, or the sequence's line if out of range."""
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


class _DuplicateKeyError(yaml.YAMLError):
    """A key written twice in one mapping, which PyYAML would silently merge."""

    def __init__(self, key: object, line: int) -> None:
        super().__init__(f"key {key!r} appears twice in the same mapping")
        self.key = key
        self.line = line


_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it (its wheels are): several
times faster on our rule files, with the same marks and the same safety."""


class _LineLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader whose mappings are :class:`LocatedMapping` objects."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LocatedMapping:
    loader.flatten_mapping(node)
    mapping = LocatedMapping(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int) or isinstance(key, bool):
            raise yaml.MarkedYAMLError(
                problem="keys must be plain words or numbers",
                problem_mark=key_node.start_mark,
            )
        # Keys are text everywhere ("1" and 1 are the same tier), so a
        # reader never has to guess which one the author wrote.
        key = str(key)
        if key in mapping:
            raise _DuplicateKeyError(key, line)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LocatedList:
    sequence = LocatedList(node.start_mark.line + 1)
    for item_node in node.value:
        sequence.append(loader.construct_object(item_node, deep=True))
        sequence.item_lines.append(item_node.start_mark.line + 1)
    return sequence


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> str:
    # Dates stay text: examples such as "2018-03-14" must reach the date
    # validator exactly as written, not as a datetime.date.
    return str(loader.construct_scalar(node))


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence
)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def load_yaml(path: Path, content: bytes) -> LocatedMapping:
    """Parse one rule file into a :class:`LocatedMapping`.

    Raises :class:`RulesError` naming ``file:line`` for syntax errors, keys
    written twice, and files whose top level is not a mapping.
    """
    try:
        document = yaml.load(content.decode("utf-8"), Loader=_LineLoader)  # noqa: S506
    except UnicodeDecodeError as error:
        raise RulesError(
            f"{path}: not UTF-8 text ({error})", "save it as UTF-8"
        ) from error
    except _DuplicateKeyError as error:
        raise RulesError(
            f"{path}:{error.line}: key {error.key!r} appears twice in one mapping",
            "remove or rename one of them; YAML would silently keep only the last",
        ) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or "malformed YAML"
        raise RulesError(
            f"{where}: YAML syntax error: {problem}",
            "fix the indentation or quoting on that line (quote regexes with '...')",
        ) from error
    if document is None:
        return LocatedMapping(1)
    if not isinstance(document, LocatedMapping):
        raise RulesError(
            f"{path}:1: expected a mapping of sections at the top of the file",
            "see docs/rules.md for the sections a rule file may hold",
        )
    return document


class RuleReader:
    """Typed, position-aware access to the fields of one rule mapping."""

    def __init__(self, path: Path, mapping: LocatedMapping, rule_id: str) -> None:
        self.path = path
        self.mapping = mapping
        self.rule_id = rule_id

    def fail(
        self, key: str | None, problem: str, hint: str, item: int | None = None
    ) -> NoReturn:
        """Raise a :class:`RulesError` for this rule, at the line of ``key``.

        With ``item``, at the line of that item of the list under ``key``.
        """
        line = self.mapping.line if key is None else self.mapping.line_of(key)
        items = None if key is None else self.mapping.get(key)
        if item is not None and isinstance(items, LocatedList):
            line = items.line_of(item)
        raise RulesError(f"{self.path}:{line}: rule {self.rule_id}: {problem}", hint)

    def check_fields(self, required: Iterable[str], optional: Iterable[str]) -> None:
        """Refuse missing required fields and any field not in either list."""
        known = [*required, *optional]
        for name in required:
            if name not in self.mapping:
                self.fail(None, f"has no '{name}'", f"add '{name}' (see docs/rules.md)")
        for name in self.mapping:
            if name not in known:
                self.fail(
                    str(name),
                    f"unknown field '{name}'",
                    "use only: " + ", ".join(known),
                )

    def text(self, key: str, default: str | None = None) -> str:
        """A non-empty string field (numbers are accepted and turned into text)."""
        raw = self.mapping.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, str | int | float) or raw == "":
            self.fail(key, f"'{key}' must be non-empty text", f"write '{key}: ...'")
        return str(raw)

    def number(self, key: str, low: float, high: float, default: float) -> float:
        """A number between ``low`` and ``high``, inclusive."""
        raw = self.mapping.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            self.fail(
                key, f"'{key}' must be a number", f"use a value from {low} to {high}"
            )
        if not low <= raw <= high:
            self.fail(key, f"'{key}' is {raw}, out of range", f"use {low} to {high}")
        return float(raw)

    def text_list(self, key: str, choices: Sequence[str] = ()) -> tuple[str, ...]:
        """A list of strings, optionally each one of ``choices``; [] if absent."""
        raw = self.mapping.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            self.fail(
                key, f"'{key}' must be a list of text", f"write '{key}: [..., ...]'"
            )
        for index, item in enumerate(raw):
            if choices and item not in choices:
                self.fail(
                    key,
                    f"'{key}' has {item!r}",
                    "use one of: " + ", ".join(choices),
                    item=index,
                )
        return tuple(raw)

    def regex_list(self, key: str) -> tuple[LinearPattern, ...]:
        """A list of regexes in the RE2-compatible subset, compiled."""
        sources = self.text_list(key)
        return tuple(
            self.regex(key, source, item=index) for index, source in enumerate(sources)
        )

    def regex(self, key: str, source: str, item: int | None = None) -> LinearPattern:
        """Compile one regex, refusing constructs RE2 does not support.

        ``item`` is the regex's place in the list under ``key``, if it is in one.
        """
        for construct in _NON_RE2:
            if construct in source:
                self.fail(
                    key,
                    f"regex {source!r} uses {construct!r}, which RE2 does not support",
                    "rewrite it without look-around or back-references",
                    item,
                )
        if any(f"\\{digit}" in source for digit in "123456789"):
            self.fail(
                key,
                f"regex {source!r} uses a back-reference",
                "rewrite it without back-references (list the variants instead)",
                item,
            )
        for construct, instead in _AMBIGUOUS.items():
            if construct in source:
                self.fail(
                    key,
                    f"regex {source!r} uses {construct!r}, which means something "
                    "else in RE2 than in Python",
                    instead,
                    item,
                )
        if "(?" in source.replace("(?:", "").replace("(?P<", ""):
            self.fail(
                key,
                f"regex {source!r} sets a flag or uses a special group",
                "use only (?:...) and (?P<name>...) groups; spell cases out "
                "([Kk]id) where a value pattern must ignore them",
                item,
            )
        try:
            return LinearPattern(source)
        except (re.error, ValueError) as error:
            self.fail(
                key,
                f"regex {source!r} does not compile ({error})",
                "fix the regex",
                item,
            )

    def section(self, key: str) -> RuleReader | None:
        """A nested mapping as its own reader for the same rule, or None if absent."""
        raw = self.mapping.get(key)
        if raw is None:
            return None
        if not isinstance(raw, LocatedMapping):
            self.fail(key, f"'{key}' must be a mapping", "see docs/rules.md")
        return RuleReader(self.path, raw, self.rule_id)


_NON_RE2 = ("(?=", "(?!", "(?<=", "(?<!", "(?P=")
_AMBIGUOUS = {
    "\\d": "write [0-9] (Python's \\d also matches other scripts' digits)",
    "\\D": "write [^0-9]",
    "\\w": "write [A-Za-z0-9_] (Python's \\w also matches accented letters)",
    "\\W": "write [^A-Za-z0-9_]",
    "\\s": "write [ \\t\\r\\n] (Python's \\s also matches other spaces)",
    "\\S": "write [^ \\t\\r\\n]",
    "\\b": "write the boundary out, e.g. (?:^|[^A-Za-z0-9])",
    "\\B": "write the boundary out",
    "\\A": "write ^ (patterns see one value at a time)",
    "\\Z": "write $ (patterns see one value at a time)",
    "{,": "write {0,n}",
}
"""Constructs both engines accept with different meanings: the classifier
screens values with RE2 and confirms with Python's re, so they must agree."""
