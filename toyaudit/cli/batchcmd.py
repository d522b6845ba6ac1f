"""``toyaudit batch``: audit every session folder and capture file under a folder.

The command only finds the targets, runs them through :mod:`toyaudit.batch`
and presents the outcome (:mod:`.batchdisplay`); each target's audit is the
same as ``toyaudit audit`` would run on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from toyaudit.cli.logs import Verbose, configure_logging, stderr
from toyaudit.cli.options import ExtraRules, Reveal

if TYPE_CHECKING:  # the batch machinery is imported when the command runs
    from toyaudit.batch import BatchEntry


def batch(
    root: Annotated[
        Path,
        typer.Argument(
            metavar="FOLDER",
            help="A folder of session folders and capture files (pcap, pcapng, "
            "mitmproxy flows, HAR, btsnoop, ble.jsonl), searched through its "
            "sub-folders. Each session folder and each capture file is audited "
            "on its own; a TLS key log beside a capture is used by its audit.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for each target's reports (in a sub-folder named after "
            "the target's path) and for batch.json and batch.csv. Default: "
            "reports/<FOLDER's name>/ under the current folder.",
            show_default=False,
        ),
    ] = None,
    reveal: Reveal = False,
    rules: ExtraRules = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            help="Worker processes. 0 (the default) uses one per core. Targets "
            "under 32 MB are audited side by side, one per worker; larger ones "
            "one after another, each split over the workers as 'toyaudit audit' "
            "does. The reports are the same either way.",
        ),
    ] = 0,
    verbose: Verbose = 0,
) -> None:
    """Audit every session folder and capture file under a folder, each on its own.

    Writes each target's findings.json, report.md and report.html, then
    batch.json and batch.csv listing every target's outcome. A target that
    cannot be audited is listed with its error and the batch goes on. Exits
    with the first failed target's code, else 6 when any target could be
    read only in part, else 0.
    """
    from toyaudit.batch import batch_exit_code, find_targets, run_batch
    from toyaudit.batch.summary import write_summary
    from toyaudit.cli.batchdisplay import announce_entry, print_batch
    from toyaudit.cli.progress import progress_bar

    configure_logging(verbose)
    targets = find_targets(root)
    out_dir = out if out is not None else Path("reports") / root.resolve().name

    def announce(done: int, count: int, entry: BatchEntry) -> None:
        announce_entry(stderr, done, count, entry)

    with progress_bar(stderr) as progress:
        run = run_batch(
            targets, out_dir, tuple(rules or ()), reveal, jobs, announce, progress
        )
    written = write_summary(run.entries, run.rules_sha256, out_dir)
    print_batch(run.entries, Console(highlight=False), written)
    code = batch_exit_code(run.entries)
    if code:
        raise typer.Exit(code)
