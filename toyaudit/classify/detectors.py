"""Detectors: rules that recognise personal data by key name, value or content.

A detector is read from YAML (``detectors:`` in any rule file) and compiled
once. It looks at the fields decoders pull out of an observation and says
whether a field holds its category of data:

* by **pattern** (:attr:`Method.PATTERN`): the value matches one of its regexes,
  is not on its exclusion list and passes its validator; when the detector
  also has key matchers, the field's key must match them too;
* by **key** (:attr:`Method.KEY`): a detector with key matchers but no value
  patterns accepts any meaningful value stored under a matching key;
* by **content** (:attr:`Method.CONTENT`): a request body whose content type
  or leading magic bytes say it is audio or an image.

Each detector carries positive and negative examples that the test suite runs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from toyaudit.classify.decoders import Field
from toyaudit.classify.records import Method
from toyaudit.classify.validators import VALIDATORS, Validator
from toyaudit.classify.yamlsource import LocatedMapping, RuleReader

logger = logging.getLogger(__name__)

PARTS = ("query", "path", "header", "cookie", "body", "dns-name")
"""Where in an observation a detector may look."""

_DETECTOR_FIELDS = ("id", "category")
_DETECTOR_OPTIONAL = (
    "description", "parts", "keys", "value", "content",
    "min_length", "confidence", "examples",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Hit:
    """What one detector recognised in one field, before it becomes a Match."""

    rule: str
    category_id: str
    method: Method
    value: str
    confidence: float


@dataclass(frozen=True, slots=True)
class KeyMatcher:
    """Regexes on a field's name: any ``include`` must match, no ``exclude``."""

    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]

    def matches(self, key: str | None) -> bool:
        """Whether a field name (a dotted JSON path, a header name...) qualifies."""
        if key is None:
            return False
        name = key.lower()
        if not any(pattern.search(name) for pattern in self.include):
            return False
        return not any(pattern.search(name) for pattern in self.exclude)


@dataclass(frozen=True, slots=True)
class ValueMatcher:
    """Regexes a value must contain, exclusions it must avoid, and a validator."""

    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    validator: Validator | None

    def find(self, text: str) -> list[str]:
        """Every distinct substring of ``text`` that matches and validates."""
        found: list[str] = []
        for pattern in self.patterns:
            for candidate in pattern.finditer(text):
                value = candidate.group(0)
                if value and value not in found and self._genuine(value):
                    found.append(value)
        return found

    def _genuine(self, value: str) -> bool:
        if any(pattern.search(value) for pattern in self.exclude):
            return False
        return self.validator is None or self.validator(value)


@dataclass(frozen=True, slots=True)
class MagicSignature:
    """Bytes expected at fixed offsets of a body; ``?`` nibbles match anything."""

    name: str
    """What the bytes mean, e.g. "WAV audio"; shown when no content type is sent."""
    checks: tuple[tuple[int, bytes, bytes], ...]
    """(offset, expected bytes, mask) triples, all of which must hold."""

    def matches(self, body: bytes) -> bool:
        """Whether every check holds for ``body``."""
        for offset, expected, mask in self.checks:
            window = body[offset : offset + len(expected)]
            if len(window) < len(expected) or not _masked_equal(window, expected, mask):
                return False
        return True


def _masked_equal(window: bytes, expected: bytes, mask: bytes) -> bool:
    pairs = zip(window, expected, mask, strict=True)
    return all(got & bits == want for got, want, bits in pairs)


@dataclass(frozen=True, slots=True)
class ContentMatcher:
    """Content types (regexes) and magic signatures that identify a body."""

    types: tuple[re.Pattern[str], ...]
    magic: tuple[MagicSignature, ...]

    def identify(self, content_type: str, body: bytes) -> str | None:
        """A short name of what the body is ("audio/wav", "PNG image"), or None."""
        if content_type and any(pattern.search(content_type) for pattern in self.types):
            return content_type
        for signature in self.magic:
            if signature.matches(body):
                return signature.name
        return None


