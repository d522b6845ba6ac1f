"""The named fields of an HTTP request's head: path, query, headers, cookies.

Each becomes a :class:`~.fields.Field` with a name detectors can match:
a query parameter's or header's own name, a cookie's name, and for a path
segment the collection word before it (``/children/c_12525``). Form bodies
are split like query strings (:func:`pair_fields`).
"""

from __future__ import annotations

import logging
from urllib.parse import unquote, unquote_plus

from toyaudit.classify.fields import DecodingRules, Field

logger = logging.getLogger(__name__)


def path_fields(path: str) -> list[Field]:
    """Path segments, each named by the collection before it, if any.

    REST paths put an id after the collection it belongs to
    (``/v2/children/c_12525/profile``), so a segment that follows a word
    (letters, ``_``, ``-``) is named by that word: ``children`` names
    ``c_12525``, while ``profile``, after an id, and the first segment have
    no name.
    """
    segments = [segment for segment in path.split("/") if segment]
    fields = []
    name: str | None = None
    for number, raw in enumerate(segments, start=1):
        value = unquote(raw)
        decoding = ("url-decode",) if value != raw else ()
        fields.append(Field("path", name, f"path segment {number}", decoding, value))
        name = value if _collection_word(value) else None
    return fields


def _collection_word(segment: str) -> bool:
    """Whether a path segment is a word that may name the next one."""
    return segment.replace("_", "").replace("-", "").isalpha() and segment.isascii()


def pair_fields(
    text: str, part: str, label: str, decoding: tuple[str, ...]
) -> list[Field]:
    """``name=value&...`` pairs (a query string or form body), URL-decoded.

    ``label`` starts each location ("query parameter"); a value that
    decoding changed records ``url-decode`` after ``decoding``.
    """
    fields = []
    for piece in text.split("&"):
        if not piece:
            continue
        raw_name, _, raw_value = piece.partition("=")
        name, value = unquote_plus(raw_name), unquote_plus(raw_value)
        steps = (*decoding, "url-decode") if value != raw_value else decoding
        fields.append(Field(part, name, f"{label} '{name}'", steps, value))
    return fields


def header_fields(
    headers: tuple[tuple[str, str], ...], rules: DecodingRules
) -> list[Field]:
    """Headers by lower-case name, cookies split; ``skip_headers`` left out."""
    fields = []
    for name, value in headers:
        lower = name.lower()
        if lower in rules.skip_headers:
            continue
        if lower == "cookie":
            fields += _cookie_fields(value)
            continue
        fields.append(Field("header", lower, f"header '{name}'", (), value))
    return fields


def _cookie_fields(header: str) -> list[Field]:
    fields = []
    for piece in header.split(";"):
        name, separator, value = piece.strip().partition("=")
        if separator and name:
            fields.append(Field("cookie", name, f"cookie '{name}'", (), value))
    return fields
