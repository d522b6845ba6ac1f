"""Score classifier flags against the corpus labels: precision, recall, F1.

Pure functions over two lists, so they can be tested on a handful of
hand-made records. A :class:`Flag` is one classifier match reduced to what is
compared; a :class:`~benchmarks.corpus.labels.Label` is one planted value.

The matching rule
-----------------

A flag **explains** a positive label when all three hold:

1. *same observation*: same session, same evidence file, and at least one
   frame number (or ``ble.jsonl`` line) in common;
2. *same category* id;
3. *same value*: after trimming and case-folding, the flag's value equals one
   of the label's spellings (its decoded value or a form it had on the way:
   URL-encoded, base64, upper-cased...), or one contains the other and the
   shorter has at least :data:`MIN_CONTAINED` characters (a key match reports
   ``geo:51.47793,-0.00147`` where the label holds the coordinates). For a
   whole-body label (an uploaded recording or picture) the value is not
   compared: the classifier names the format, not a value. A flag by field
   name alone that stands for several places (the ``event`` of every element
   of a telemetry batch: one match, the first value, counted once per
   element) explains every label of its category at one of those places:
   the label's location equals the flag's once list indices are set aside.

The generator never plants, in one message, two values that rule 3 could
confuse within a category (:func:`~benchmarks.corpus.book.ambiguous`), so a
flag cannot find a label by landing on its neighbour; locations are hints
for people and are not compared.

A label is found (TP) when any flag explains it, and missed (FN) otherwise.
A flag that explains no positive label is a false positive (FP) of its own
category; if it falls on a decoy of the same observation (same value, or for
a whole-body decoy the same category) that decoy counts as flagged. So one
value flagged twice in a message costs nothing, and a correct value under
the wrong category is one FN and one FP. Precision is TP / (TP + FP), recall
TP / (TP + FN); totals are micro-averaged (summed counts) over every
category.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.corpus.labels import MIN_CONTAINED, Label, match_strength, same_value

__all__ = ["MIN_CONTAINED", "FalsePositive", "Flag", "Score", "Tally", "score"]


@dataclass(frozen=True, slots=True)
class Flag:
    """One classifier match, reduced to what scoring compares."""

    session: str
    file: str
    frames: tuple[int, ...]
    """Frame numbers of the observation (the line number for ``ble.jsonl``)."""
    category: str
    value: str
    rule: str = ""
    location: str = ""
    by_name_places: int = 0
    """For a match by field name alone (:attr:`~toyaudit.classify.records.
    Method.KEY`), how many places it stands for, list indices aside (its
    ``count``); 0 for every other match."""


@dataclass(frozen=True, slots=True)
class FalsePositive:
    """A flag that explains no positive label, and the decoy it hit, if any."""

    flag: Flag
    decoy: Label | None


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts of one category (or of all of them) and the figures they give."""

    category: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float | None:
        """TP / (TP + FP); None when nothing was flagged."""
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """TP / (TP + FN); None when nothing was planted."""
        planted = self.true_positives + self.false_negatives
        return self.true_positives / planted if planted else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall; 0 when either is 0 or undefined
        while the other is defined, None when both are undefined."""
        precision, recall = self.precision, self.recall
        if precision is None and recall is None:
            return None
        if not precision or not recall:
            return 0.0
        return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True, slots=True)
class Score:
    """Everything the benchmark prints."""

    tallies: tuple[Tally, ...]
    """One per category, in the order asked for, then any others seen."""
    overall: Tally
    """Micro-averaged: the sums of every category's counts."""
    false_positives: tuple[FalsePositive, ...]
    missed: tuple[Label, ...]
    decoys: int
    """Decoys planted."""

    def flagged_decoys(self) -> dict[str, tuple[Label, list[Flag]]]:
        """Each decoy that was flagged, by label id, with the flags that hit it."""
        hit: dict[str, tuple[Label, list[Flag]]] = {}
        for false_positive in self.false_positives:
            if false_positive.decoy is not None:
                decoy = false_positive.decoy
                hit.setdefault(decoy.id, (decoy, []))[1].append(false_positive.flag)
        return hit


