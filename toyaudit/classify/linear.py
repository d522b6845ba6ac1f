"""Rule regexes that stay fast on long text.

Python's ``re`` backtracks. A pattern such as the e-mail rule's
``[A-Za-z0-9._%+-]+@...``, tried at every position of a long run of letters
or hex digits, costs time quadratic in the run's length: a 64 KB hex body
took five seconds, and a hostile 1 MiB body would take minutes. RE2 runs in
time linear in the text, but each call costs about ten microseconds of
wrapper, too much for the hundreds of thousands of short fields an audit
searches. A :class:`LinearPattern` runs ``re`` on text up to
:data:`LINEAR_FROM` characters, where even the worst case is bounded, and
RE2 on longer text.

The rule dialect (:mod:`.yamlsource`) keeps regexes to what both engines
read alike (no look-around, back-references or flags; ASCII classes spelled
out), so both find the same matches. The one construct both accept with
different meanings is ``$``: Python's also matches before a final newline,
RE2's only at the very end. In rules ``$`` means the end of the value, so
the source Python compiles has each ``$`` anchor spelled ``\\Z``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, Protocol, cast

import re2

logger = logging.getLogger(__name__)

LINEAR_FROM = 1024
"""Longest text searched with Python's re; a worst case there costs ~1 ms."""


class _Match(Protocol):
    """What callers read of a match, the same from ``re`` and RE2."""

    def group(self, index: int = 0) -> Any: ...

    def start(self, index: int = 0) -> int: ...

    def end(self, index: int = 0) -> int: ...


class _Engine(Protocol):
    def search(self, text: str, pos: int = 0) -> _Match | None: ...

    def finditer(self, text: str) -> Iterator[_Match]: ...


class LinearPattern:
    """One compiled rule regex: ``re`` for short text, RE2 for long.

    Raises :class:`re.error` when Python cannot compile the source, and
    :class:`ValueError` when RE2 cannot.
    """

    __slots__ = ("pattern", "_short", "_long")

    def __init__(self, source: str) -> None:
        self.pattern = source
        """The regex's source text, as ``re.Pattern.pattern`` gives it."""
        self._short = cast(_Engine, re.compile(_end_of_text(source)))
        try:
            self._long = cast(_Engine, re2.compile(source))
        except re2.error as error:
            raise ValueError(f"RE2 does not accept it ({error})") from error

    def search(self, text: str, pos: int = 0) -> _Match | None:
        """The first match at or after ``pos``, or None."""
        engine = self._short if len(text) <= LINEAR_FROM else self._long
        return engine.search(text, pos)

    def finditer(self, text: str) -> Iterator[_Match]:
        """Every non-overlapping match, left to right."""
        engine = self._short if len(text) <= LINEAR_FROM else self._long
        return engine.finditer(text)

    def __repr__(self) -> str:
        return f"LinearPattern({self.pattern!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LinearPattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __getstate__(self) -> str:
        return self.pattern

    def __setstate__(self, state: str) -> None:
        self.__init__(state)  # type: ignore[misc]


def _end_of_text(source: str) -> str:
    """``source`` with every ``$`` anchor written ``\\Z``, as RE2 reads ``$``.

    A ``$`` that is escaped or inside a character class is a dollar sign
    and stays.
    """
    out: list[str] = []
    index, in_class = 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            out.append(source[index : index + 2])
            index += 2
            continue
        if in_class:
            # "]" right after "[" or "[^" is a member, not the end of the class.
            opened = source[index - 1] == "[" or source[index - 2 : index] == "[^"
            in_class = char != "]" or opened
        elif char == "[":
            in_class = True
        elif char == "$":
            char = "\\Z"
        out.append(char)
        index += 1
    return "".join(out)
