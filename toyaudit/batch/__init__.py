"""Audit many stored captures in one run, one audit and one set of reports each.

A researcher's or regulator's archive is a tree of session folders and loose
capture files. :func:`find_targets` lists what a batch audits under a root:
every folder with a ``session.yaml`` (not entered further), and every other
file that holds captured traffic (:func:`~toyaudit.ingest.capture_kind`,
by its first bytes; a key log beside a capture is picked up by its audit, not
audited on its own). :func:`run_batch` audits each, writes its reports into
a folder of its own under the output folder, and returns one
:class:`BatchEntry` per target; :mod:`.summary` renders the
entries as ``batch.json`` and ``batch.csv``.

One target's failure (a corrupt file, an altered session, a bug) is recorded
in its entry and the batch goes on; a broken rule folder stops the batch
before anything is audited, since every audit would fail the same way.
Small targets are audited side by side, one per worker process; large ones
one after another, each split over the cores itself, as ``toyaudit audit``
does.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from toyaudit.assess import Assessment, Severity
from toyaudit.audit import PARALLEL_FROM_BYTES as PARALLEL
from toyaudit.audit import start_audit
from toyaudit.classify import default_rules_dir, load_rules
from toyaudit.classify.records import Party
from toyaudit.classify.rulecache import RuleCache
from toyaudit.errors import ExitCode, SessionError, ToyauditError
from toyaudit.ingest import ProgressCallback, capture_kind
from toyaudit.report import render_reports, write_rendered
from toyaudit.session import SESSION_FILE

__all__ = [
    "BatchEntry",
    "BatchRun",
    "BatchTarget",
    "Status",
    "batch_exit_code",
    "find_targets",
    "run_batch",
]

logger = logging.getLogger(__name__)

POOL_TARGETS_PER_WORKER = 8
"""Small targets per worker from which a batch starts worker processes."""
POOL_FROM_BYTES = 32 * 1024 * 1024
"""Evidence, in all the small targets, from which it does so whatever their number.

