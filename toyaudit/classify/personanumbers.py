"""Persona values that travel as numbers near, not equal to, what was typed.

A toy rarely sends the home coordinates exactly as the auditor typed them:
the phone's fix wanders by a few metres and apps round to four or six
decimals. A birthdate picked in an app often leaves as a Unix time of its
midnight (or noon) in the phone's time zone. Literal spellings cannot find
these, so each such persona value becomes a :class:`NumericTarget`: a range
of numbers, a way to read numbers in text, and a screen of literal prefixes
that every number in the range starts with, so that screening many values
at once (:mod:`.screen`) still flags every value a search would find.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

COORDINATE_TOLERANCE = 0.001
"""Degrees a coordinate may be off and still be the persona's home: about
110 m north-south, less east-west; the street, as COPPA 312.2 (9) puts it."""
_SCREEN_DECIMALS = 3
"""Decimals of the coordinate prefixes the screen looks for: a coordinate
precise enough to count has at least this many (validators, research D1)."""
_DAY_STARTS_EARLIEST = dt.timedelta(hours=-14)
_DAY_ENDS_LATEST = dt.timedelta(hours=36)
"""A calendar day starts as early as 14 h before midnight UTC (UTC+14) and
ends as late as 36 h after it (UTC-12): the day's midnight or noon in the
phone's time zone falls in between."""
_ZONE_STEP = 15 * 60
"""Time zones differ from UTC by whole quarter hours (UTC+5:45, UTC+12:45), so
a day picked in an app starts, or is stored at noon, on a quarter hour. A Unix
time off that grid is an event that happened on that day, not the date."""
_MAX_SCREEN_PREFIXES = 4

_NUMBER = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?")
"""A decimal number as apps write it; its edges are checked in :func:`_tokens`."""


@dataclass(frozen=True, slots=True)
class NumericTarget:
    """A range of numbers that stand for one persona value."""

    kind: str
    """"coordinate" (a decimal number of degrees) or "epoch" (a Unix time)."""
    form: str
    """Name of the form a hit reports, e.g. ``latitude-nearby``."""
    low: float
    high: float
    exact: str
    """The number as the persona gives it; a hit that equals it is exact."""
    group: str
    """Targets of one persona value share a group (latitude and longitude)."""
    alone: bool
    """Whether a hit counts without a hit of another target of its group in
    the same text: a number near 0.14 is too common to mean a longitude."""
    prefixes: tuple[str, ...]
    """Literals that every number in the range, as written, contains."""

    def is_exact(self, token: str) -> bool:
        """Whether a token this target :meth:`holds` is the persona's own number."""
        if self.kind == "coordinate":
            return float(token) == float(self.exact)
        whole = token.partition(".")[0]
        return whole in (self.exact, f"{self.exact}000")

    def holds(self, token: str) -> bool:
        """Whether a number token of a text falls in the range."""
        if self.kind == "coordinate":
            _, _, decimals = token.partition(".")
            if len(decimals) < _SCREEN_DECIMALS:
                return False
            return self.low <= float(token) <= self.high
        whole, _, fraction = token.partition(".")
        if token[0] in "+-" or len(whole) not in (9, 10, 12, 13) or fraction.strip("0"):
            return False
        seconds, milliseconds = divmod(int(whole), 1000 if len(whole) >= 12 else 1)
        if milliseconds or seconds % _ZONE_STEP:
            return False  # a moment of that day, not the day itself
        return self.low <= seconds <= self.high


def coordinate_targets(group: str, text: str) -> list[NumericTarget]:
    """Targets for a "lat,lon" persona value; [] when it is not one."""
    latitude, separator, longitude = text.partition(",")
    if not separator:
        return []
    try:
        numbers = [float(latitude), float(longitude)]
    except ValueError:
        return []
    targets = []
    axes = zip(("latitude", "longitude"), (latitude, longitude), numbers, strict=True)
    for axis, written, value in axes:
        low, high = value - COORDINATE_TOLERANCE, value + COORDINATE_TOLERANCE
        prefixes = _coordinate_prefixes(low, high)
        alone = abs(value) - COORDINATE_TOLERANCE >= 1.0
        exact = written.strip().lstrip("+")
        targets.append(
            NumericTarget(
                "coordinate", f"{axis}-nearby", low, high, exact, group, alone, prefixes
            )
        )
    return targets


