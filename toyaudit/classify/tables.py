"""Count a JSON list of like objects column by column.

Telemetry is the bulk of what a toy sends: a batch of eighty events, each an
object with the same ten keys (a timestamp, the device id, the MAC, the
Wi-Fi name, a location...). Walking such a list leaf by leaf costs a
microsecond of Python per leaf. Read as a table instead, each column (every
event's ``mac``) is gathered, looked up in the result cache and counted with
a handful of calls that loop in C (``map``, ``zip``, :class:`Counter`), and
Python only loops over the few distinct results of each column.

The counts, first locations and order are those a leaf-by-leaf walk would
give. Only lists of objects with the same keys in the same order (nested
objects alike) are read as tables; any other list is left to that walk.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from toyaudit.classify.fieldhits import FieldResult
from toyaudit.classify.fieldsearch import FieldSearch
from toyaudit.classify.tally import Tally

logger = logging.getLogger(__name__)

MIN_ROWS = 8
"""Shorter lists are walked leaf by leaf; a table would not pay for itself."""

Column = tuple[str, list[Any]]
"""A key path under each object (".loc.lat") and each object's value there."""
NewLeaves = dict[tuple[str, str], list[tuple[int, str]]]
"""Leaves not in the cache: (shape, value) -> [(ordinal, path), ...]."""

_TEXT = {str}
_SKIPPED = frozenset({type(None), bool})
"""Values that are never personal data and that a walk skips too."""


def columns(rows: Sequence[Any]) -> list[Column] | None:
    """The text columns of a list of objects, nested objects flattened.

    None when the list is not such a table: an element that is not an
    object, objects whose keys differ (or come in another order), or a value
    that is a list (or anything but text, an object, a boolean or null).
    """
    if set(map(type, rows)) != {dict} or len(set(map(tuple, rows))) != 1:
        return None
    found: list[Column] = []
    for key in rows[0]:
        values = [row[key] for row in rows]
        kinds = set(map(type, values)) - _SKIPPED
        if kinds <= {str}:
            found.append((f".{key}", values))
        elif kinds == {dict} and len(kinds) == len(set(map(type, values))):
            inner = columns(values)
            if inner is None:
                return None
            found += [(f".{key}{suffix}", column) for suffix, column in inner]
        else:
            return None
    return found


@dataclass(frozen=True, slots=True)
class TableContext:
    """The JSON document a table sits in, and where its cells' results go."""

    label: str
    """Location prefix of the document's fields, e.g. "JSON body field"."""
    part: str
    results: dict[tuple[str, str], FieldResult]
    """The document kind's result cache, by (shape, value)."""
    new: NewLeaves
    """The document's leaves still to search, filled here."""
    search: FieldSearch


def count_table(
    table: list[Column], path: str, shape: str, context: TableContext, tally: Tally
) -> None:
    """Count every cell of a table whose rows sit at ``path`` (shape ``shape``).

    Cells found in the context's results are counted in ``tally``. A
    column's other cells are screened together (:meth:`FieldSearch.worth_searching`):
    those that may hold something are added to the context's ``new``, to be
    searched with the rest of the document's new leaves, and the rest (the
    timestamps and counters that make up most new cells) hold nothing and
    are neither searched nor cached.
    Row ``i``'s cell in column ``k`` gets the ordinal a leaf-by-leaf walk
    would give it, so first locations and order do not depend on the path.
    Each text cell costs the tally's budget one field.
    """
    base, stride, cells = tally.ordinal, len(table), 0
    rows = len(table[0][1]) if table else 0
    for rank, (suffix, values) in enumerate(table):
        cell_shape = f"{shape}[]{suffix}"
        present: Sequence[int]
        if set(map(type, values)) == _TEXT:  # the usual column: text in every row
            present, texts = range(len(values)), values
        else:
            present = [row for row, value in enumerate(values) if type(value) is str]
            texts = [values[row] for row in present]
        cells += len(texts)
        keys = zip(repeat(cell_shape), texts, strict=False)
        found = list(map(context.results.get, keys))
        identities = list(map(id, found))
        backwards = zip(
            reversed(identities), range(len(identities) - 1, -1, -1), strict=True
        )
        first = dict(backwards)  # the last write for an identity is its first row
        # Most columns hold one result in every row: the same value, or new ones.
        counted = (
            Counter(identities).items()
            if len(first) > 1
            else [(identity, len(identities)) for identity in first]
        )
        for identity, times in counted:
            where = first[identity]
            result = found[where]
            if result is None:
                unknown = [index for index, cell in enumerate(found) if cell is None]
                values = [texts[index] for index in unknown]
                for rank_in in context.search.worth_searching(
                    context.part, cell_shape, values
                ):
                    row = present[unknown[rank_in]]
                    context.new.setdefault((cell_shape, values[rank_in]), []).append(
                        (base + row * stride + rank + 1, f"{path}[{row}]{suffix}")
                    )
                continue
            row = present[where]
            location = f"{context.label} '{path}[{row}]{suffix}'"
            tally.add(base + row * stride + rank + 1, location, result, times, 0)
    tally.ordinal = base + rows * stride
    tally.budget -= cells
