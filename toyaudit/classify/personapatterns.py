"""Persona values written in more ways than a list of literals can hold.

:mod:`.personaforms` lists the spellings apps make of a value. Two kinds of
value are also written in too many ways to list, so each becomes a regular
expression, a :class:`PatternForm`:

* a phone number, grouped as its writer pleased (``phone-separated``):
  ``+44-7700-900-123``, ``+44.7700.900123``, ``(020) 7946 0958``,
  ``020-7946-0958``. The pattern is the number's own digits in order, with
  up to three of the characters people put in phone numbers
  (:data:`.telephone.SEPARATORS`) between any two, behind an optional
  ``+`` or ``00`` and the country code, the country code and a separator,
  the trunk prefix, or an opening bracket;
* a birthdate with a time of day, as ISO 8601 and RFC 3339 write it
  (``date-iso-time``): JavaScript's ``toISOString``
  (``2018-03-14T00:00:00.000Z``), SQL's DATETIME (``2018-03-14 00:00:00``),
  iCalendar's basic format (``20180314T000000Z``). The date followed by any
  time is the birthdate. A date picked in an app is often its midnight in
  the phone's time zone, converted to UTC, and so written as the day before
  (``2018-03-13T23:00:00.000Z`` from UTC+1): the day before or after counts
  when the moment, with its zone, falls on a quarter hour that some time
  zone's birthdate spans (``date-iso-time-nearby``), as a Unix time does
  (:mod:`.personanumbers`).

A hit must be a whole token, as a literal hit must, and a phone hit must not
be the inside of a longer run of grouped digits (``12-7700-900-123``) or a
decimal number (``7700.900123``). The patterns keep to the syntax RE2
accepts, so that :mod:`.screen` runs them over many values at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from toyaudit.classify.personaforms import PersonaForm
from toyaudit.classify.personanumbers import NumericTarget, epoch_targets
from toyaudit.classify.telephone import NO_TRUNK_PREFIX, SEPARATORS, parse_phone
from toyaudit.session import PersonaValue

_MAX_GAP = 3
"""Separators allowed between two digits: ``" - "`` or ``") "`` and no more."""
_SEPARATOR = "[" + "".join(sorted(SEPARATORS - {"-"})) + "-]"
_GAP = f"{_SEPARATOR}{{0,{_MAX_GAP}}}"
_DECIMAL = re.compile(r"[0-9]+\.[0-9]+")
"""A phone hit that reads as one decimal number is a measurement, not a phone."""

_TIME = r"[Tt ][0-2][0-9]:[0-5][0-9](?::[0-6][0-9](?:[.,][0-9]{1,9})?)?"
_BASIC_TIME = r"[Tt][0-2][0-9][0-5][0-9](?:[0-6][0-9](?:[.,][0-9]{1,9})?)?"
_ZONE = r"(?:[Zz]|[+-][0-2][0-9](?::?[0-5][0-9])?)?"
"""RFC 3339 section 5.6 and ISO 8601's basic format, fractions up to nanoseconds."""
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PatternForm:
    """A persona form found by a regular expression, and how its matches are judged."""

    form: PersonaForm
    """What a hit reports; its ``literal`` is the value the pattern stands for."""
    pattern: re.Pattern[str]
    kind: str
    """``phone``, ``date`` (the birthdate itself) or ``date-nearby`` (a
    neighbouring day, counted only at a moment that :attr:`moments` holds)."""
    moments: NumericTarget | None = None
    """For ``date-nearby``: the Unix times that stand for the birthdate."""

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        """Start and end of every hit in ``text``, in order."""
        for found in self.pattern.finditer(text):
            start, end = found.span()
            if self._accepts(text, start, end):
                yield start, end

    def _accepts(self, text: str, start: int, end: int) -> bool:
        if (start > 0 and text[start - 1].isalnum()) or (
            end < len(text) and text[end].isalnum()
        ):
            return False
        if self.kind == "phone":
            return _stands_alone(text, start, end)
        if self.kind == "date-nearby":
            return self._at_a_moment_of_the_day(text[start:end])
        return True

    def _at_a_moment_of_the_day(self, written: str) -> bool:
        """Whether a neighbouring day's date-time is the birthdate in some zone."""
        try:
            moment = dt.datetime.fromisoformat(written.upper())
        except ValueError:
            return False
        if moment.tzinfo is None or moment.microsecond or self.moments is None:
            return False  # a local time names no moment, so no day elsewhere
        return self.moments.holds(str(int(moment.timestamp())))