def _coordinate_prefixes(low: float, high: float) -> tuple[str, ...]:
    """Sign, whole degrees and three decimals of every number in [low, high]."""
    prefixes = []
    for sign, start, stop in (("", max(low, 0.0), high), ("-", max(-high, 0.0), -low)):
        if stop < 0 or start > stop:
            continue
        scale = 10**_SCREEN_DECIMALS
        for step in range(math.floor(start * scale), math.floor(stop * scale) + 1):
            whole, decimals = divmod(step, scale)
            prefixes.append(f"{sign}{whole}.{decimals:0{_SCREEN_DECIMALS}d}")
    return tuple(prefixes)


def epoch_targets(group: str, day: dt.date) -> list[NumericTarget]:
    """A target for the Unix times (seconds or milliseconds) within ``day``."""
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    earliest = int((midnight + _DAY_STARTS_EARLIEST).timestamp())
    latest = int((midnight + _DAY_ENDS_LATEST).timestamp())
    if earliest < 10**8:
        return []  # before 1973: nine-digit times are too common to search
    exact = str(int(midnight.timestamp()))
    return [
        NumericTarget(
            kind="epoch",
            form="date-unix-time-nearby",
            low=earliest,
            high=latest,
            exact=exact,
            group=group,
            alone=True,
            prefixes=_epoch_prefixes(earliest, latest),
        )
    ]


def _epoch_prefixes(earliest: int, latest: int) -> tuple[str, ...]:
    """The longest leading digits that split [earliest, latest] into few ranges.

    Milliseconds start with the same digits as the seconds they count, so
    one set of prefixes screens both.
    """
    digits = len(str(latest))
    for kept in range(digits, 0, -1):
        step = 10 ** (digits - kept)
        if latest // step - earliest // step < _MAX_SCREEN_PREFIXES:
            start, stop = earliest // step, latest // step
            return tuple(str(prefix) for prefix in range(start, stop + 1))
    return (str(latest)[0],)


def screen_pattern(targets: Sequence[NumericTarget]) -> re.Pattern[str] | None:
    """One alternation of every target's prefixes, or None without targets."""
    prefixes = sorted({prefix for target in targets for prefix in target.prefixes})
    if not prefixes:
        return None
    return re.compile("|".join(re.escape(prefix) for prefix in prefixes))


def find_numbers(
    text: str, targets: Sequence[NumericTarget]
) -> list[tuple[int, str, NumericTarget]]:
    """(offset, token, target) for every number of ``text`` in a target's range."""
    found = [
        (start, token, target)
        for start, token in _tokens(text)
        for target in targets
        if target.holds(token)
    ]
    return [
        (start, token, target)
        for start, token, target in found
        if target.alone or _partnered(target, found)
    ]


def _partnered(
    target: NumericTarget, found: Sequence[tuple[int, str, NumericTarget]]
) -> bool:
    return any(
        other is not target and other.group == target.group for _, _, other in found
    )


def _tokens(text: str) -> list[tuple[int, str]]:
    """Numbers standing alone: not part of a word, a version or a longer number.

    A whole part with a leading zero ("03.1") is skipped, so that every
    number kept starts with a screen prefix as written.
    """
    tokens = []
    for found in _NUMBER.finditer(text):
        start, end = found.span()
        before, after = text[max(start - 2, 0) : start], text[end : end + 2]
        if before[-1:].isalnum() or after[:1].isalnum():
            continue
        if before[-1:] == "." and before[:1].isdigit():
            continue  # the end of a version such as "1.2.3"
        if after[:1] == "." and after[1:].isdigit():
            continue
        token = found.group(0)
        whole = token.lstrip("+-").partition(".")[0]
        if len(whole) > 1 and whole.startswith("0"):
            continue
        tokens.append((start, token))
    return tokens
