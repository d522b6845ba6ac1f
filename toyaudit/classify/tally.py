"""Count the hits of one observation: the first place of each, and how many.

The classifier numbers every field of an observation in the order it appears
(its *ordinal*) and hands each field's cached result here. A hit is counted
by the identity of its :class:`~.fieldsearch.Found`: results are cached by
place (list indices aside), decoding and value, so the same object comes back
for the same value in every element of a list, and never for another place.
The first location keeps each object alive meanwhile, so an identity cannot
be reused within one observation.
"""

from __future__ import annotations

from toyaudit.classify.fieldhits import FieldResult, Found

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
        return sorted(
            ((*self.first[identity], count) for identity, count in self.counts.items()),
            key=lambda hit: hit[0],
        )
