"""Read ``KEY:value;KEY:value`` text, as small firmwares and serial consoles write it.

A toy without a JSON library often sends a record as named values joined by
semicolons or line breaks: ``NAME:Mia;DOB:20180314;SEX:F`` written to a GATT
characteristic, ``ssid=Home\\npsk=...`` over a raw socket. Read as one text,
the names are lost, and with them what a bare ``F`` or ``2`` means; read as
pairs, each value is a field under its own name, like a JSON or form field.

Only text that is wholly such pairs is split: at least two pieces, every
piece a short name (a letter, then letters, digits, ``_``, ``-`` or ``.``;
not a capitalised word, which is more often a speaker in a transcript) and
``:`` or ``=`` before its value. Prose, a chat transcript, a MAC address, a
URL or a time of day does not qualify and stays one text.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

_PIECES = re.compile(r"[^;\r\n]+")
"""A piece between separators: semicolons and line breaks."""
_MAX_NAME = 32
"""Longest name taken for a key; a longer "name" is text that has a colon."""
_MIN_PAIRS = 2
"""Fewest pairs that make a record: one alone is as often a "note: text"."""


def key_value_pairs(text: str) -> list[tuple[str, str]] | None:
    """The (name, value) pairs of ``text``, or None if it is not wholly pairs.

    Values are stripped of surrounding blanks and may be empty; names keep
    their case (rules match names lower-cased).
    """
    if ";" not in text and "\n" not in text:
        return None
    pairs = []
    for found in _PIECES.finditer(text):  # lazily: most texts fail at once
        piece = found.group(0).strip()
        if not piece:
            continue
        pair = _pair(piece)
        if pair is None:
            return None
        pairs.append(pair)
    return pairs if len(pairs) >= _MIN_PAIRS else None


def _pair(piece: str) -> tuple[str, str] | None:
    """One ``name:value`` or ``name=value`` piece, or None."""
    cut = min((at for at in (piece.find(":"), piece.find("=")) if at > 0), default=-1)
    if cut < 0 or piece.startswith("//", cut + 1):
        return None  # no separator, or a URL's scheme ("https://...")
    name, value = piece[:cut].strip(), piece[cut + 1 :].strip()
    return (name, value) if _is_name(name) else None


def _is_name(name: str) -> bool:
    """A letter, then letters, digits, ``_``, ``-`` or ``.``: at most 32 of them.

    Not a capitalised word: ``Mia: hi there`` is a line of a chat
    transcript, whose speaker must stay in the searched text, while
    firmwares write ``NAME``, ``name`` or ``deviceId``.
    """
    if not name or len(name) > _MAX_NAME or not name[0].isalpha():
        return False
    if name[0].isupper() and not name.isupper():
        return False
    rest = name.replace("_", "").replace("-", "").replace(".", "")
    return rest.isascii() and rest.isalnum()