def pattern_forms(
    item: PersonaValue, categories: Mapping[str, str]
) -> list[PatternForm]:
    """The pattern forms of one persona value; [] for most fields."""
    plain = item.value.strip()
    category_id = categories[item.field]
    if item.field == "parent.phone":
        source = _phone_pattern(plain)
        if source is None:
            return []
        form = PersonaForm(
            item.field, category_id, "phone-separated", plain, False, plain
        )
        return [PatternForm(form, re.compile(source), "phone")]
    if item.field == "child.birthdate":
        return _date_forms(item.field, category_id, plain)
    return []


def screen_pattern(forms: Sequence[PatternForm]) -> re.Pattern[str] | None:
    """One alternation of every pattern, or None without pattern forms."""
    if not forms:
        return None
    return re.compile("|".join(f"(?:{form.pattern.pattern})" for form in forms))


def _phone_pattern(plain: str) -> str | None:
    """The digits of a phone number with any grouping, behind any usual prefix."""
    number = parse_phone(plain)
    if number is None:
        return None
    digits = _GAP.join(number.national)
    code = number.country_code
    if code is None:  # typed as dialled at home: its digits hold the trunk prefix
        return rf"\(?{digits}"
    prefixes = [
        rf"(?:\+|00) ?{code}{_GAP}(?:\(0\){_GAP})?",  # +44 (0)20 7946 0958
        f"{code}{_SEPARATOR}{{1,{_MAX_GAP}}}",  # 44 7700 900123
    ]
    trunk = "1" if code == "1" else None if code in NO_TRUNK_PREFIX else "0"
    if trunk is not None:
        prefixes.append(rf"\(?{trunk}{_GAP}")  # (020) 7946 0958, 1-202-555-0143
    prefixes.append(r"\(")  # (202) 555-0143
    return f"(?:{'|'.join(prefixes)})?{digits}"


def _date_forms(field: str, category_id: str, plain: str) -> list[PatternForm]:
    """The birthdate with a time of day, and its neighbours at a moment of it."""
    try:
        birthdate = dt.date.fromisoformat(plain)
    except ValueError:
        return []
    exact = PersonaForm(field, category_id, "date-iso-time", plain, False, plain)
    forms = [PatternForm(exact, re.compile(_date_time([birthdate])), "date")]
    moments = epoch_targets(field, birthdate)
    if moments:
        nearby = PersonaForm(
            field, category_id, "date-iso-time-nearby", plain, False, plain
        )
        neighbours = re.compile(_date_time([birthdate - _DAY, birthdate + _DAY]))
        forms.append(PatternForm(nearby, neighbours, "date-nearby", moments[0]))
    return forms


def _date_time(days: Sequence[dt.date]) -> str:
    """Any of ``days`` followed by a time of day, extended or basic format."""
    dates = [
        f"{day.isoformat()}{_TIME}|{day.strftime('%Y%m%d')}{_BASIC_TIME}"
        for day in days
    ]
    return f"(?:{'|'.join(dates)}){_ZONE}"


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Whether a phone hit is a whole number, not part of one or a decimal."""
    before, after = text[max(start - 2, 0) : start], text[end : end + 2]
    if len(before) == 2 and before[1] in SEPARATORS and before[0].isdigit():
        return False
    if len(after) == 2 and after[0] in SEPARATORS and after[1].isdigit():
        return False
    return _DECIMAL.fullmatch(text, start, end) is None
