"""Count the hits of one observation: the first place of each, and how many.

The classifier numbers every field of an observation in the order it appears
(its *ordinal*) and hands each field's cached result here. A hit is counted
by the identity of its :class:`~.fieldsearch.Found`: results are cached by
place (list indices aside), decoding and value, so the same object comes back
for the same value in every element of a list, and never for another place.
The first location keeps each object alive meanwhile, so an identity cannot
be reused within one observation.

A hit by field name alone (:attr:`~.records.Method.KEY`: a detector that
reads the name, not the value) says the same thing in every element of a
list whatever the value: the ``battery`` of each of eighty events in a
telemetry batch. Such hits at one place, list indices aside, are one hit:
the first, counted once per field. Otherwise a batch would list every
distinct battery level as a finding's proof, crowding out the other
requests that send the same kind of data.
"""

from __future__ import annotations

import re

from toyaudit.classify.fieldhits import FieldResult, Found
from toyaudit.classify.records import Method

Hit = tuple[int, str, Found, int]
"""Ordinal of the first field holding it, its location, the hit, and how many
fields hold it."""


class Tally:
    """The hits of one observation, and the field budget left to spend."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        """Fields still to search before the ``max_fields`` limit: each field
        of the observation costs one, whatever its decoding reveals (which
        ``max_depth`` and ``max_body_bytes`` bound)."""
        self.ordinal = 0
        """Fields numbered so far, in the order they appear."""
        self.first: dict[int, tuple[int, str, Found]] = {}
        """By hit identity: where it was first seen (ordinal, location) and it."""
        self.counts: dict[int, int] = {}
        """By hit identity: how many fields held it."""

    def next(self) -> int:
        """Number the next field."""
        self.ordinal += 1
        return self.ordinal

    def add(
        self,
        ordinal: int,
        location: str,
        result: FieldResult,
        times: int = 1,
        spent: int | None = None,
    ) -> None:
        """Count the hits of ``times`` fields first seen at ``ordinal``/``location``.

        ``spent`` is what they cost of the budget, ``times`` unless the
        caller has already paid it.
        """
        _, hits = result
        self.budget -= times if spent is None else spent
        counts, first = self.counts, self.first
        for item in hits:
            identity = id(item)
            if identity in counts:
                counts[identity] += times
                if ordinal < first[identity][0]:
                    first[identity] = (ordinal, location + item.suffix, item)
            else:
                counts[identity] = times
                first[identity] = (ordinal, location + item.suffix, item)

    def hits(self) -> list[Hit]:
        """Each hit at its first location, with its count, in field order."""
        ordered = sorted(
            ((*self.first[identity], count) for identity, count in self.counts.items()),
            key=lambda hit: hit[0],
        )
        return _one_per_named_place(ordered)


_LIST_INDEX = re.compile(r"\[[0-9]+\]")


def _one_per_named_place(hits: list[Hit]) -> list[Hit]:
    """Merge the key-only hits of one rule at one place, list indices aside.

    The first such hit stays, where it was, with the counts of all of them.
    """
    merged: list[Hit] = []
    at: dict[tuple[str, str, tuple[str, ...], str], int] = {}
    for hit in hits:
        _, location, item, count = hit
        if item.method is not Method.KEY or "[" not in location:
            merged.append(hit)
            continue
        place = (
            item.rule,
            item.category_id,
            item.decoding,
            _LIST_INDEX.sub("[]", location),
        )
        index = at.get(place)
        if index is None:
            at[place] = len(merged)
            merged.append(hit)
        else:
            kept = merged[index]
            merged[index] = (kept[0], kept[1], kept[2], kept[3] + count)
    return merged
