"""Detectors: rules that recognise personal data by key name, value or content.

A detector is read from YAML (``detectors:`` in any rule file) and compiled
once (:mod:`.detectorrules`). It looks at the fields decoders pull out of an
observation and says whether a field holds its category of data:

* by **pattern** (:attr:`Method.PATTERN`): the value matches one of its regexes,
  is not on its exclusion list and passes its validator; when the detector
  also has key matchers, the field's key must match them too;
* by **key** (:attr:`Method.KEY`): a detector with key matchers but no value
  patterns accepts any meaningful value stored under a matching key;
* by **content** (:attr:`Method.CONTENT`): a request body whose content type
  or leading magic bytes say it is audio or an image.

A detector may be limited to some channels (HTTP, MQTT, BLE...) and parts
(query, header, body...), and its ``context`` may raise or lower the
confidence of a hit by what the field's name or whole value says around it.
Each detector carries positive and negative examples, which ``toyaudit rules
check`` and the test suite run (:mod:`.examples`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from toyaudit.classify.decoders import Field
from toyaudit.classify.linear import LinearPattern
from toyaudit.classify.records import Method
from toyaudit.classify.validators import Validator

logger = logging.getLogger(__name__)

PARTS = ("query", "path", "header", "cookie", "body", "dns-name")
"""Where in an observation a detector may look."""
CHANNELS = (
    "http", "websocket", "mqtt", "dns", "tls", "ble-advertisement", "gatt", "raw",
    "dhcp", "ssdp",
)  # fmt: skip
"""What kind of traffic a field came from; a detector may be limited to some."""
EFFECTS = {"raise": 1.0, "lower": -1.0}
"""Context effects and the sign they give their ``by``."""

MAGIC_WINDOW = 4096
"""Bytes from the start a signature's ``contains`` strings are looked for in
unless it says otherwise: a media container describes its streams first."""

MAX_VALUES = 64
"""Distinct values one detector reports from one field; the rest are not read."""

_LIST_INDEX = re.compile(r"\[[0-9]+\]")
_SHOWN_CHARACTERS = 40
"""Longest example value quoted in a failure message."""


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

    include: tuple[LinearPattern, ...]
    exclude: tuple[LinearPattern, ...]

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

    patterns: tuple[LinearPattern, ...]
    exclude: tuple[LinearPattern, ...]
    validator: Validator | None

    def find(self, text: str, most: int = MAX_VALUES) -> list[str]:
        """Distinct substrings of ``text`` that match and validate, in order.

        At most ``most`` of them: a field that holds thousands of e-mail
        addresses is flagged by its first ones, at a cost that stays linear.
        """
        found: dict[str, None] = {}
        for pattern in self.patterns:
            for candidate in pattern.finditer(text):
                value = candidate.group(0)
                if value and value not in found and self._genuine(value):
                    found[value] = None
                    if len(found) >= most:
                        return list(found)
        return list(found)

    def _genuine(self, value: str) -> bool:
        if any(pattern.search(value) for pattern in self.exclude):
            return False
        return self.validator is None or self.validator(value)


@dataclass(frozen=True, slots=True)
class MagicSignature:
    """Bytes expected at fixed offsets of a body; ``?`` nibbles match anything.

    A signature may also ask for one of several byte strings anywhere near
    the start (:attr:`contains`): a container format names what it holds
    in a header whose offset varies, such as a Matroska file's track codecs.
    """

    name: str
    """What the bytes mean, e.g. "WAV audio"; shown when no content type is sent."""
    checks: tuple[tuple[int, bytes, bytes], ...]
    """(offset, expected bytes, mask) triples, all of which must hold."""
    contains: tuple[bytes, ...] = ()
    """Byte strings of which one must occur in the first :attr:`within`
    bytes, besides the checks; empty for none."""
    within: int = MAGIC_WINDOW
    """How far from the start :attr:`contains` is looked for."""
    fixed_bits: int = dataclasses.field(init=False, compare=False)
    """Bits the offset checks fix: how sure a match of them alone is."""
    strength: int = dataclasses.field(init=False, compare=False)
    """Bits a match vouches for: :attr:`fixed_bits` and 8 for each byte of
    the shortest ``contains`` string. When signatures of several rules match
    the same bytes, the strongest says what they are: a WebM file naming a
    video track is a video, though every WebM file starts with the same
    four bytes."""

    def __post_init__(self) -> None:
        # Worked out once: blobs are compared against every signature.
        fixed = sum(bin(bits).count("1") for *_, mask in self.checks for bits in mask)
        shortest = min((len(needle) for needle in self.contains), default=0)
        object.__setattr__(self, "fixed_bits", fixed)
        object.__setattr__(self, "strength", fixed + 8 * shortest)

    def matches(self, body: bytes) -> bool:
        """Whether every check holds for ``body``, and one ``contains`` string."""
        for offset, expected, mask in self.checks:
            window = body[offset : offset + len(expected)]
            if len(window) < len(expected) or not _masked_equal(window, expected, mask):
                return False
        if not self.contains:
            return True
        head = body[: self.within]
        return any(needle in head for needle in self.contains)


def _masked_equal(window: bytes, expected: bytes, mask: bytes) -> bool:
    pairs = zip(window, expected, mask, strict=True)
    return all(got & bits == want for got, want, bits in pairs)


@dataclass(frozen=True, slots=True)
class ContentMatcher:
    """Content types (regexes) and magic signatures that identify a body."""

    types: tuple[LinearPattern, ...]
    magic: tuple[MagicSignature, ...]

    def identify(self, content_type: str, body: bytes) -> str | None:
        """A short name of what the body is ("audio/wav", "PNG image"), or None.

        The declared type first; else the strongest signature that matches.
        """
        if content_type and any(pattern.search(content_type) for pattern in self.types):
            return content_type
        best: MagicSignature | None = None
        for signature in self.magic:
            if best is not None and signature.strength <= best.strength:
                continue
            if signature.matches(body):
                best = signature
        return None if best is None else best.name


@dataclass(frozen=True, slots=True)
class ContextRule:
    """A regex on a field's name or whole value that moves a hit's confidence.

    Key context sees the field's full name with list indices dropped
    (``profile.store.lat``, ``events[].mac``), so it notices the objects a
    field sits in; value context sees the whole value, so it notices the text
    around a pattern match.
    """

    on_key: bool
    """True for a regex on the field's name, False for one on its value."""
    pattern: LinearPattern
    change: float
    """Added to the confidence when the regex matches: positive raises."""

    def adjustment(self, key_shape: str, value: str) -> float:
        """:attr:`change` if the regex finds its target in this field, else 0."""
        target = key_shape if self.on_key else value
        return self.change if self.pattern.search(target) else 0.0


