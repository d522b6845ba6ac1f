"""A stand-in audit for batch workers that dies on one target, as a crash would.

Spawned workers import it by name (``tests.batch.dying``), so it lives in a
module of its own rather than in a test file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from toyaudit.batch import BatchEntry, BatchTarget, Status

DIES_ON = "dies.pcap"


def audit_or_die(target: BatchTarget, *_args: Any) -> BatchEntry:
    """A complete entry for every target but :data:`DIES_ON`, which kills the worker."""
    if target.name == DIES_ON:
        os._exit(70)  # no cleanup, no exception: the way a segfault ends a worker
    return BatchEntry(target, Status.COMPLETE, 0, reports=target.name)


def targets(folder: Path, names: list[str]) -> list[BatchTarget]:
    """Targets named ``names`` in ``folder`` (the files need not exist)."""
    return [BatchTarget(folder / name, name, False) for name in names]
