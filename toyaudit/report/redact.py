"""Make captured strings safe to show: redact personal values, scrub controls.

Every report renders strings that came out of a capture (host names, field
locations, decoding steps, coverage notes). Two things can go wrong with them:

* they can carry the child's personal data, which reports hide unless the user
  asks to see it (``--reveal``);
* they can carry control characters, such as an ESC that starts a terminal
  escape sequence or a right-to-left override that reorders what a reader
  sees, planted by a hostile or broken device.

:class:`Redactor` handles both. Its :meth:`Redactor.value` replaces a
detection's value by a note saying only what kind of value it was and how long;
its :meth:`Redactor.text` additionally masks every known personal value (the
persona and every detected value) that appears inside another captured string,
as a second line of defence should a location or host name quote one.
:func:`scrub` replaces control characters by a visible ``\\xNN`` or ``\\uNNNN``
notation. Format-specific escaping (Markdown, HTML, rich markup) is left to
each renderer and is applied after these steps.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from toyaudit.assess.records import Assessment, Detection

logger = logging.getLogger(__name__)

MASK = "[redacted]"
"""What replaces a known personal value found inside another captured string."""

MIN_MASKED_LENGTH = 3
"""Shorter personal values are not masked inside other strings (too many false
hits, e.g. an age of "7"); the detection's own value is always redacted."""

_INVISIBLE_FORMATTING = frozenset(
    "\u200e\u200f"  # left-to-right and right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # bidi isolates
    "\u2028\u2029"  # line and paragraph separators
)


def scrub(text: str) -> str:
    """Replace control and bidi characters by a visible escape notation.

    C0 controls (including newline, tab and ESC), DEL, C1 controls and the
    Unicode characters that reorder or break lines become ``\\x1b`` or
    ``\\u202e`` style text, so a string always renders on one line, in the
    order it was captured, and cannot drive a terminal.
    """
    if text.isprintable():
        return text
    return "".join(_scrub_character(character) for character in text)


def _scrub_character(character: str) -> str:
    """Return the character itself, or its escape notation if it is unsafe."""
    if unicodedata.category(character) == "Cc":
        return f"\\x{ord(character):02x}"
    if character in _INVISIBLE_FORMATTING:
        return f"\\u{ord(character):04x}"
    return character


def redaction_note(detection: Detection) -> str:
    """Describe a detection's value without showing any part of it.

    The note gives the value's length in characters and, for persona hits, the
    persona field that matched, e.g. ``[redacted: child.name, 4 characters]``.
    """
    length = len(detection.value)
    unit = "character" if length == 1 else "characters"
    if detection.persona_field:
        return f"[redacted: {scrub(detection.persona_field)}, {length} {unit}]"
    return f"[redacted: {length} {unit}]"


class Redactor:
    """Turn captured strings of one assessment into strings safe to render.

    Built once per rendering. With ``reveal`` false, values are replaced by
    :func:`redaction_note` and known personal values are masked inside other
    captured strings; with ``reveal`` true, values are shown verbatim. Control
    characters are scrubbed in both cases.
    """

    def __init__(self, assessment: Assessment, reveal: bool = False) -> None:
        self.reveal = reveal
        self._pattern = None if reveal else _personal_pattern(assessment)
        self._texts: dict[str, str] = {}
        """Strings made safe so far: a report repeats the same few hundred
        (hosts, decodings, evidence) thousands of times."""

    def value(self, detection: Detection) -> str:
        """The detection's value as a report may show it."""
        if self.reveal:
            return scrub(detection.value)
        return redaction_note(detection)

    def text(self, captured: str) -> str:
        """A captured string with known personal values masked and controls scrubbed."""
        safe = self._texts.get(captured)
        if safe is None:
            masked = captured
            if self._pattern is not None:
                masked = self._pattern.sub(MASK, captured)
            safe = self._texts[captured] = scrub(masked)
        return safe


def _personal_pattern(assessment: Assessment) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching every known personal value."""
    values = {persona.value for persona in assessment.session.persona}
    for finding in assessment.findings:
        values.update(detection.value for detection in finding.detections)
    masked = sorted(
        (value for value in values if len(value) >= MIN_MASKED_LENGTH),
        key=lambda value: (-len(value), value),
    )
    logger.debug("masking %d known personal values in captured strings", len(masked))
    if not masked:
        return None
    return re.compile("|".join(re.escape(value) for value in masked), re.IGNORECASE)
