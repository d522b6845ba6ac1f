"""Check each rule file against the packaged JSON Schema of rule schema 1.

``schema/rules-1.schema.json`` (draft 2020-12) is the contract of a rule
file: every section, field, type and allowed value. Editors that read JSON
Schema can use it while a rule is written; toyaudit checks every file
against it when the file is loaded, after the section parsers of
:mod:`.rulebuilder`, whose hand-written messages are more specific where
both would complain. The first schema error, in line order, becomes a
:class:`RulesError` naming ``file:line``, the rule id, what was expected and
the fix: the error's path in the document is walked back through the
located mappings and lists to the line it was written on.

A file may say which rule schema it is written for with ``schema: 1`` at
the top; a file without it is read as schema 1.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toyaudit.classify.yamlsource import LocatedList, LocatedMapping
from toyaudit.errors import RulesError

if TYPE_CHECKING:  # jsonschema is imported when a file is checked: it is slow
    from jsonschema import Draft202012Validator, ValidationError

logger = logging.getLogger(__name__)

VERSION_KEY = "schema"
"""Top-level key that names the rule schema a file is written for."""
SCHEMA_VERSION = 1
"""The rule schema this toyaudit reads."""
SCHEMA_RESOURCE = "rules-1.schema.json"

_LIST_SECTIONS = ("categories", "detectors", "recipients", "checks")
_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "array": "a list",
    "object": "a mapping",
    "boolean": "true or false",
    "null": "empty",
}
_TYPE_HINTS = {
    "string": "write text, in quotes if YAML would read it as something else",
    "number": "write a number such as 0.5",
    "integer": "write a whole number such as 2",
    "array": "write a list: [first, second] or one '- item' per line",
    "object": "write a mapping: {name: value} or one 'name: value' per line",
}
_BOUNDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
_SEE_DOCS = "see docs/rules.md"


def load_rules_schema() -> dict[str, Any]:
    """The packaged JSON Schema every rule file satisfies."""
    schema: dict[str, Any] = json.loads(rules_schema_bytes())
    return schema


@cache
def rules_schema_bytes() -> bytes:
    """The packaged JSON Schema, as the bytes of its file."""
    schema_file = resources.files("toyaudit.classify").joinpath(
        "schema", SCHEMA_RESOURCE
    )
    return schema_file.read_bytes()


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_rules_schema())


def check_version(path: Path, document: LocatedMapping) -> None:
    """Refuse a file written for a rule schema other than the one we read."""
    if VERSION_KEY not in document:
        return
    version = document[VERSION_KEY]
    if version == SCHEMA_VERSION and not isinstance(version, bool):
        return
    raise RulesError(
        f"{path}:{document.line_of(VERSION_KEY)}: the file is written for rule "
        f"schema {version!r}, and this toyaudit reads rule schema {SCHEMA_VERSION}",
        f"write '{VERSION_KEY}: {SCHEMA_VERSION}' and the fields docs/rules.md "
        "describes, or use the toyaudit the file was written for",
    )


def validate_rule_file(path: Path, document: LocatedMapping) -> None:
    """Check one parsed rule file against the schema; raise on its first error."""
    errors = list(_validator().iter_errors(document))
    if not errors:
        return
    logger.debug("%s: %d schema errors", path, len(errors))
    error = _first(document, errors)
    raise RulesError(*_explain(path, document, error))


def _first(
    document: LocatedMapping, errors: Iterable[ValidationError]
) -> ValidationError:
    """The most telling error on the earliest line with an error."""
    by_line: dict[int, list[ValidationError]] = {}
    for error in errors:
        by_line.setdefault(_place(document, error).line, []).append(error)
    earliest = by_line[min(by_line)]
    from jsonschema.exceptions import best_match

    chosen = best_match(earliest)
    return chosen if chosen is not None else earliest[0]


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a schema error points: a line, a rule and a field of that rule."""

    line: int
    rule: str | None
    """The rule id as the section parsers name it, None for the file's top."""
    field: str
    """The field's path inside the rule (``examples.positive[2].value``)."""
    node: object
    """The YAML value at the error's path."""