@dataclass(frozen=True, slots=True)
class Example:
    """One inline example of a detector, run by ``toyaudit rules check``."""

    positive: bool
    line: int
    """Line of the example in its rule file, for failure messages."""
    value: str = ""
    key: str | None = None
    part: str = "body"
    content_type: str = ""
    body: bytes = b""
    channel: str | None = None
    """The channel the example comes from; None for any."""
    also: tuple[str, ...] = ()
    """Other categories a positive example rightly holds too (a chat message
    quoting an e-mail address), whose detectors are expected to match it."""

    def describe(self) -> str:
        """The example in a few words, for failure messages."""
        if self.body or self.content_type:
            return f"body of type {self.content_type!r}, {len(self.body)} bytes"
        value = self.value
        if len(value) > _SHOWN_CHARACTERS:
            value = value[:_SHOWN_CHARACTERS] + "..."
        named = "" if self.key is None else f"{self.key}="
        return f"{self.part} {named}{value!r}"


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
    channels: tuple[str, ...] = ()
    """Channels the detector looks at; empty for every channel."""
    context: tuple[ContextRule, ...] = ()
    alongside: tuple[str, ...] = ()
    """Categories of which one must be found in the same observation (by
    another rule) for this detector's hits to count; empty for none. A name
    too short to tell much alone (``g`` for gender) is believed next to the
    child's name or birthdate."""

    def hits(
        self, field: Field, ignored_values: frozenset[str], channel: str | None = None
    ) -> list[Hit]:
        """Pattern or key hits of this detector in one field that came on ``channel``.

        The classifier chooses the detectors listening on an observation's
        channel once per observation; this is for looking at one field alone.
        """
        if not self.applies(field.part, field.key, channel):
            return []
        return self.value_hits(field, ignored_values)

    def listens_on(self, channel: str | None) -> bool:
        """Whether the detector looks at this channel; None (unknown) is any."""
        return channel is None or not self.channels or channel in self.channels

    def applies(self, part: str, key: str | None, channel: str | None = None) -> bool:
        """Whether the detector looks at fields of this part under this name.

        ``channel`` None means the caller does not know it, and every channel
        qualifies. Depends only on the channel, the part and the name, so
        callers may cache it: the same JSON keys recur in every message a toy
        sends.
        """
        if part not in self.parts or self.content is not None:
            return False
        if not self.listens_on(channel):
            return False
        return self.keys is None or self.keys.matches(key)

    def value_hits(self, field: Field, ignored_values: frozenset[str]) -> list[Hit]:
        """Hits in a field this detector :meth:`applies` to.

        Every hit carries the detector's confidence moved by its context; a
        hit whose confidence the context lowers to 0 is dropped.
        """
        if self.value is not None:
            method, found = Method.PATTERN, self.value.find(field.value)
        elif self._meaningful(field.value, ignored_values):
            method, found = Method.KEY, [field.value]
        else:
            return []
        if not found:
            return []
        confidence = self.confidence_in(field)
        if self.context and confidence <= 0.0:
            logger.debug("rule %s: context lowered a hit to 0", self.id)
            return []
        return [
            Hit(self.id, self.category_id, method, value, confidence) for value in found
        ]

    def confidence_in(self, field: Field) -> float:
        """The detector's confidence for a hit in ``field``, after its context."""
        if not self.context:
            return self.confidence
        shape = key_shape(field.key).lower()
        change = sum(rule.adjustment(shape, field.value) for rule in self.context)
        return round(min(1.0, max(0.0, self.confidence + change)), 3)

    def _meaningful(self, value: str, ignored_values: frozenset[str]) -> bool:
        text = value.strip()
        return len(text) >= self.min_length and text.lower() not in ignored_values


def strongest_magic(
    candidates: Iterable[tuple[Detector, Iterable[MagicSignature]]], head: bytes
) -> list[tuple[Detector, MagicSignature]]:
    """The signatures that recognise ``head`` and are the strongest, in rule order.

    Signatures of several rules may fit the same bytes: every WebM file starts
    with the same four bytes, and only a video's goes on to name a video
    track. The most specific (:attr:`MagicSignature.strength`) says what the
    bytes are; equally strong ones are all returned, and callers that need
    one take the first.
    """
    best: list[tuple[Detector, MagicSignature]] = []
    top = 0
    for detector, signatures in candidates:
        for signature in signatures:
            strength = signature.strength
            if strength < top or not signature.matches(head):
                continue
            if strength > top:
                best, top = [], strength
            best.append((detector, signature))
    return best


def key_shape(key: str | None) -> str:
    """A field name with list indices dropped (``events[7].mac`` -> ``events[].mac``).

    "" for a field without a name. Detectors see the shape, so every element
    of a list is looked at alike and a value's search can be remembered by
    its place.
    """
    if key is None:
        return ""
    return _LIST_INDEX.sub("[]", key) if "[" in key else key
