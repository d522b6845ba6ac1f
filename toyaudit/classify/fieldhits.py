"""A field's hits, and which of them it keeps.

Searching a field (:mod:`.fieldsearch`) can find the same value several
times over: the persona's name, a name pattern and a key rule all on one
JSON leaf; a JWT in a Bearer header seen by two detectors of one category.
:func:`kept_hits` keeps, per place and category, only the strongest kind of
evidence: a persona hit hides a pattern or key hit on the same value, a
pattern hit hides a key hit. It compares hits in pairs, so a field is first
cut to its first :data:`MAX_FIELD_HITS` hits.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from dataclasses import dataclass
from itertools import chain

from toyaudit.classify.fields import limit_step
from toyaudit.classify.records import Method

logger = logging.getLogger(__name__)

MAX_FIELD_HITS = 256
"""Hits kept from one field and what it decodes to, before the weaker are dropped."""
_METHOD_RANK = {method: rank for rank, method in enumerate(Method)}


@dataclass(frozen=True, slots=True)
class Found:
    """A hit in one field, before it becomes a :class:`~.records.Match`."""

    suffix: str
    """Where in the field, appended to its location ("" or ", JSON field 'x'")."""
    decoding: tuple[str, ...]
    rule: str
    category_id: str
    method: Method
    value: str
    confidence: float
    covers: tuple[str, ...]
    """Values this hit vouches for, compared when weaker hits are dropped."""
    persona_field: str | None = None
    form: str | None = None
    whole: bool = False
    """For a persona hit: whether it is (nearly) the whole field value, and so
    says what the field is rather than what it mentions."""


FieldResult = tuple[int, tuple[Found, ...]]
"""How many fields decoding a field gave (blobs aside), and the hits kept
among them and its blobs."""


def kept_hits(found: list[Found]) -> tuple[Found, ...]:
    """The hits a field keeps, in order: bounded, then the strongest only."""
    return tuple(strongest(_bounded(found)))


def _bounded(found: list[Found]) -> list[Found]:
    """The first :data:`MAX_FIELD_HITS` hits of a field, marked when more were cut.

    :func:`strongest` compares hits in pairs, so a field with thousands of
    them (a hostile body repeating the child's name) would cost millions of
    comparisons. The hits kept carry the step ``limit:max_hits`` in their
    decoding chain, so the finding says that what it shows may not be all.
    """
    if len(found) <= MAX_FIELD_HITS:
        return found
    logger.debug("%d hits in one field; the first %d kept", len(found), MAX_FIELD_HITS)
    step = limit_step("max_hits")
    return [
        dataclasses.replace(item, decoding=(*item.decoding, step))
        for item in found[:MAX_FIELD_HITS]
    ]


def strongest(found: list[Found]) -> list[Found]:
    """Drop hits that a stronger hit on the same place and category explains.

    A weaker hit goes when a stronger one in the same place and category covers
    an overlapping value, and always when it is a key-only hit (it speaks for
    the whole field). A persona hit that is (nearly) the whole value is ground
    truth about what the value is, so it also hides weaker hits of other
    categories in the same place (the Wi-Fi password in a field named
    ``password`` is not an account password); one that is only part of the
    value does not (a chat message that names the child is still a chat
    message). Repeats of the same persona field in one place (its base64
    form, then its plain form once decoded) are reported once.
    """
    if len(found) < 2:
        return found
    by_place: defaultdict[tuple[str, str], list[Found]] = defaultdict(list)
    persona_at: defaultdict[str, list[Found]] = defaultdict(list)
    for item in found:
        by_place[(item.suffix, item.category_id)].append(item)
        if item.method is Method.PERSONA and item.whole:
            persona_at[item.suffix].append(item)
    kept: list[Found] = []
    kept_at: defaultdict[tuple[str, str], list[Found]] = defaultdict(list)
    seen: set[tuple[str, str, str, str]] = set()
    for item in found:
        place = (item.suffix, item.category_id)
        rivals = chain(by_place[place], persona_at[place[0]])
        if any(_explains(other, item) for other in rivals):
            continue
        if item.persona_field is None and any(
            _repeats(other, item) for other in kept_at[place]
        ):
            continue
        if item.persona_field is not None:
            identity = (*place, "persona", item.persona_field)
        else:
            identity = (*place, item.rule, item.value)
        if identity not in seen:
            seen.add(identity)
            kept.append(item)
            kept_at[place].append(item)
    return kept


def _explains(stronger: Found, weaker: Found) -> bool:
    if _METHOD_RANK[stronger.method] >= _METHOD_RANK[weaker.method]:
        return False
    return weaker.method is Method.KEY or _overlap(stronger, weaker)


def _repeats(earlier: Found, later: Found) -> bool:
    """Two detectors of one category saw the same value (a JWT in a Bearer header)."""
    return earlier.method is later.method and _overlap(earlier, later)


def _overlap(first: Found, second: Found) -> bool:
    for one in first.covers:
        for other in second.covers:
            one_lower, other_lower = one.lower(), other.lower()
            if one_lower in other_lower or other_lower in one_lower:
                return True
    return False