@dataclass(frozen=True, slots=True)
class Example:
    """One inline example of a detector, run by the test suite."""

    positive: bool
    line: int
    """Line of the example in its rule file, for failure messages."""
    value: str = ""
    key: str | None = None
    part: str = "body"
    content_type: str = ""
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Detector:
    """One compiled detector rule."""

    id: str
    category_id: str
    source: str
    """``file:line`` where the rule starts, for error messages."""
    parts: tuple[str, ...]
    keys: KeyMatcher | None
    value: ValueMatcher | None
    content: ContentMatcher | None
    min_length: int
    """Shortest value a key-only match accepts."""
    confidence: float
    description: str = ""
    examples: tuple[Example, ...] = ()

    def hits(self, field: Field, ignored_values: frozenset[str]) -> list[Hit]:
        """Pattern or key hits of this detector in one decoded field."""
        if not self.applies(field.part, field.key):
            return []
        return self.value_hits(field, ignored_values)

    def applies(self, part: str, key: str | None) -> bool:
        """Whether the detector looks at fields of this part under this name.

        Depends only on the part and the name, so callers may cache it: the
        same JSON keys recur in every message a toy sends.
        """
        if part not in self.parts or self.content is not None:
            return False
        return self.keys is None or self.keys.matches(key)

    def value_hits(self, field: Field, ignored_values: frozenset[str]) -> list[Hit]:
        """Hits in a field this detector :meth:`applies` to."""
        if self.value is not None:
            found = self.value.find(field.value)
            return [self._hit(Method.PATTERN, value) for value in found]
        if self._meaningful(field.value, ignored_values):
            return [self._hit(Method.KEY, field.value)]
        return []

    def _meaningful(self, value: str, ignored_values: frozenset[str]) -> bool:
        text = value.strip()
        return len(text) >= self.min_length and text.lower() not in ignored_values

    def _hit(self, method: Method, value: str) -> Hit:
        return Hit(self.id, self.category_id, method, value, self.confidence)


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
        parts=reader.text_list("parts", PARTS) or ("query", "header", "cookie", "body"),
        keys=keys,
        value=value,
        content=content,
        min_length=int(reader.number("min_length", 1, 1000, 2)),
        confidence=reader.number("confidence", 0.0, 1.0, 0.5),
        description=str(reader.mapping.get("description", "")),
    )
    return replace(detector, examples=_parse_examples(reader, detector))


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
                "validator", f"unknown validator {name!r}", _choices(VALIDATORS)
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
    signature.check_fields(("name", "bytes"), ())
    offsets = entry["bytes"]
    if not isinstance(offsets, LocatedMapping) or not offsets:
        signature.fail("bytes", "'bytes' must map offsets to hex", 'e.g. {0: "4F 67"}')
    checks = []
    for offset, pattern in offsets.items():
        if not offset.isdigit() or not isinstance(pattern, str):
            signature.fail("bytes", f"bad offset {offset!r}", 'e.g. {0: "4F 67 67 53"}')
        checks.append((int(offset), *_hex_with_mask(signature, pattern)))
    return MagicSignature(name=signature.text("name"), checks=tuple(checks))


def _hex_with_mask(reader: RuleReader, pattern: str) -> tuple[bytes, bytes]:
    nibbles = pattern.replace(" ", "")
    if not nibbles or len(nibbles) % 2 or not set(nibbles) <= _HEX_NIBBLES:
        reader.fail(
            "bytes", f"{pattern!r} is not hex", "write pairs like 'FF D8' or 'F?'"
        )
    expected = bytes.fromhex(nibbles.replace("?", "0"))
    mask = bytes.fromhex("".join("0" if nibble == "?" else "F" for nibble in nibbles))
    return expected, mask


_HEX_NIBBLES = frozenset("0123456789abcdefABCDEF?")


def _parse_examples(reader: RuleReader, detector: Detector) -> tuple[Example, ...]:
    section = reader.section("examples")
    if section is None:
        return ()
    section.check_fields((), ("positive", "negative"))
    examples: list[Example] = []
    for label in ("positive", "negative"):
        entries = section.mapping.get(label, [])
        if not isinstance(entries, list):
            section.fail(label, f"'{label}' must be a list", "see docs/rules.md")
        line = section.mapping.line_of(label)
        for entry in entries:
            examples.append(_parse_example(section, detector, entry, label, line))
    return tuple(examples)


def _parse_example(
    reader: RuleReader, detector: Detector, entry: object, label: str, line: int
) -> Example:
    positive = label == "positive"
    part = detector.parts[0] if "body" not in detector.parts else "body"
    if isinstance(entry, str | int | float) and not isinstance(entry, bool):
        return Example(positive=positive, line=line, value=str(entry), part=part)
    if not isinstance(entry, LocatedMapping):
        reader.fail(label, "an example must be text or a mapping", "see docs/rules.md")
    example = RuleReader(reader.path, entry, reader.rule_id)
    example.check_fields((), ("key", "value", "part", "content_type", "body_hex"))
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
        part=str(entry.get("part", part)),
        content_type=str(entry.get("content_type", "")),
        body=bytes.fromhex(body_hex),
    )


def _choices(options: Iterable[str]) -> str:
    return "use one of: " + ", ".join(sorted(options))
