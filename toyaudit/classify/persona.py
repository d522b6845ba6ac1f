"""Search for the fake child profile (the persona) in every form it may travel in.

Before a capture, the auditor types a made-up child into the toy's app:
a name, a birthdate, a parent's email, the home Wi-Fi. Finding one of those
exact values in traffic is the strongest evidence there is, so each value is
expanded into the forms apps commonly send it in: as typed (case-folded,
trimmed), URL-encoded, base64 (standard and URL-safe), hex, MD5/SHA-1/SHA-256
of its usual normalisations (lower-cased e-mail, E.164 and digits-only phone,
MAC in both cases), MAC, phone, date, address and name notations. All forms
are compiled into two alternations of escaped literals: one case-insensitive
(text, hex, hashes) and one case-sensitive (base64). Each field value is then
scanned once per alternation.

Coordinates and a birthdate also travel as numbers near what was typed (a fix
a few metres off, a Unix time of that day); :mod:`.personanumbers` compares
those numerically, behind a screen of literal prefixes, so that a text no
screen matches still holds no persona value. A phone number grouped in any
way and a birthdate with a time of day are found by regular expressions
(:mod:`.personapatterns`). Where such a hit and a literal hit of the same
field overlap, the one that spans the other is kept: ``2018-03-14 00:00:00``
is one ``date-iso-time`` hit, not a ``plain`` one, while ``+44 7700 900123``
typed as in the persona stays ``plain``.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate

from toyaudit.classify.personaforms import (
    PersonaForm,
    numeric_form,
    numeric_targets,
    persona_forms,
)
from toyaudit.classify.personanumbers import find_numbers, screen_pattern
from toyaudit.classify.personapatterns import pattern_forms
from toyaudit.classify.personapatterns import screen_pattern as patterns_screen
from toyaudit.session import PersonaValue

__all__ = ["PersonaForm", "PersonaHit", "PersonaIndex", "persona_forms"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PersonaHit:
    """A persona form found in a text, with the text exactly as it appeared."""

    form: PersonaForm
    value: str


class PersonaIndex:
    """Precompiled search for every form of every persona value of a session."""

    def __init__(
        self, persona: Sequence[PersonaValue], categories: Mapping[str, str]
    ) -> None:
        forms = [form for item in persona for form in persona_forms(item, categories)]
        self._insensitive = _Alternation(
            [form for form in forms if not form.case_sensitive]
        )
        self._sensitive = _Alternation([form for form in forms if form.case_sensitive])
        self.forms = tuple(forms)
        """Every literal form searched, for reports that list what was looked for."""
        self._numeric = [
            (target, numeric_form(item, target, categories))
            for item in persona
            for target in numeric_targets(item)
        ]
        self._numeric_screen = screen_pattern([target for target, _ in self._numeric])
        self._patterns = [
            pattern for item in persona for pattern in pattern_forms(item, categories)
        ]
        self._patterns_screen = patterns_screen(self._patterns)
        logger.debug(
            "persona index: %d literal, %d numeric and %d pattern forms of %d values",
            len(forms),
            len(self._numeric),
            len(self._patterns),
            len(persona),
        )

    def screens(self) -> list[tuple[re.Pattern[str], bool]]:
        """Patterns that find every form and more, for screening many values.

        Each comes with whether it must be run on lower-cased text. A match is
        not yet a hit (whole tokens are checked by :meth:`search`, numbers are
        compared with the persona's), but a text none of them matches holds
        no persona value.
        """
        screens = [
            screen
            for alternation in (self._insensitive, self._sensitive)
            if (screen := alternation.screen()) is not None
        ]
        # Numbers and patterns in one alternation: one pass over the values.
        sources = [
            f"(?:{pattern.pattern})"
            for pattern in (self._numeric_screen, self._patterns_screen)
            if pattern is not None
        ]
        if sources:
            screens.append((re.compile("|".join(sources)), False))
        return screens

    def search(self, text: str) -> list[PersonaHit]:
        """Every persona form in ``text``, in order of position, then form."""
        return [hit for _, hit in self.search_positions(text)]

    def search_positions(self, text: str) -> list[tuple[int, PersonaHit]]:
        """Like :meth:`search`, with the offset in ``text`` where each hit starts."""
        literal = self._insensitive.occurs(text) or self._sensitive.occurs(text)
        numeric = self._numeric_screen is not None and (
            self._numeric_screen.search(text) is not None
        )
        patterned = self._patterns_screen is not None and (
            self._patterns_screen.search(text) is not None
        )
        if not (literal or numeric or patterned):
            return []  # the common case, answered by a few regex scans
        hits = self._insensitive.search(text) + self._sensitive.search(text)
        if patterned:
            hits = self._with_pattern_hits(text, hits)
        if numeric:
            hits += self._numeric_hits(text, hits)
        return [
            (order[0], hit) for order, hit in sorted(hits, key=lambda entry: entry[0])
        ]

    def _with_pattern_hits(
        self, text: str, literal: list[tuple[tuple[int, str, str], PersonaHit]]
    ) -> list[tuple[tuple[int, str, str], PersonaHit]]:
        """Literal and pattern hits, without one lying inside another of its field."""
        found = [
            (start, end, pattern.form)
            for pattern in self._patterns
            for start, end in pattern.find(text)
        ]
        if not found:
            return literal
        literal_spans = _Spans(
            (hit.form.field, order[0], order[0] + len(hit.value))
            for order, hit in literal
        )
        found = [
            (start, end, form)
            for start, end, form in found
            if not literal_spans.contains(form.field, start, end)
        ]
        pattern_spans = _Spans((form.field, start, end) for start, end, form in found)
        kept = [
            (order, hit)
            for order, hit in literal
            if not pattern_spans.contains(
                hit.form.field, order[0], order[0] + len(hit.value)
            )
        ]
        return kept + [
            ((start, form.field, form.form), PersonaHit(form, text[start:end]))
            for start, end, form in found
        ]

    def _numeric_hits(
        self, text: str, literal: Sequence[tuple[tuple[int, str, str], PersonaHit]]
    ) -> list[tuple[tuple[int, str, str], PersonaHit]]:
        """Numbers near a persona value, except inside a literal hit of it."""
        forms = dict(self._numeric)
        covered = _Spans(
            (hit.form.field, order[0], order[0] + len(hit.value))
            for order, hit in literal
        )
        hits = []
        for start, token, target in find_numbers(text, [t for t, _ in self._numeric]):
            form = forms[target]
            if covered.covers(form.field, start):
                continue
            if target.is_exact(token):
                form = replace(form, form=form.form.removesuffix("-nearby"))
            hits.append(((start, form.field, form.form), PersonaHit(form, token)))
        return hits


class _Spans:
    """Where hits of each persona field lie, asked by position.

    A look-up costs a binary search, so a text with thousands of hits costs
    time in proportion to them, not to their square.
    """

    def __init__(self, spans: Iterable[tuple[str, int, int]]) -> None:
        by_field: dict[str, list[tuple[int, int]]] = {}
        for field, low, high in spans:
            by_field.setdefault(field, []).append((low, high))
        self._starts: dict[str, list[int]] = {}
        self._reach: dict[str, list[int]] = {}
        """Per field: the furthest end of the spans starting at or before each."""
        for field, ranges in by_field.items():
            ranges.sort()
            self._starts[field] = [low for low, _ in ranges]
            self._reach[field] = list(accumulate((high for _, high in ranges), max))

    def covers(self, field: str, position: int) -> bool:
        """Whether a hit of ``field`` spans ``position``."""
        return self._reach_from(field, position) > position

    def contains(self, field: str, start: int, end: int) -> bool:
        """Whether a hit of ``field`` spans all of ``start`` to ``end``."""
        return self._reach_from(field, start) >= end

    def _reach_from(self, field: str, position: int) -> int:
        """How far the spans of ``field`` starting by ``position`` reach; -1 if none."""
        starts = self._starts.get(field)
        if not starts:
            return -1
        index = bisect_right(starts, position) - 1
        return self._reach[field][index] if index >= 0 else -1


class _Alternation:
    """One compiled alternation of escaped literals, longest first."""

    def __init__(self, forms: Sequence[PersonaForm]) -> None:
        sensitive = bool(forms) and forms[0].case_sensitive
        self._by_literal: dict[str, list[PersonaForm]] = {}
        for form in forms:
            literal = form.literal if sensitive else form.literal.lower()
            self._by_literal.setdefault(literal, []).append(form)
        ordered = sorted(self._by_literal, key=lambda literal: (-len(literal), literal))
        flags = 0 if sensitive else re.IGNORECASE
        alternation = "|".join(re.escape(literal) for literal in ordered)
        self._pattern = re.compile(alternation, flags) if ordered else None
        # Matching lower-cased text case-sensitively finds the same hits as
        # IGNORECASE and is several times faster in Python's regex engine.
        self._lowered = re.compile(alternation) if ordered and not sensitive else None
        self._sensitive = sensitive

    def screen(self) -> tuple[re.Pattern[str], bool] | None:
        """The alternation and whether it runs on lower-cased text, if any."""
        if self._lowered is not None:
            return self._lowered, True
        return (self._pattern, False) if self._pattern is not None else None

    def occurs(self, text: str) -> bool:
        """Whether any literal occurs in ``text``, whole token or not."""
        if self._lowered is not None:
            lowered = text.lower()
            if len(lowered) == len(text):
                return self._lowered.search(lowered) is not None
        return self._pattern is not None and self._pattern.search(text) is not None

    def search(self, text: str) -> list[tuple[tuple[int, str, str], PersonaHit]]:
        if self._pattern is None:
            return []
        hits = []
        pattern, haystack = self._pattern, text
        if self._lowered is not None:
            lowered = text.lower()
            if len(lowered) == len(text):  # offsets stay valid (not so for "İ")
                pattern, haystack = self._lowered, lowered
        for found in pattern.finditer(haystack):
            if not _bounded(text, found.start(), found.end()):
                continue
            value = text[found.start() : found.end()]
            literal = found.group(0)
            if pattern is self._pattern and not self._sensitive:
                literal = literal.lower()
            for form in self._by_literal.get(literal, ()):
                order = (found.start(), form.field, form.form)
                hits.append((order, PersonaHit(form=form, value=value)))
        return hits


def _bounded(text: str, start: int, end: int) -> bool:
    """Whether a hit is a whole token: "Mia" must not match inside "Miami"."""
    before_ok = start == 0 or not (text[start].isalnum() and text[start - 1].isalnum())
    after_ok = end == len(text) or not (text[end - 1].isalnum() and text[end].isalnum())
    return before_ok and after_ok
