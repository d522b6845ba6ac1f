"""Search one field, or many new fields at once, for personal data.

A field is searched with the persona (:mod:`.persona`) and every detector
that looks at fields of its part and name (:mod:`.detectors`), and so is what
decoding its value reveals (JSON inside a string, a JWT, base64 of text or of
a protobuf message, :mod:`.nested`); a recording or picture it reveals (base64
audio in a JSON field) goes to the content detectors, like a blob of the
observation itself (:meth:`FieldSearch.content_hit`). Then, per place and
category, only the strongest kind of evidence is kept
(:func:`~.fieldhits.kept_hits`).

Most new values hold nothing. :meth:`FieldSearch.search_many` therefore
screens them together first (:class:`~.screen.Screen`) and searches in full
only the values where something might start.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from toyaudit.classify.detectors import (
    ContentMatcher,
    Detector,
    MagicSignature,
    strongest_magic,
)
from toyaudit.classify.fieldhits import FieldResult, Found, kept_hits
from toyaudit.classify.fields import (
    BLOB_HEAD,
    Blob,
    DecodingRules,
    Field,
    textual_type,
)
from toyaudit.classify.linear import LinearPattern
from toyaudit.classify.nested import expand, might_decode
from toyaudit.classify.persona import PersonaIndex
from toyaudit.classify.records import Method
from toyaudit.classify.screen import Screen

logger = logging.getLogger(__name__)

_APPLICABLE_CACHE = 50_000
"""Distinct (part, field name) pairs remembered before the cache starts over."""
_LIST_INDEX = re.compile(r"\[\d+\]")
_SURE_MAGIC_BITS = 24
"""Fixed bits a signature needs to identify bytes that are not an upload."""
_WHOLE_SHARE = 0.8
"""Share of a field's (trimmed) value a persona hit must cover to be all of
it: "Mia Lopez" in "Mia Lopez " is, "Mia" in "tell Mia a story" is not."""


_NONE: FieldResult = (1, ())
"""The result of a field that holds nothing and decodes to nothing."""


@dataclass(frozen=True, slots=True)
class _Applicable:
    """The detectors that look at one kind of field, split by how they match."""

    every: tuple[Detector, ...]
    """All of them, in rule order."""
    by_key: tuple[Detector, ...]
    """Key-only detectors: the field's name is the evidence."""
    keyed: tuple[Detector, ...]
    """Detectors with key matchers, with or without value patterns."""
    prefilter: LinearPattern | None
    """All value patterns in one alternation: a value it does not match holds
    nothing for any of them, and most values hold nothing."""