def _place(document: LocatedMapping, error: ValidationError) -> _Place:
    path = list(error.absolute_path)
    node: object = document
    line = document.line
    names: list[str] = []
    for step in path:
        if isinstance(node, LocatedMapping) and isinstance(step, str):
            line, node = node.line_of(step), node.get(step)
            names.append(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            if isinstance(node, LocatedList):
                line = node.line_of(step)
            node = node[step]
            names[-1] = f"{names[-1]}[{step}]" if names else f"[{step}]"
        else:
            break
    rule, field = _rule_and_field(document, path, names)
    return _Place(line, rule, field, node)


def _rule_and_field(
    document: LocatedMapping, path: Sequence[object], names: list[str]
) -> tuple[str | None, str]:
    """Name the rule as the section parsers do, and the field inside it."""
    if len(path) < 2:
        return None, ".".join(names)
    section, index = str(path[0]), path[1]
    if section in _LIST_SECTIONS and isinstance(index, int):
        entry = document[section][index]
        rule = f"#{index + 1} of {section}"
        if isinstance(entry, LocatedMapping):
            rule = str(entry.get("id", entry.get("domain", rule)))
        return rule, ".".join(names[1:])
    if section == "persona":
        return f"persona:{index}", str(index)
    if section == "decoding":
        return "decoding", ".".join(names[1:])
    if section == "phases":
        return f"phase {index}", ".".join(names[2:])
    return f"{section} {index}", ".".join(names[2:])


def _explain(
    path: Path, document: LocatedMapping, error: ValidationError
) -> tuple[str, str]:
    """The message and hint of a RulesError for one schema error."""
    place = _place(document, error)
    line = place.line
    about_name = "propertyNames" in error.schema_path
    if about_name and isinstance(place.node, LocatedMapping):
        line = place.node.line_of(str(error.instance))
    problem, hint = _problem(error, place, about_name)
    if error.validator == "additionalProperties" and isinstance(
        place.node, LocatedMapping
    ):
        line = place.node.line_of(_unknown_fields(error)[0])
    rule = f"rule {place.rule}: " if place.rule is not None else ""
    return f"{path}:{line}: {rule}{problem}", hint


def _problem(
    error: ValidationError, place: _Place, about_name: bool
) -> tuple[str, str]:
    """What was expected, in words, and the fix."""
    name = f"'{place.field}'" if place.field else "the rule"
    kind = str(error.validator)
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    described = str(schema.get("description", ""))
    if about_name:
        name = f"the name {instance!r} under {name}"
    if kind == "required":
        missing = [key for key in expected if key not in instance]
        owner = "" if not place.field else f"{name} "
        return f"{owner}has no '{missing[0]}'", f"add '{missing[0]}' ({_SEE_DOCS})"
    if kind == "additionalProperties":
        allowed = ", ".join(schema.get("properties", {}))
        unknown = _unknown_fields(error)[0]
        where = "section" if place.rule is None and not place.field else "field"
        return f"unknown {where} '{unknown}'", f"use only: {allowed}"
    if kind == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        words = " or ".join(_TYPE_WORDS.get(item, item) for item in kinds)
        return f"{name} must be {words}", _TYPE_HINTS.get(kinds[0], _SEE_DOCS)
    if kind == "enum":
        choices = ", ".join(dict.fromkeys(str(choice) for choice in expected))
        return f"{name} is {instance!r}, not an allowed value", f"use one of: {choices}"
    if kind == "const":
        return f"{name} is {instance!r}", f"write {expected!r}"
    if kind == "pattern":
        return f"{name} is {instance!r}, not in the expected form", (
            described or _SEE_DOCS
        )
    if kind in ("minLength", "minItems", "minProperties"):
        return f"{name} is empty", "fill it in, or remove the field"
    if kind == "uniqueItems":
        return f"{name} lists the same item twice", "remove the repeat"
    if kind in _BOUNDS:
        return f"{name} is {instance!r}, out of range", _range_hint(schema)
    return f"{name}: {described or error.message}", _SEE_DOCS


def _unknown_fields(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = schema.get("properties", {})
    instance: Any = error.instance
    return [str(key) for key in instance if key not in known]


def _range_hint(schema: dict[str, Any]) -> str:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    above = "above " if "exclusiveMinimum" in schema else ""
    return f"use a number from {above}{low} to {high}"
