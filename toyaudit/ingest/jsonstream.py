"""Walk one large JSON document a value at a time, holding only a window of it.

A HAR file is a single JSON document whose ``log.entries`` array can reach
hundreds of megabytes. :class:`JsonScanner` reads the UTF-8 text in chunks and
lets a reader step through objects and arrays by hand (:meth:`object_keys`,
:meth:`array_items`), decoding each member it wants with the standard
library's ``json.JSONDecoder.raw_decode`` on a sliding text buffer. Only the
member being decoded, plus one chunk of look-ahead, is in memory at a time.

A member longer than ``max_value_chars`` is not decoded: it is passed over
with a structural scan (brackets and strings only), without building it, and
reported as :class:`OversizedValue` so the reader can note what it skipped.
Invalid JSON, or text that is not UTF-8, raises :class:`JsonStreamError`.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

DEFAULT_CHUNK = 1 << 20
"""Characters read ahead of the decoding position before each value."""

_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")
_STRUCTURE = re.compile(r'["{}\[\]]')
_STRING_END = re.compile(r'["\\]')
_DECODER = json.JSONDecoder()
_NUMBER_CHARACTERS = frozenset("0123456789.eE+-")
_LONGEST_NUMBER_TAIL = 64
"""Characters a number cut short can still lack: the decoder stops at '.', 'e'."""


class JsonStreamError(Exception):
    """The document is not valid JSON (or not UTF-8) at ``offset``."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} at character {offset}")
        self.reason = reason
        self.offset = offset


@dataclass(frozen=True, slots=True)
class OversizedValue:
    """Stands for a member that was passed over because it was too long."""

    chars: int
    """Its length in characters."""


class JsonScanner:
    """Step through a JSON document read from a binary stream.

    The caller drives the walk: :meth:`expect` an opening bracket, then iterate
    :meth:`object_keys` (consuming each member with :meth:`value`) or
    :meth:`array_items`. ``bytes_read`` tells how far into the stream the
    scanner has read, for progress.
    """

    def __init__(
        self,
        stream: BinaryIO,
        max_value_chars: int,
        chunk: int = DEFAULT_CHUNK,
    ) -> None:
        self._stream = stream
        self._text = codecs.getincrementaldecoder("utf-8-sig")()
        self._chunk = chunk
        self._max_value_chars = max_value_chars
        self._buffer = ""
        self._position = 0
        self._dropped = 0
        """Characters dropped from the front of the buffer so far."""
        self._end_of_file = False
        self.bytes_read = 0

    def peek(self) -> str:
        """The next character that is not whitespace, or "" at the end."""
        while True:
            found = _NOT_WHITESPACE.search(self._buffer, self._position)
            if found is not None:
                self._position = found.start()
                return self._buffer[self._position]
            self._position = len(self._buffer)
            if not self._read(self._chunk):
                return ""

    def expect(self, character: str, what: str) -> None:
        """Consume ``character``, or raise naming ``what`` was expected."""
        if self.peek() != character:
            raise self._error(f"expected {what}")
        self._position += 1

    def object_keys(self) -> Iterator[str]:
        """The keys of the object whose ``{`` was just consumed.

        After each key the caller must consume its value, with :meth:`value`
        or by walking into it, before asking for the next key.
        """
        if self.peek() == "}":
            self._position += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise self._error("expected an object key (a string)")
            self.expect(":", "':' after an object key")
            yield key
            if self.peek() == "}":
                self._position += 1
                return
            self.expect(",", "',' or '}' after an object member")

    def array_items(self) -> Iterator[Any]:
        """The decoded items of the array whose ``[`` was just consumed."""
        if self.peek() == "]":
            self._position += 1
            return
        while True:
            yield self.value()
            if self.peek() == "]":
                self._position += 1
                return
            self.expect(",", "',' or ']' after an array item")

    def value(self) -> Any:
        """Decode the next value, or pass over it if longer than the limit."""
        self.peek()
        if len(self._buffer) - self._position < self._chunk:
            self._read(self._chunk)
        while True:
            try:
                decoded, end = _DECODER.raw_decode(self._buffer, self._position)
            except RecursionError:
                raise self._error("values nested too deeply") from None
            except ValueError as error:  # JSONDecodeError, or an over-long integer
                pending = len(self._buffer) - self._position
                if self._end_of_file:
                    raise self._error(_reason(error)) from None
                if pending >= self._max_value_chars:
                    return self._pass_over()
                self._read(max(self._chunk, pending))
                continue
            # A number cut by the end of the buffer ("12" of "12.5e3") decodes
            # as a shorter one: read on when one ends near the buffer's end.
            if self._may_continue(decoded, end) and self._read(self._chunk):
                continue
            self._position = end
            return decoded

    def _may_continue(self, decoded: Any, end: int) -> bool:
        """Whether a value decoded up to ``end`` may go on past the buffer."""
        if end == len(self._buffer):
            return True
        is_number = isinstance(decoded, int | float) and not isinstance(decoded, bool)
        return (
            is_number
            and len(self._buffer) - end < _LONGEST_NUMBER_TAIL
            and self._buffer[end] in _NUMBER_CHARACTERS
        )

    def _pass_over(self) -> OversizedValue:
        """Scan past a string, array or object without decoding it.

        Only brackets, quotes and backslashes are looked at, and the text is
        dropped as the scan goes, so memory stays flat however long the value.
        """
        start = self._dropped + self._position
        if self._buffer[self._position] not in '"[{':
            raise self._error("a number or literal too long to be read")
        depth = 0
        in_string = False
        scan = self._position
        while True:
            found = (_STRING_END if in_string else _STRUCTURE).search(
                self._buffer, scan
            )
            if found is None:
                # Drop what was scanned; ``scan`` may point one past the buffer
                # when a backslash ended it, so keep that offset across the read.
                self._position = min(scan, len(self._buffer))
                ahead = scan - self._position
                if not self._read(self._chunk):
                    raise self._error("the document ends inside a value")
                scan = self._position + ahead
                continue
            mark = found.group()
            scan = found.end()
            if mark == "\\":
                scan += 1
                continue
            if mark == '"':
                in_string = not in_string
            elif mark in "[{":
                depth += 1
            else:
                depth -= 1
            if depth == 0 and not in_string:
                self._position = scan
                return OversizedValue(self._dropped + scan - start)

    def _read(self, size: int) -> bool:
        """Append at least one chunk of text; False at the end of the stream."""
        if self._end_of_file:
            return False
        raw = self._stream.read(size)
        self.bytes_read += len(raw)
        try:
            text = self._text.decode(raw, final=not raw)
        except UnicodeDecodeError as error:
            raise JsonStreamError(
                f"not UTF-8 text ({error.reason})", self._dropped + len(self._buffer)
            ) from None
        if not raw:
            self._end_of_file = True
        self._dropped += self._position
        self._buffer = self._buffer[self._position :] + text
        self._position = 0
        return bool(raw)

    def _error(self, reason: str) -> JsonStreamError:
        return JsonStreamError(reason, self._dropped + self._position)


def _reason(error: ValueError) -> str:
    """The decoder's message without its line and column, which are the buffer's."""
    if isinstance(error, json.JSONDecodeError):
        return error.msg[:1].lower() + error.msg[1:]
    return str(error)
