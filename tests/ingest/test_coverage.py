"""Coverage notes: tallies worded in place, and shards' coverage merged exactly."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from toyaudit.ingest.coverage import Coverage, FirstNotes


@dataclass(slots=True)
class LostTally:
    """A tally of lost things in one file, as a reader would keep one."""

    name: str
    lost: int = 0
    hidden: int = 0

    @property
    def key(self) -> str:
        return f"{self.name} lost"

    def merge(self, other: LostTally) -> None:
        self.lost += other.lost
        self.hidden += other.hidden

    def problems(self) -> list[str]:
        return [f"{self.name}: {self.lost} lost"] if self.lost else []

    def notes(self) -> list[str]:
        return [f"{self.name}: {self.hidden} hidden"] if self.hidden else []


def test_first_notes_keep_the_first_ranks_whatever_the_order() -> None:
    notes = [(rank, f"note {rank}") for rank in (9, 2, 7, 4, 1)]

    kept = set()
    for order in itertools.permutations(notes):
        first = FirstNotes(3)
        for rank, note in order:
            first.add(rank, note)
        kept.add((tuple(first.texts()), first.left_out))

    assert kept == {(("note 1", "note 2", "note 4"), 2)}


def test_first_notes_merge_as_if_added_to_one() -> None:
    one, other, both = FirstNotes(2), FirstNotes(2), FirstNotes(2)
    for rank in (5, 3, 8):
        one.add(rank, f"r{rank}")
        both.add(rank, f"r{rank}")
    for rank in (4, 9):
        other.add(rank, f"r{rank}")
        both.add(rank, f"r{rank}")

    one.merge(other)

    assert one == both


def test_coverage_words_a_tally_at_once_unless_for_a_shard() -> None:
    coverage, shard = Coverage(), Coverage.for_shard()
    for each in (coverage, shard):
        each.skip("a.pcap: truncated")
        each.add_tally(LostTally("a.pcap", 2))
        each.skip("b.pcap: empty file")

    assert coverage.problems == [
        "a.pcap: truncated",
        "a.pcap: 2 lost",
        "b.pcap: empty file",
    ]
    assert shard.problems == ["a.pcap: truncated", "b.pcap: empty file"]
    shard.settle()
    assert shard == coverage


def test_coverage_merge_sums_tallies_and_flows_keeps_whole_file_notes() -> None:
    first, second = Coverage.for_shard(), Coverage.for_shard()
    for index, shard in enumerate((first, second)):
        shard.files_read.append("a.pcap")
        shard.packets = 10
        shard.flows = index + 1
        shard.skip("a.pcap: truncated")
        shard.add_tally(LostTally("a.pcap", 3 + index))

    first.merge(second)
    first.settle()

    assert first == Coverage(
        files_read=["a.pcap"],
        packets=10,
        flows=3,
        problems=["a.pcap: truncated", "a.pcap: 7 lost"],
    )


def test_coverage_merge_keeps_a_note_only_another_shard_made() -> None:
    first, second = Coverage.for_shard(), Coverage.for_shard()
    second.skip("a.pcap: read failed partway")
    second.add_tally(LostTally("b.pcap", 1))

    first.merge(second)
    first.settle()

    assert first.problems == ["a.pcap: read failed partway", "b.pcap: 1 lost"]


def test_coverage_notes_settle_in_place_apart_from_problems() -> None:
    whole = Coverage()
    shards = [Coverage.for_shard(), Coverage.for_shard()]
    for index, each in enumerate([whole, *shards]):
        each.note("a.pcap: passed through")
        hidden = 3 if each is whole else index
        each.add_tally(LostTally("a.pcap", hidden=hidden))
        each.note("b.pcap: passed through")

    first, second = shards
    first.merge(second)
    first.settle()

    assert whole.notes == [
        "a.pcap: passed through",
        "a.pcap: 3 hidden",
        "b.pcap: passed through",
    ]
    assert whole.problems == []
    assert first == whole
