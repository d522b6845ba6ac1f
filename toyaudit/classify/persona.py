"""Search for the fake child profile (the persona) in every form it may travel in.

Before a capture, the auditor types a made-up child into the toy's app:
a name, a birthdate, a parent's email, the home Wi-Fi. Finding one of those
exact values in traffic is the strongest evidence there is, so each value is
expanded into the forms apps commonly send it in (plain, URL-encoded, base64,
MD5/SHA-1/SHA-256 of a normalised value, MAC and date notations), and all forms
are compiled into two alternations of escaped literals: one case-insensitive
(text and hex) and one case-sensitive (base64). Each field value is then
scanned once per alternation.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from toyaudit.session import PersonaValue

logger = logging.getLogger(__name__)

_MIN_LITERAL_LENGTH = 2
_HEX_DIGITS = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class PersonaForm:
    """One searchable spelling of one persona value."""

    field: str
    """Persona field, e.g. ``parent.email``."""
    category_id: str
    form: str
    """Name of the form: plain, url-encoded, base64, md5, mac-no-separators..."""
    literal: str
    case_sensitive: bool
    plain: str
    """The persona value as typed and trimmed, whatever the form."""


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
        """Every form searched, for reports that list what was looked for."""
        logger.debug("persona index: %d forms of %d values", len(forms), len(persona))

    def screens(self) -> list[tuple[re.Pattern[str], bool]]:
        """Patterns that find every form and more, for screening many values.

        Each comes with whether it must be run on lower-cased text. A match is
        not yet a hit (whole tokens are checked by :meth:`search`), but a text
        none of them matches holds no persona value.
        """
        return [
            screen
            for alternation in (self._insensitive, self._sensitive)
            if (screen := alternation.screen()) is not None
        ]

    def search(self, text: str) -> list[PersonaHit]:
        """Every persona form in ``text``, in order of position, then form."""
        return [hit for _, hit in self.search_positions(text)]

    def search_positions(self, text: str) -> list[tuple[int, PersonaHit]]:
        """Like :meth:`search`, with the offset in ``text`` where each hit starts."""
        if not (self._insensitive.occurs(text) or self._sensitive.occurs(text)):
            return []  # the common case, answered by two regex scans
        hits = self._insensitive.search(text) + self._sensitive.search(text)
        return [
            (order[0], hit) for order, hit in sorted(hits, key=lambda entry: entry[0])
        ]


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


def persona_forms(
    item: PersonaValue, categories: Mapping[str, str]
) -> list[PersonaForm]:
    """Every form of one persona value, deduplicated, each with its category."""
    category_id = categories[item.field]
    plain = item.value.strip()
    spellings = [("plain", plain), *_field_spellings(item.field, plain)]
    forms: dict[str, PersonaForm] = {}
    for form_name, literal in spellings + _encodings(spellings[0][1]):
        sensitive = form_name == "base64"
        key = literal if sensitive else literal.lower()
        if len(literal) >= _MIN_LITERAL_LENGTH and key not in forms:
            forms[key] = PersonaForm(
                item.field, category_id, form_name, literal, sensitive, plain
            )
    for form_name, literal in _hashes(_normalised(item.field, plain)):
        forms.setdefault(
            literal,
            PersonaForm(item.field, category_id, form_name, literal, False, plain),
        )
    return list(forms.values())


def _field_spellings(field: str, plain: str) -> list[tuple[str, str]]:
    """Other notations of the same value that apps commonly use."""
    if field == "toy.mac":
        return _mac_spellings(plain)
    if field == "parent.phone":
        return [("phone-digits", "".join(char for char in plain if char.isdigit()))]
    if field == "child.birthdate":
        return _date_spellings(plain)
    if field == "home.coordinates":
        return [("coordinates-spaced", plain.replace(",", ", "))]
    return []


def _mac_spellings(plain: str) -> list[tuple[str, str]]:
    digits = "".join(char for char in plain.lower() if char in _HEX_DIGITS)
    if len(digits) != 12:
        return []
    octets = [digits[index : index + 2] for index in range(0, 12, 2)]
    return [
        ("mac-colons", ":".join(octets)),
        ("mac-dashes", "-".join(octets)),
        ("mac-no-separators", digits),
        (
            "mac-dotted",
            ".".join(digits[index : index + 4] for index in range(0, 12, 4)),
        ),
    ]


def _date_spellings(plain: str) -> list[tuple[str, str]]:
    try:
        birthdate = dt.date.fromisoformat(plain)
    except ValueError:
        return []
    return [
        ("date-day-first", birthdate.strftime("%d/%m/%Y")),
        ("date-month-first", birthdate.strftime("%m/%d/%Y")),
        ("date-dotted", birthdate.strftime("%d.%m.%Y")),
        ("date-compact", birthdate.strftime("%Y%m%d")),
    ]


def _encodings(plain: str) -> list[tuple[str, str]]:
    """URL-encoded and base64 (standard and URL-safe, unpadded) spellings."""
    raw = plain.encode("utf-8")
    return [
        ("url-encoded", quote(plain, safe="")),
        ("url-encoded", quote_plus(plain, safe="")),
        ("base64", base64.b64encode(raw).decode("ascii").rstrip("=")),
        ("base64", base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")),
    ]


def _normalised(field: str, plain: str) -> str:
    """The value as services normalise it before hashing (e.g. for ad matching)."""
    if field == "parent.email":
        return plain.lower()
    if field == "parent.phone":
        return "".join(char for char in plain if char.isdigit())
    if field == "toy.mac":
        mac = dict(_mac_spellings(plain))
        return mac.get("mac-colons", plain.lower())
    return plain


def _hashes(normalised: str) -> list[tuple[str, str]]:
    raw = normalised.encode("utf-8")
    return [
        ("md5", hashlib.md5(raw, usedforsecurity=False).hexdigest()),
        ("sha1", hashlib.sha1(raw, usedforsecurity=False).hexdigest()),
        ("sha256", hashlib.sha256(raw).hexdigest()),
    ]
