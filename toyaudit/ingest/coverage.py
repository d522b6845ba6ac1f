"""What the readers could not read, kept so that shards of one audit merge exactly.

A :class:`Coverage` collects what a report shows under "what this audit did
not see", in two lists. ``problems`` are input that could not be read: a
truncated pcap, an unreadable header, a TLS connection whose decryption
failed; an audit with any ends with exit code 6. ``notes`` are what the
capture could not show by design, although everything was read: the content
of a TLS connection the live capture passed through untouched after the toy
refused its certificate, or of one the key log has no secrets for. They are
informational.

Most notes are about a whole file and come out the same whichever part of
the file a reader handled. Others count things spread over the file: holes
in TCP streams, broken HAR entries, TLS connections left encrypted. When an
audit is split into shards (:mod:`toyaudit.audit`), every shard sees only
its share of those, so a reader does not word them as it goes: it keeps a
:class:`CoverageTally` per file, and the tallies of every shard are merged
before they become notes. One process and any number of shards therefore
give the same notes, in the same order.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass, field
from typing import Protocol, Self

logger = logging.getLogger(__name__)


class CoverageTally(Protocol):
    """What a reader counted about one file, to be merged, then worded."""

    @property
    def key(self) -> str:
        """Names the file and the reader; shards merge tallies of equal key."""
        ...

    def merge(self, other: Self) -> None:
        """Add the counts another shard kept about the same file."""
        ...

    def problems(self) -> list[str]:
        """The problems these counts make (input not read), in a fixed order."""
        ...

    def notes(self) -> list[str]:
        """The informational notes these counts make, in a fixed order."""
        ...


@dataclass(slots=True)
class FirstNotes:
    """A bounded list of notes: the first ``limit`` by rank, and how many in all.

    Ranks are positions in a file (an entry number, a frame number); ties are
    broken by the text, so the notes kept do not depend on the order in
    which they were added or on how they were split between shards.
    """

    limit: int
    kept: list[tuple[int, str]] = field(default_factory=list)
    """The ``limit`` smallest (rank, note) pairs so far, sorted."""
    total: int = 0
    """Every note added, kept or not."""

    def add(self, rank: int, note: str) -> None:
        """Count a note; keep it while it is among the first ``limit``."""
        self.total += 1
        bisect.insort(self.kept, (rank, note))
        del self.kept[self.limit :]

    def merge(self, other: FirstNotes) -> None:
        """Fold in the notes another shard kept about the same file."""
        self.total += other.total
        self.kept = sorted(self.kept + other.kept)[: self.limit]

    @property
    def left_out(self) -> int:
        """How many notes were counted but not kept."""
        return self.total - len(self.kept)

    def texts(self) -> list[str]:
        """The kept notes, in rank order."""
        return [note for _, note in self.kept]


@dataclass(slots=True)
class Coverage:
    """What the readers could not read, so the report can say what was skipped.

    Readers append to it as they go and keep streaming; nothing here stops an
    audit. ``problems`` and ``notes`` are one-line, human-readable sentences
    that name the file and the place (packet number or byte offset).

    A reader adds what it counted about a file with :meth:`add_tally` once
    the file is read. Normally the tally is worded on the spot. A coverage
    made with :meth:`for_shard` keeps tallies unworded instead, so that the
    coverage of every shard can be merged into the first shard's
    (:meth:`merge`), then worded (:meth:`settle`).
    """

    files_read: list[str] = field(default_factory=list)
    packets: int = 0
    """Packets (frames) read from packet captures."""
    flows: int = 0
    """Flows read from mitmproxy flow files, and entries read from HAR files."""
    problems: list[str] = field(default_factory=list)
    """Input skipped or lost, each naming the file and where it started."""
    notes: list[str] = field(default_factory=list)
    """What the capture could not show although it was read whole, such as
    connections passed through untouched: informational, not a failure."""
    pending: list[tuple[int, int, CoverageTally]] | None = None
    """Tallies not worded yet, each with the indexes in ``problems`` and in
    ``notes`` where its words go; None unless this coverage belongs to a
    shard."""

    @classmethod
    def for_shard(cls) -> Coverage:
        """A coverage that keeps tallies unworded until :meth:`settle`."""
        return cls(pending=[])

    def skip(self, note: str) -> None:
        """Record that part of the input was skipped."""
        self.problems.append(note)

    def note(self, note: str) -> None:
        """Record something the capture could not show, which is no failure."""
        self.notes.append(note)

    def add_tally(self, tally: CoverageTally) -> None:
        """Record what a reader counted about a file, worded now or at settling."""
        if self.pending is None:
            self.problems.extend(tally.problems())
            self.notes.extend(tally.notes())
        else:
            self.pending.append((len(self.problems), len(self.notes), tally))

    def merge(self, other: Coverage) -> None:
        """Fold another shard's coverage of the same session into this one.

        ``self`` must be the first shard's: it reads every file and is the
        one whose whole-file notes and packet counts stand. Flows are counted
        by the shard that read them, so they add up; tallies merge by key.
        Notes only another shard made (a read error that hit it alone) are
        appended, so that nothing is lost.
        """
        self.flows += other.flows
        _add_new(self.problems, other.problems)
        _add_new(self.notes, other.notes)
        mine = {tally.key: tally for _, _, tally in self.pending or ()}
        for _, _, tally in other.pending or ():
            kept = mine.get(tally.key)
            if kept is not None:
                kept.merge(tally)
            elif self.pending is not None:
                self.pending.append((len(self.problems), len(self.notes), tally))
                mine[tally.key] = tally

    def settle(self) -> None:
        """Word every pending tally into ``problems`` and ``notes``, at its place."""
        if not self.pending:
            self.pending = None
            return
        pending = self.pending
        self.problems = _interleave(
            self.problems, [(place, tally.problems()) for place, _, tally in pending]
        )
        self.notes = _interleave(
            self.notes, [(place, tally.notes()) for _, place, tally in pending]
        )
        self.pending = None


def _add_new(mine: list[str], others: list[str]) -> None:
    """Append the sentences of another shard that this one did not make."""
    known = set(mine)
    for sentence in others:
        if sentence not in known:
            logger.debug("a note only one shard made: %s", sentence)
            mine.append(sentence)
            known.add(sentence)


def _interleave(
    sentences: list[str], inserts: list[tuple[int, list[str]]]
) -> list[str]:
    """``sentences`` with each insert's words put at its index, in order."""
    woven: list[str] = []
    start = 0
    for place, words in inserts:
        woven.extend(sentences[start:place])
        woven.extend(words)
        start = max(start, place)
    woven.extend(sentences[start:])
    return woven