class FieldSearch:
    """The persona and the field detectors of one rule set, ready to search."""

    def __init__(
        self,
        detectors: Sequence[Detector],
        persona: PersonaIndex,
        decoding: DecodingRules,
        content: Sequence[Detector] = (),
    ) -> None:
        self._detectors = tuple(detectors)
        self._content = tuple(
            (detector, detector.content, _sure_magic(detector.content))
            for detector in content
            if detector.content
        )
        """Content detectors, for blobs: what a recording or picture is, with
        the magic signatures sure enough for bytes that are not an upload."""
        self._persona = persona
        self._decoding = decoding
        self._applicable: dict[tuple[str, str | None], _Applicable] = {}
        self._screen = Screen(
            [detector for detector in detectors if detector.keys is None], persona
        )
        """Screens new values for the detectors that look under any name."""

    def search(self, field: Field) -> FieldResult:
        """Persona and detector hits in a field and in what decoding it reveals."""
        found: list[Found] = []
        ignored = self._decoding.ignored_values
        expanded = expand(field, self._decoding, 0)
        base = len(field.location)
        for inner in expanded:
            suffix = inner.location[base:]
            if isinstance(inner, Blob):
                content = self.content_hit(inner, suffix)
                found += [content] if content is not None else []
                continue
            length = len(inner.value.strip()) * _WHOLE_SHARE
            found += [
                Found(suffix, inner.decoding, f"persona:{hit.form.field}",
                      hit.form.category_id, Method.PERSONA, hit.value, 1.0,
                      (hit.value, hit.form.plain), hit.form.field, hit.form.form,
                      len(hit.value) >= length)
                for hit in self._persona.search(inner.value)
            ]  # fmt: skip
            applicable = self._detectors_for(inner.part, _shape_of(inner.key))
            detectors = applicable.by_key
            prefilter = applicable.prefilter
            if prefilter is None or prefilter.search(inner.value) is not None:
                detectors = applicable.every
            for detector in detectors:
                found += [
                    Found(suffix, inner.decoding, hit.rule, hit.category_id,
                          hit.method, hit.value, hit.confidence, (hit.value,))
                    for hit in detector.value_hits(inner, ignored)
                ]  # fmt: skip
        fields = sum(1 for inner in expanded if not isinstance(inner, Blob))
        return fields, kept_hits(found)

    def content_hit(self, blob: Blob, suffix: str = "") -> Found | None:
        """What the content detectors say a blob is, or None.

        The declared content type is asked first, of every detector, so that
        a ``video/webm`` upload is a video even if another rule knows WebM
        magic as audio; magic bytes are read only when no declared type
        matched and the type is missing or not text (a JSON body is not a
        recording, and Ogg, ID3 or RIFF magic is printable text that may
        start one). Of the signatures that match, the most specific wins
        (:func:`~.detectors.strongest_magic`), then the first in rule order.
        Bytes that are not an upload (:attr:`Blob.upload`) need a signature
        of at least three fixed bytes. The hit's value names the format and
        size ("WAV audio, 24 KB").
        """
        identified = self._identify(blob)
        if identified is None:
            return None
        detector, kind = identified
        description = f"{kind}, {_size(blob.size)}"
        return Found(suffix, blob.decoding, detector.id, detector.category_id,
                     Method.CONTENT, description, detector.confidence,
                     (description,))  # fmt: skip

    def _recognised(self, content: bytes) -> bool:
        """Whether a content detector knows bytes inside a field by their magic."""
        untyped = Blob("", "", content[:BLOB_HEAD], len(content), ())
        return self._identify(untyped) is not None

    def _identify(self, blob: Blob) -> tuple[Detector, str] | None:
        """The detector that recognises a blob, and what it calls it."""
        declared = blob.content_type
        if declared:
            for detector, matcher, _ in self._content:
                if any(pattern.search(declared) for pattern in matcher.types):
                    return detector, declared
            if textual_type(declared):
                return None
        candidates = (
            (detector, matcher.magic if blob.upload else sure)
            for detector, matcher, sure in self._content
        )
        recognised = strongest_magic(candidates, blob.head)
        if not recognised:
            return None
        detector, signature = recognised[0]
        return detector, signature.name

    def search_many(
        self,
        part: str,
        values: Sequence[str],
        shapes: Sequence[str],
        field_at: Callable[[int], Field],
    ) -> list[FieldResult]:
        """:meth:`search` for many fields of one part, given their values.

        ``shapes`` are the fields' names with list indices dropped, and
        ``field_at(index)`` builds a field when it must be searched: most
        values pass the screen, hold nothing to decode, and sit under a name
        no detector is tied to, and for those no field is ever built.
        """
        decoding, recognised = self._decoding, self._recognised
        plain = [
            index
            for index, value in enumerate(values)
            if not might_decode(value, decoding, recognised)
        ]
        suspects = self._screen.suspects([values[index] for index in plain])
        passed = {index for rank, index in enumerate(plain) if rank not in suspects}
        results: list[FieldResult] = []
        for index, shape in enumerate(shapes):
            if index not in passed:
                results.append(self.search(field_at(index)))
                continue
            keyed = self._detectors_for(part, shape).keyed
            results.append(self._keyed_only(field_at(index), keyed) if keyed else _NONE)
        return results

    def worth_searching(
        self, part: str, shape: str, values: Sequence[str]
    ) -> list[int]:
        """Indices of the values of one place that may hold something.

        The others pass the screen, hold nothing to decode, and sit under a
        name no detector is tied to: searching them would find nothing.
        """
        if self._detectors_for(part, shape).keyed:
            return list(range(len(values)))
        decoding, recognised = self._decoding, self._recognised
        worth = self._screen.suspects(values)
        worth.update(
            index
            for index, value in enumerate(values)
            if not value.isdigit() and might_decode(value, decoding, recognised)
        )
        return sorted(worth)

    def _keyed_only(self, field: Field, keyed: Sequence[Detector]) -> FieldResult:
        """Hits of a field the screen passed: only detectors tied to its name.

        The screen covers the persona and every detector that looks under any
        name; what remains are the detectors whose key matchers accept this
        field's name (the name ``phone`` with a phone pattern, the name
        ``child_name`` alone).
        """
        ignored = self._decoding.ignored_values
        found = [
            Found("", field.decoding, hit.rule, hit.category_id, hit.method,
                  hit.value, hit.confidence, (hit.value,))
            for detector in keyed
            for hit in detector.value_hits(field, ignored)
        ]  # fmt: skip
        return 1, kept_hits(found)

    def _detectors_for(self, part: str, shape: str | None) -> _Applicable:
        """The detectors for fields of this part and name (indices dropped)."""
        place = (part, shape)
        applicable = self._applicable.get(place)
        if applicable is None:
            if len(self._applicable) >= _APPLICABLE_CACHE:
                self._applicable.clear()
            applicable = _applicable(
                [item for item in self._detectors if item.applies(part, shape)]
            )
            self._applicable[place] = applicable
        return applicable


def _sure_magic(matcher: ContentMatcher) -> tuple[MagicSignature, ...]:
    """The signatures of a content rule that fix at least three whole bytes."""
    return tuple(
        signature
        for signature in matcher.magic
        if signature.fixed_bits >= _SURE_MAGIC_BITS
    )


def _size(length: int) -> str:
    """A size as people read it: bytes, KB or MB."""
    if length < 1024:
        return f"{length} bytes"
    if length < 1024 * 1024:
        return f"{round(length / 1024)} KB"
    return f"{length / (1024 * 1024):.1f} MB"


def _shape_of(key: str | None) -> str | None:
    """A field name with list indices dropped: ``events[7].mac`` -> ``events[].mac``.

    Detectors see the shape, so every element of a list is looked at alike.
    """
    if key is None or "[" not in key:
        return key
    return _LIST_INDEX.sub("[]", key)


def _applicable(detectors: list[Detector]) -> _Applicable:
    """Split detectors by how they match and join their value patterns."""
    sources = [
        f"(?:{pattern.pattern})"
        for detector in detectors
        if detector.value is not None
        for pattern in detector.value.patterns
    ]
    try:
        prefilter = LinearPattern("|".join(sources)) if sources else None
    except (re.error, ValueError):  # e.g. two patterns that name the same group
        prefilter = None
    return _Applicable(
        every=tuple(detectors),
        by_key=tuple(detector for detector in detectors if detector.value is None),
        keyed=tuple(detector for detector in detectors if detector.keys is not None),
        prefilter=prefilter,
    )
