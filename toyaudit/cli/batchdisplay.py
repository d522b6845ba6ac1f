"""Print what a batch audit did on the terminal, with rich.

One line per target as its audit ends (on standard error, so a log of the
run stays readable), then one table: each target's status, how many findings,
the highest severity, trackers reached, and what went wrong. File names and
host names come from the archive and may hold control characters or markup:
every one is scrubbed and escaped (:func:`~toyaudit.cli.terminal.safe_markup`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from toyaudit.batch import BatchEntry, Status
from toyaudit.cli.terminal import SEVERITY_STYLES, safe_markup

_STATUS_STYLES = {
    Status.COMPLETE: "green",
    Status.INCOMPLETE: "yellow",
    Status.FAILED: "bold red",
}


def announce_entry(console: Console, done: int, count: int, entry: BatchEntry) -> None:
    """Say which target's audit ended, and how: ``[3/120] toys/bear.pcap complete``."""
    style = _STATUS_STYLES[entry.status]
    console.print(
        f"[dim][{done}/{count}][/] {safe_markup(entry.target.name)} "
        f"[{style}]{entry.status}[/]"
    )


def print_batch(
    entries: Sequence[BatchEntry], console: Console, written: Sequence[Path] = ()
) -> None:
    """Print the table of every target's outcome and where the summary went."""
    table = Table(title="Batch audit", title_justify="left")
    for column in ("target", "status", "findings", "highest", "trackers", "notes"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        severity = entry.highest_severity
        table.add_row(
            safe_markup(entry.target.name),
            f"[{_STATUS_STYLES[entry.status]}]{entry.status}[/]",
            str(entry.findings),
            "-" if severity is None else f"[{SEVERITY_STYLES[severity]}]{severity}[/]",
            str(len(entry.trackers)),
            safe_markup(_notes(entry)),
        )
    console.print(table)
    counts = Counter(entry.status for entry in entries)
    console.print(
        ", ".join(f"{counts[status]} {status}" for status in Status)
        + f" of {len(entries)} target{'' if len(entries) == 1 else 's'}"
    )
    for path in written:
        console.print(f"Summary written: {safe_markup(str(path))}")


def _notes(entry: BatchEntry) -> str:
    if entry.status is Status.FAILED:
        return entry.error
    if entry.problems:
        return f"{entry.problems} unreadable parts (see its report)"
    return ""
