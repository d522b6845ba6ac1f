"""Read detector rules from YAML into compiled :class:`~.detectors.Detector` records.

:func:`parse_detector` checks one ``detectors:`` entry field by field with a
:class:`~.yamlsource.RuleReader`, so that every problem names ``file:line``,
the rule id and the fix: regexes are compiled and kept to the subset RE2
reads alike, magic bytes must be hex, validators must exist, and the
detector's examples are read for :mod:`.examples` to run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace

from toyaudit.classify.detectors import (
    CHANNELS,
    EFFECTS,
    MAGIC_WINDOW,
    PARTS,
    ContentMatcher,
    ContextRule,
    Detector,
    Example,
    KeyMatcher,
    MagicSignature,
    ValueMatcher,
)
from toyaudit.classify.fields import BLOB_HEAD
from toyaudit.classify.validators import VALIDATORS
from toyaudit.classify.yamlsource import LocatedList, LocatedMapping, RuleReader

logger = logging.getLogger(__name__)

_DETECTOR_FIELDS = ("id", "category")
_DETECTOR_OPTIONAL = (
    "description", "channels", "parts", "keys", "value", "content", "context",
    "alongside", "min_length", "confidence", "examples",
)  # fmt: skip
_DEFAULT_PARTS = ("query", "header", "cookie", "body")
_EXAMPLE_FIELDS = (
    "key", "value", "part", "channel", "content_type", "body_hex", "also",
)  # fmt: skip


def parse_detector(reader: RuleReader) -> Detector:
    """Build a :class:`Detector` from its YAML mapping, refusing anything unclear."""
    reader.check_fields(_DETECTOR_FIELDS, _DETECTOR_OPTIONAL)
    keys = _parse_keys(reader.section("keys"))
    value = _parse_value(reader.section("value"))
    content = _parse_content(reader.section("content"))
    if content is not None and (keys is not None or value is not None):
        reader.fail(
            "content", "mixes 'content' with 'keys'/'value'", "split it in two rules"
        )
    if content is None and keys is None and value is None:
        reader.fail(None, "has no 'keys', 'value' or 'content'", "add at least one")
    detector = Detector(
        id=reader.rule_id,
        category_id=reader.text("category"),
        source=f"{reader.path}:{reader.mapping.line}",
        parts=reader.text_list("parts", PARTS) or _DEFAULT_PARTS,
        keys=keys,
        value=value,
        content=content,
        min_length=int(reader.number("min_length", 1, 1000, 2)),
        confidence=reader.number("confidence", 0.0, 1.0, 0.5),
        description=str(reader.mapping.get("description", "")),
        channels=reader.text_list("channels", CHANNELS),
        context=_parse_context(reader),
        alongside=reader.text_list("alongside"),
    )
    if content is not None and detector.context:
        reader.fail(
            "context",
            "a content detector has no field for 'context' to look at",
            "remove 'context', or move it to a detector with 'keys' or 'value'",
        )
    return replace(detector, examples=_parse_examples(reader, detector.parts))


def _parse_context(reader: RuleReader) -> tuple[ContextRule, ...]:
    raw = reader.mapping.get("context", [])
    if not isinstance(raw, list):
        reader.fail("context", "'context' must be a list", _CONTEXT_HINT)
    rules = []
    for entry in raw:
        if not isinstance(entry, LocatedMapping):
            reader.fail(
                "context", "each 'context' entry must be a mapping", _CONTEXT_HINT
            )
        item = RuleReader(reader.path, entry, reader.rule_id)
        item.check_fields(("effect", "by"), ("key", "value"))
        targets = [name for name in ("key", "value") if name in entry]
        if len(targets) != 1:
            item.fail(
                None, "a 'context' entry needs one of 'key' or 'value'", _CONTEXT_HINT
            )
        effect = item.text("effect")
        if effect not in EFFECTS:
            item.fail("effect", f"unknown effect {effect!r}", "use 'raise' or 'lower'")
        by = item.number("by", 0.0, 1.0, 0.0)
        if by == 0.0:
            item.fail("by", "'by' is 0, so the entry changes nothing", "use 0.05 to 1")
        target = targets[0]
        pattern = item.regex(target, item.text(target))
        rules.append(ContextRule(target == "key", pattern, EFFECTS[effect] * by))
    return tuple(rules)


_CONTEXT_HINT = "write e.g. {key: '(^|[._])store[._]', effect: lower, by: 0.3}"


def _parse_keys(reader: RuleReader | None) -> KeyMatcher | None:
    if reader is None:
        return None
    reader.check_fields(("include",), ("exclude",))
    include = reader.regex_list("include")
    if not include:
        reader.fail("include", "'keys.include' is empty", "list at least one regex")
    return KeyMatcher(include=include, exclude=reader.regex_list("exclude"))


def _parse_value(reader: RuleReader | None) -> ValueMatcher | None:
    if reader is None:
        return None
    reader.check_fields(("patterns",), ("exclude", "validator"))
    patterns = reader.regex_list("patterns")
    if not patterns:
        reader.fail("patterns", "'value.patterns' is empty", "list at least one regex")
    validator = None
    if "validator" in reader.mapping:
        name = reader.text("validator")
        if name not in VALIDATORS:
            reader.fail(
                "validator", f"unknown validator {name!r}", _choices(sorted(VALIDATORS))
            )
        validator = VALIDATORS[name]
    return ValueMatcher(patterns, reader.regex_list("exclude"), validator)


def _parse_content(reader: RuleReader | None) -> ContentMatcher | None:
    if reader is None:
        return None
    reader.check_fields((), ("types", "magic"))
    raw_magic = reader.mapping.get("magic", [])
    if not isinstance(raw_magic, list):
        reader.fail("magic", "'magic' must be a list", "see docs/rules.md")
    magic = tuple(_parse_signature(reader, entry) for entry in raw_magic)
    types = reader.regex_list("types")
    if not types and not magic:
        reader.fail(None, "'content' has neither 'types' nor 'magic'", "add one")
    return ContentMatcher(types=types, magic=magic)


def _parse_signature(reader: RuleReader, entry: object) -> MagicSignature:
    if not isinstance(entry, LocatedMapping):
        reader.fail(
            "magic", "each 'magic' entry must be a mapping", "see docs/rules.md"
        )
    signature = RuleReader(reader.path, entry, reader.rule_id)
    signature.check_fields(("name", "bytes"), ("contains", "within"))
    offsets = entry["bytes"]
    if not isinstance(offsets, LocatedMapping) or not offsets:
        signature.fail("bytes", "'bytes' must map offsets to hex", 'e.g. {0: "4F 67"}')
    checks = []
    for offset, pattern in offsets.items():
        if not offset.isdigit() or not isinstance(pattern, str):
            signature.fail("bytes", f"bad offset {offset!r}", 'e.g. {0: "4F 67 67 53"}')
        checks.append((int(offset), *_hex_with_mask(signature, "bytes", pattern)))
    contains = []
    for pattern in signature.text_list("contains"):
        expected, mask = _hex_with_mask(signature, "contains", pattern)
        if mask.count(0xFF) != len(mask):
            signature.fail(
                "contains", f"{pattern!r} has '?'", "write the exact bytes to look for"
            )
        contains.append(expected)
    within = int(signature.number("within", 1, BLOB_HEAD, MAGIC_WINDOW))
    if "within" in entry and not contains:
        signature.fail("within", "'within' without 'contains'", "add 'contains'")
    return MagicSignature(
        signature.text("name"), tuple(checks), tuple(contains), within
    )


def _hex_with_mask(reader: RuleReader, key: str, pattern: str) -> tuple[bytes, bytes]:
    nibbles = pattern.replace(" ", "")
    if not nibbles or len(nibbles) % 2 or not set(nibbles) <= _HEX_NIBBLES:
        reader.fail(key, f"{pattern!r} is not hex", "write pairs like 'FF D8' or 'F?'")
    expected = bytes.fromhex(nibbles.replace("?", "0"))
    mask = bytes.fromhex("".join("0" if nibble == "?" else "F" for nibble in nibbles))
    return expected, mask


_HEX_NIBBLES = frozenset("0123456789abcdefABCDEF?")


def _parse_examples(reader: RuleReader, parts: Sequence[str]) -> tuple[Example, ...]:
    section = reader.section("examples")
    if section is None:
        return ()
    section.check_fields((), ("positive", "negative"))
    # An example without 'part' is where the detector looks first, body if it can.
    default_part = "body" if "body" in parts else parts[0]
    examples: list[Example] = []
    for label in ("positive", "negative"):
        entries = section.mapping.get(label, [])
        if not isinstance(entries, list):
            section.fail(label, f"'{label}' must be a list", "see docs/rules.md")
        for index, entry in enumerate(entries):
            line = section.mapping.line_of(label)
            if isinstance(entries, LocatedList):
                line = entries.line_of(index)
            examples.append(_parse_example(section, entry, label, line, default_part))
    return tuple(examples)


def _parse_example(
    reader: RuleReader, entry: object, label: str, line: int, default_part: str
) -> Example:
    positive = label == "positive"
    if isinstance(entry, str | int | float) and not isinstance(entry, bool):
        return Example(positive, line, value=str(entry), part=default_part)
    if not isinstance(entry, LocatedMapping):
        reader.fail(label, "an example must be text or a mapping", "see docs/rules.md")
    example = RuleReader(reader.path, entry, reader.rule_id)
    example.check_fields((), _EXAMPLE_FIELDS)
    part = example.text("part", default_part)
    if part not in PARTS:
        example.fail("part", f"unknown part {part!r}", _choices(PARTS))
    channel = example.text("channel") if "channel" in entry else None
    if channel is not None and channel not in CHANNELS:
        example.fail("channel", f"unknown channel {channel!r}", _choices(CHANNELS))
    also = example.text_list("also")
    if also and not positive:
        example.fail(
            "also",
            "'also' is for positive examples",
            "remove it: a negative example only promises its own category is absent",
        )
    body_hex = str(entry.get("body_hex", "")).replace(" ", "")
    if not set(body_hex) <= _HEX_NIBBLES or "?" in body_hex or len(body_hex) % 2:
        example.fail(
            "body_hex", "'body_hex' is not hex", "write pairs like '52 49 46 46'"
        )
    return Example(
        positive=positive,
        line=entry.line,
        value=str(entry.get("value", "")),
        key=None if entry.get("key") is None else str(entry["key"]),
        part=part,
        content_type=str(entry.get("content_type", "")),
        body=bytes.fromhex(body_hex),
        channel=channel,
        also=also,
    )


def _choices(options: Iterable[str]) -> str:
    return "use one of: " + ", ".join(options)
