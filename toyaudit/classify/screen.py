"""Screen many new field values at once for anything worth a closer look.

A toy's telemetry is mostly values that hold nothing: timestamps, session
counters, battery levels. Searching each with every detector pattern and the
persona costs microseconds apiece, and a large capture holds hundreds of
thousands of them. The :class:`Screen` instead joins the new values of one
observation with newlines and runs one alternation of every value pattern,
and the persona's alternations, over the joined text: the regex engine does
the scanning, and only values where something starts are searched properly.
The joined text is scanned with RE2 (google-re2), which runs such
alternations of character classes tens of times faster than Python's ``re``;
detector patterns are kept to the syntax both accept (docs/rules.md).

The screen may flag a value that holds nothing (the alternation spans two
values, or a persona literal sits inside a longer word); it never passes a
value that a detector pattern or a persona form would match on its own: each
search restarts at the beginning of the value after the last flagged one,
and ``^``/``$`` are made to match at every value's edges (``MULTILINE``).
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import Protocol, cast

import re2

from toyaudit.classify.detectors import Detector
from toyaudit.classify.persona import PersonaIndex

logger = logging.getLogger(__name__)


class _Match(Protocol):
    def start(self) -> int: ...


class _Searcher(Protocol):
    """What RE2's and ``re``'s compiled patterns both offer."""

    def search(self, text: str, pos: int = 0) -> _Match | None: ...


class Screen:
    """One pass over many values: which of them might hold personal data."""

    def __init__(self, detectors: Sequence[Detector], persona: PersonaIndex) -> None:
        sources = [
            f"(?:{pattern.pattern})"
            for detector in detectors
            if detector.value is not None
            for pattern in detector.value.patterns
        ]
        self._patterns: _Searcher | None = None
        unscreened = False
        if sources:
            try:
                self._patterns = _compile("|".join(sources), re.MULTILINE)
            except re.error:  # two patterns that name the same group
                unscreened = True
        self._unscreened = unscreened
        """True when the patterns could not be joined: every value is flagged."""
        self._persona = [
            (_compile(pattern.pattern, pattern.flags), lowered)
            for pattern, lowered in persona.screens()
        ]

    def suspects(self, values: Sequence[str]) -> set[int]:
        """Indices of the values a detector or the persona might match."""
        if self._unscreened:
            return set(range(len(values)))
        if not values:
            return set()
        try:
            return self._suspects(values)
        except UnicodeEncodeError:
            # A lone surrogate (from a JSON "\ud800" escape) has no UTF-8
            # form, so RE2 cannot read the text: search every value in full.
            logger.debug("values RE2 cannot read; screening skipped")
            return set(range(len(values)))

    def _suspects(self, values: Sequence[str]) -> set[int]:
        joined = "\n".join(values)
        starts = [0] * len(values)
        offset = 0
        for index, value in enumerate(values):
            starts[index] = offset
            offset += len(value) + 1
        flagged: set[int] = set()
        if self._patterns is not None:
            _flag(self._patterns, joined, starts, flagged)
        lowered = None
        for pattern, wants_lowered in self._persona:
            text = joined
            if wants_lowered:
                lowered = joined.lower() if lowered is None else lowered
                if len(lowered) != len(joined):  # offsets would not line up
                    return set(range(len(values)))
                text = lowered
            _flag(pattern, text, starts, flagged)
        return flagged


def _compile(source: str, flags: int) -> _Searcher:
    """RE2 when it accepts the pattern (it almost always does), else ``re``."""
    prefix = "(?m)" if flags & re.MULTILINE else ""
    prefix += "(?i)" if flags & re.IGNORECASE else ""
    try:
        return cast(_Searcher, re2.compile(prefix + source))
    except re2.error:
        logger.debug("RE2 refused a screening pattern; using re for it")
        return re.compile(source, flags)


def _flag(pattern: _Searcher, text: str, starts: list[int], into: set[int]) -> None:
    """Add the index of every value where ``pattern`` finds a match starting.

    After a match, the search restarts at the next value, so a match that
    runs on into the following value cannot hide that value's own match.
    """
    position = 0
    last = len(starts) - 1
    while (found := pattern.search(text, position)) is not None:
        index = bisect_right(starts, found.start()) - 1
        into.add(index)
        if index >= last:
            return
        position = starts[index + 1]