A spawned worker costs about half a second to start (the interpreter and
toyaudit's imports), about what auditing a handful of small captures takes:
fewer, lighter targets are audited faster in this process alone."""


@dataclass(frozen=True, slots=True)
class BatchTarget:
    """One thing a batch audits: a session folder or a loose capture file."""

    path: Path
    name: str
    """The path relative to the batch's root, with ``/`` between parts: the
    target's name in the summary and its report folder under the output."""
    session: bool
    """Whether it is a session folder (else a single capture file)."""


class Status(StrEnum):
    """How one target's audit ended."""

    COMPLETE = "complete"
    """Audited, every input read (exit code 0 on its own)."""
    INCOMPLETE = "incomplete"
    """Audited and reported, but part of the input could not be read (6)."""
    FAILED = "failed"
    """Not audited: the error says why (exit code 1, 3 or 5)."""


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """What one target's audit gave, as the batch summary lists it."""

    target: BatchTarget
    status: Status
    exit_code: int
    """The code ``toyaudit audit`` would have exited with on this target."""
    reports: str | None = None
    """The report folder, relative to the batch's output folder."""
    findings: int = 0
    checks: int = 0
    """Security checks that found something."""
    highest_severity: Severity | None = None
    """Of every finding and check; None when there is none."""
    categories: tuple[str, ...] = ()
    """Ids of the categories of data found, in the report's order."""
    trackers: tuple[str, ...] = ()
    """Hosts of known trackers that received any of the data, sorted."""
    problems: int = 0
    """What the audit could not read (the report says what and where)."""
    manifest_sha256: str = ""
    """Pins the evidence audited, as in the target's findings.json."""
    error: str = ""
    """For a failed target: the error and the next step, one line."""


DoneCallback = Callable[[int, int, BatchEntry], None]
"""Told (how many are done, count, the entry) as each target's audit ends."""


def find_targets(root: Path) -> list[BatchTarget]:
    """Every session folder and capture file under ``root``, in path order.

    Hidden files and folders (a leading dot) are skipped, and symbolic links
    are not followed, so a link cannot make the batch leave the root or loop.
    Raises :class:`~toyaudit.errors.SessionError` when ``root`` is not a
    folder or holds nothing to audit.
    """
    if not root.is_dir():
        raise SessionError(
            f"{root}: not a folder",
            "give the folder that holds the session folders and capture files",
        )
    if (root / SESSION_FILE).is_file():
        return [BatchTarget(root, root.name, True)]
    targets: list[BatchTarget] = []
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in list(subfolders):
            if (here / name / SESSION_FILE).is_file():
                subfolders.remove(name)
                targets.append(_target(root, here / name, session=True))
        for name in sorted(files):
            path = here / name
            if name.startswith(".") or path.is_symlink():
                continue
            if capture_kind(path) is not None:
                targets.append(_target(root, path, session=False))
    if not targets:
        raise SessionError(
            f"{root}: holds no session folders or capture files",
            "point at the folder that holds them (pcap, pcapng, mitmproxy "
            "flows, HAR, btsnoop, ble.jsonl, or folders with a session.yaml)",
        )
    return sorted(targets, key=lambda target: target.name)


def _target(root: Path, path: Path, session: bool) -> BatchTarget:
    return BatchTarget(path, path.relative_to(root).as_posix(), session)


@dataclass(frozen=True, slots=True)
class BatchRun:
    """Every target's entry, and the rules they were all audited with."""

    entries: tuple[BatchEntry, ...]
    rules_sha256: str
    """Digest over every rule file used, as in each findings.json."""


def run_batch(
    targets: Sequence[BatchTarget],
    out: Path,
    extra_rules: Sequence[Path] = (),
    reveal: bool = False,
    jobs: int = 0,
    on_done: DoneCallback | None = None,
    progress: ProgressCallback | None = None,
) -> BatchRun:
    """Audit every target, writing each one's reports under ``out``.

    The rules are loaded and checked once, first: a broken rule raises
    :class:`~toyaudit.errors.RulesError` before any target is audited. Every
    other error ends only its target's audit.

    ``jobs`` worker processes (0: one per core) share the small targets
    (evidence under :data:`~toyaudit.audit.PARALLEL_FROM_BYTES`), one audit
    each, when they are work enough to pay for starting the workers
    (:data:`POOL_TARGETS_PER_WORKER`, :data:`POOL_FROM_BYTES`); the large
    ones are then audited one after another, each on ``jobs`` workers of its
    own as ``toyaudit audit`` would, with
    ``progress`` as their progress callback. Entries come back in target
    order whatever order the audits end in, and every report is the same as
    a single audit of the target writes.
    """
    rules = load_rules([default_rules_dir(), *extra_rules], RuleCache())
    workers = jobs if jobs > 0 else os.cpu_count() or 1
    sizes = {target.name: _evidence_bytes(target) for target in targets}
    small = [target for target in targets if sizes[target.name] < PARALLEL]
    entries: dict[str, BatchEntry] = {}

    def finish(entry: BatchEntry) -> None:
        entries[entry.target.name] = entry
        if on_done is not None:
            on_done(len(entries), len(targets), entry)

    small_bytes = sum(sizes[target.name] for target in small)
    if workers > 1 and _worth_a_pool(len(small), small_bytes, workers):
        for entry in _audit_in_pool(small, out, extra_rules, reveal, workers):
            finish(entry)
    for target in targets:
        if target.name not in entries:
            finish(_audit_target(target, out, extra_rules, reveal, jobs, progress))
    ordered = tuple(entries[target.name] for target in targets)
    return BatchRun(ordered, rules.sha256)


def _worth_a_pool(count: int, size: int, workers: int) -> bool:
    """Whether ``count`` small targets of ``size`` bytes in all are work enough
    to pay for starting ``workers`` worker processes."""
    if count < 2:
        return False
    return count >= POOL_TARGETS_PER_WORKER * workers or size >= POOL_FROM_BYTES


def _evidence_bytes(target: BatchTarget) -> int:
    """How large a target's evidence is: the file, or a session's files."""
    try:
        if not target.session:
            return target.path.stat().st_size
        with os.scandir(target.path) as entries:
            return sum(entry.stat().st_size for entry in entries if entry.is_file())
    except OSError:
        return 0  # its audit reports what cannot be read


def _audit_in_pool(
    targets: Sequence[BatchTarget],
    out: Path,
    extra_rules: Sequence[Path],
    reveal: bool,
    workers: int,
    audit: Callable[..., BatchEntry] | None = None,
) -> Iterator[BatchEntry]:
    """Audit small targets in worker processes, yielding entries as they end.

    Workers are spawned, not forked: the parent may run threads (a progress
    display) that a fork would copy mid-step. Each worker ignores Ctrl-C,
    which the parent handles by cancelling what has not started. A worker
    that dies fails the targets it and the broken pool leave undone.
    ``audit`` stands in for :func:`_audit_target` (importable by the workers).
    """
    context = multiprocessing.get_context("spawn")
    level = logging.getLogger("toyaudit").getEffectiveLevel()
    pool = ProcessPoolExecutor(
        min(workers, len(targets)), context, _start_worker, (level,)
    )
    try:
        extra, run = tuple(extra_rules), audit or _audit_target
        futures = {
            pool.submit(run, target, out, extra, reveal, 1, None): target
            for target in targets
        }
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as error:  # the worker died: a bug, or killed
                message = f"internal error: its worker process failed ({error})"
                hint = "audit this target alone with toyaudit audit -v"
                yield _failed(
                    futures[future], ExitCode.INTERNAL, _one_line(message, hint)
                )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(level: int) -> None:
    """Set a batch worker up: Ctrl-C is the parent's; warnings to stderr."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("toyaudit").setLevel(level)


def _audit_target(
    target: BatchTarget,
    out: Path,
    extra_rules: Sequence[Path],
    reveal: bool,
    jobs: int,
    progress: ProgressCallback | None,
) -> BatchEntry:
    """Audit one target and write its reports; an error becomes a failed entry."""
    reports = target.name
    try:
        pending = start_audit(target.path, extra_rules, progress, jobs)
        rendered = render_reports(pending.draft, reveal)
        assessment = pending.verified()
        write_rendered(rendered, out / reports)
    except ToyauditError as error:
        logger.info("%s: not audited: %s", target.name, error.message)
        return _failed(target, error.exit_code, _one_line(error.message, error.hint))
    except Exception as error:  # one target's bug must not end the batch
        logger.debug("%s: internal error", target.name, exc_info=True)
        message = f"internal error: {type(error).__name__}: {error}"
        hint = "this is a bug in toyaudit; audit this target alone with -v"
        return _failed(target, ExitCode.INTERNAL, _one_line(message, hint))
    return _entry(target, assessment, reports)


def _failed(target: BatchTarget, code: int, error: str) -> BatchEntry:
    return BatchEntry(target, Status.FAILED, int(code), error=error)


def _one_line(message: str, hint: str) -> str:
    text = f"{message}; next step: {hint}" if hint else message
    return " ".join(text.split())


def _entry(target: BatchTarget, assessment: Assessment, reports: str) -> BatchEntry:
    """The summary of one finished audit."""
    problems = len(assessment.coverage.problems)
    severities = [finding.severity for finding in assessment.findings]
    severities += [check.severity for check in assessment.checks]
    trackers = {
        finding.recipient.host
        for finding in assessment.findings
        if finding.recipient.party is Party.TRACKER
    }
    return BatchEntry(
        target=target,
        status=Status.INCOMPLETE if problems else Status.COMPLETE,
        exit_code=int(ExitCode.PARTIAL if problems else ExitCode.OK),
        reports=reports,
        findings=len(assessment.findings),
        checks=len(assessment.checks),
        highest_severity=max(severities, key=lambda item: item.rank, default=None),
        categories=tuple(
            dict.fromkeys(finding.category.id for finding in assessment.findings)
        ),
        trackers=tuple(sorted(trackers)),
        problems=problems,
        manifest_sha256=assessment.run.manifest_sha256,
    )


def batch_exit_code(entries: Sequence[BatchEntry]) -> int:
    """The batch's exit code: the first failed target's, else 6 when any
    target was read only in part, else 0."""
    for entry in entries:
        if entry.status is Status.FAILED:
            return entry.exit_code
    if any(entry.status is Status.INCOMPLETE for entry in entries):
        return int(ExitCode.PARTIAL)
    return int(ExitCode.OK)
