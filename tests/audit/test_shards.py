"""Shards split a session's evidence without loss or overlap, and merge exactly."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from toyaudit.ingest import Shard, read_session
from toyaudit.ingest.records import Coverage, Observation
from toyaudit.session import open_evidence


def _read(session: Path, coverage: Coverage, shard: Shard) -> list[Observation]:
    return list(read_session(open_evidence(session), coverage, None, shard))


@pytest.mark.parametrize("count", [2, 3])
def test_read_session_shards_partition_the_observations(
    split_session: Path, count: int
) -> None:
    whole = Counter(_read(split_session, Coverage(), Shard(0, 1)))

    parts = [
        Counter(_read(split_session, Coverage(), Shard(index, count)))
        for index in range(count)
    ]

    assert all(parts)
    assert sum(parts, Counter()) == whole


@pytest.mark.parametrize("count", [2, 3])
def test_read_session_shard_coverage_merges_into_the_whole(
    split_session: Path, count: int
) -> None:
    whole = Coverage()
    _read(split_session, whole, Shard(0, 1))
    coverages = [Coverage.for_shard() for _ in range(count)]
    for index, coverage in enumerate(coverages):
        _read(split_session, coverage, Shard(index, count))

    merged = coverages[0]
    for other in coverages[1:]:
        merged.merge(other)
    merged.settle()

    assert merged == whole
    assert whole.problems