def explains(flag: Flag, label: Label) -> bool:
    """Whether ``flag`` finds the positive ``label`` (rules 2 and 3; 1 is the index)."""
    if flag.category != label.category:
        return False
    if label.whole or same_value(flag.value, _spellings(label)):
        return True
    return flag.by_name_places > 1 and _named_place(flag.location) == _named_place(
        label.location
    )


_LIST_INDEX = re.compile(r"\[[0-9]+\]")


def _named_place(location: str) -> str:
    """A location, list indices aside: ``events[0].event`` is ``events[].event``."""
    return _LIST_INDEX.sub("[]", location)


def hits_decoy(flag: Flag, label: Label) -> int:
    """How closely ``flag`` lands on the decoy ``label`` of the same observation.

    0 when it does not; a whole-body decoy is hit (2) by a flag of its
    category; otherwise :func:`~benchmarks.corpus.labels.match_strength`.
    """
    if label.whole:
        return 2 if flag.category == label.category else 0
    return match_strength(flag.value, _spellings(label))


def _spellings(label: Label) -> tuple[str, ...]:
    return (label.value, *label.forms)


def score(
    labels: Sequence[Label], flags: Sequence[Flag], categories: Sequence[str] = ()
) -> Score:
    """Compare flags with labels by the matching rule of this module's docstring."""
    by_place: defaultdict[tuple[str, str, int], list[Label]] = defaultdict(list)
    for label in labels:
        for frame in label.frames:
            by_place[(label.session, label.file, frame)].append(label)
    found: set[str] = set()
    false_positives = []
    for flag in flags:
        nearby = _labels_near(flag, by_place)
        explained = [
            label.id for label in nearby if not label.decoy and explains(flag, label)
        ]
        if explained:
            found.update(explained)
            continue
        false_positives.append(FalsePositive(flag, _closest_decoy(flag, nearby)))
    positives = [label for label in labels if not label.decoy]
    missed = tuple(label for label in positives if label.id not in found)
    tallies = _tallies(positives, found, false_positives, categories)
    overall = Tally(
        "overall",
        sum(tally.true_positives for tally in tallies),
        sum(tally.false_positives for tally in tallies),
        sum(tally.false_negatives for tally in tallies),
    )
    decoys = len(labels) - len(positives)
    return Score(tallies, overall, tuple(false_positives), missed, decoys)


def _closest_decoy(flag: Flag, nearby: Sequence[Label]) -> Label | None:
    """The decoy a false positive landed on: an equal value before a containing one."""
    best, best_strength = None, 0
    for label in nearby:
        strength = hits_decoy(flag, label) if label.decoy else 0
        if strength > best_strength:
            best, best_strength = label, strength
    return best


def _labels_near(
    flag: Flag, by_place: dict[tuple[str, str, int], list[Label]]
) -> list[Label]:
    """Labels that share an observation with the flag (rule 1), each once."""
    nearby: dict[str, Label] = {}
    for frame in flag.frames:
        for label in by_place.get((flag.session, flag.file, frame), ()):
            nearby.setdefault(label.id, label)
    return list(nearby.values())


def _tallies(
    positives: Sequence[Label],
    found: set[str],
    false_positives: Sequence[FalsePositive],
    categories: Sequence[str],
) -> tuple[Tally, ...]:
    """Per-category counts, in the order of ``categories`` and then as first seen."""
    order = list(dict.fromkeys(categories))
    true_positives: defaultdict[str, int] = defaultdict(int)
    false_negatives: defaultdict[str, int] = defaultdict(int)
    wrong: defaultdict[str, int] = defaultdict(int)
    for label in positives:
        order.append(label.category)
        if label.id in found:
            true_positives[label.category] += 1
        else:
            false_negatives[label.category] += 1
    for false_positive in false_positives:
        order.append(false_positive.flag.category)
        wrong[false_positive.flag.category] += 1
    return tuple(
        Tally(
            category,
            true_positives[category],
            wrong[category],
            false_negatives[category],
        )
        for category in dict.fromkeys(order)
    )
