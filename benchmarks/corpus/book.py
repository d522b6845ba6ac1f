"""Planting: how a toy module records the values it puts into its traffic.

A :class:`Wire` is one value as written at one place of a message, with the
encodings it went through; a :class:`LabelBook` collects one session's
plantings, each tied to a message id, and turns them into
:class:`~.labels.Label` records once the capture knows each message's frame
numbers. Before it does, it refuses two plantings of one message that the
scorer could not tell apart (:func:`ambiguous`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from benchmarks.corpus.labels import Label, same_value


@dataclass(frozen=True, slots=True)
class Wire:
    """A planted value as written at one place of a message.

    Built by :mod:`benchmarks.corpus.encode`: each transformation wraps the
    previous one, so the outermost step comes first in :attr:`steps`.
    """

    text: str
    """What goes into the message at this place."""
    value: str
    """What a classifier match would report once the steps are undone."""
    steps: tuple[str, ...] = ()
    """Encodings applied, outermost first ("url-encode", "base64", "sha256"...)."""
    forms: tuple[str, ...] = ()
    """Other spellings of the value a match may report (its base64 text...)."""

    def spellings(self) -> tuple[str, ...]:
        """The value and every other spelling of it, without repeats."""
        return tuple(dict.fromkeys((self.value, *self.forms, self.text)))


@dataclass(frozen=True, slots=True)
class Planting:
    """A label before its message has frame numbers: tied to a message id."""

    message: str
    """The id the capture gave the message, resolved to frames on writing."""
    category: str
    wire: Wire
    channel: str
    location: str
    outer: tuple[str, ...] = ()
    """Encodings of the message around the value (gzip, json...), outermost first."""
    whole: bool = False
    decoy: bool = False
    note: str = ""


@dataclass(slots=True)
class LabelBook:
    """Collects the plantings of one session, then turns them into labels."""

    session: str
    plantings: list[Planting] = field(default_factory=list)

    def positive(
        self,
        message: str,
        category: str,
        wire: Wire,
        channel: str,
        location: str,
        outer: Sequence[str] = (),
        note: str = "",
    ) -> None:
        """Record personal data planted in a message: it must be found."""
        self.plantings.append(
            Planting(
                message, category, wire, channel, location, tuple(outer), note=note
            )
        )

    def decoy(
        self,
        message: str,
        category: str,
        wire: Wire,
        channel: str,
        location: str,
        note: str,
        outer: Sequence[str] = (),
        whole: bool = False,
    ) -> None:
        """Record something a naive tool would flag as ``category``: it must not be."""
        self.plantings.append(
            Planting(
                message,
                category,
                wire,
                channel,
                location,
                tuple(outer),
                whole=whole,
                decoy=True,
                note=note,
            )
        )

    def media(
        self,
        message: str,
        category: str,
        media_type: str,
        channel: str,
        location: str,
        outer: Sequence[str] = (),
        note: str = "",
    ) -> None:
        """Record an uploaded recording, picture or video: the whole body counts."""
        wire = Wire(media_type, media_type)
        self.plantings.append(
            Planting(
                message,
                category,
                wire,
                channel,
                location,
                tuple(outer),
                whole=True,
                note=note,
            )
        )

    def labels(
        self, evidence: Mapping[str, tuple[str, tuple[int, ...]]]
    ) -> list[Label]:
        """The labels, given each message id's (file, frame numbers).

        Raises ValueError when two labels of one message could be confused
        (:func:`ambiguous`): the scorer tells labels of one observation apart
        by category and value only.
        """
        _check_distinct(self.plantings)
        labels = []
        for number, planting in enumerate(self.plantings, start=1):
            file, frames = evidence[planting.message]
            wire = planting.wire
            forms = tuple(form for form in wire.spellings() if form != wire.value)
            labels.append(
                Label(
                    id=f"{self.session}-{number:03d}",
                    session=self.session,
                    category=planting.category,
                    value=wire.value,
                    channel=planting.channel,
                    location=planting.location,
                    encoding=(*planting.outer, *wire.steps),
                    file=file,
                    frames=frames,
                    forms=() if planting.whole else forms,
                    whole=planting.whole,
                    decoy=planting.decoy,
                    note=planting.note,
                )
            )
        return labels


def _check_distinct(plantings: Sequence[Planting]) -> None:
    """Raise ValueError naming the first two plantings :func:`ambiguous` finds."""
    by_message: dict[str, list[Planting]] = {}
    for planting in plantings:
        by_message.setdefault(planting.message, []).append(planting)
    for message, planted in by_message.items():
        for index, first in enumerate(planted):
            for second in planted[index + 1 :]:
                if ambiguous(first, second):
                    raise ValueError(
                        f"{message}: {first.category} {first.wire.value!r} and "
                        f"{second.category} {second.wire.value!r} cannot be told "
                        "apart; plant them in different messages"
                    )


def ambiguous(first: Planting, second: Planting) -> bool:
    """Whether one flag could explain both plantings of the same message.

    Two decoys may overlap (a flag on either is a flagged decoy); otherwise
    two values overlap when one spelling of each matches (:func:`same_value`)
    and they share a category or one is a decoy; two whole bodies of one
    category always overlap.
    """
    if first.decoy and second.decoy:
        return False
    if first.whole or second.whole:
        return first.whole and second.whole and first.category == second.category
    if first.category != second.category and not (first.decoy or second.decoy):
        return False
    return any(
        same_value(one, second.wire.spellings()) for one in first.wire.spellings()
    )
