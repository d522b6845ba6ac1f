"""A progress bar for long reads, shown only on an interactive terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from toyaudit.ingest import ProgressCallback


@contextmanager
def progress_bar(console: Console) -> Iterator[ProgressCallback | None]:
    """Yield a progress callback drawing one bar per evidence file, or None.

    On a non-interactive stream (a pipe, CI, a batch log) no bar is drawn and
    the callback is None, so logs stay clean.
    """
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(f"reading {name}", total=total)
            progress.update(tasks[name], completed=done, total=total)

        yield advance
