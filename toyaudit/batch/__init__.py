"""Audit many stored captures in one run, one audit and one set of reports each.

A researcher's or regulator's archive is a tree of session folders and loose
capture files. :func:`find_targets` lists what a batch audits under a root:
every folder with a ``session.yaml`` (not entered further), and every other
file that holds captured traffic (:func:`~toyaudit.ingest.capture_kind`,
by its first bytes; a key log beside a capture is picked up by its audit, not
audited on its own). :func:`run_batch` audits each in turn,
writes its reports into a folder of its own under the output folder, and
returns one :class:`BatchEntry` per target; :mod:`.summary` renders the
entries as ``batch.json`` and ``batch.csv``.

One target's failure (a corrupt file, an altered session, a bug) is recorded
in its entry and the batch goes on; a broken rule folder stops the batch
before anything is audited, since every audit would fail the same way. Each
audit uses the cores itself (``jobs``), so targets run one after another.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from toyaudit.assess import Assessment, Severity
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


TargetCallback = Callable[[int, int, BatchTarget], None]
"""Told (1-based number, count, target) as each target's audit starts."""


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
    on_target: TargetCallback | None = None,
    progress: ProgressCallback | None = None,
) -> BatchRun:
    """Audit every target, writing each one's reports under ``out``.

    The rules are loaded and checked once, first: a broken rule raises
    :class:`~toyaudit.errors.RulesError` before any target is audited. Every
    other error ends only its target's audit. ``progress`` is the progress
    callback of each audit in turn.
    """
    rules = load_rules([default_rules_dir(), *extra_rules], RuleCache())
    entries = []
    for number, target in enumerate(targets, start=1):
        if on_target is not None:
            on_target(number, len(targets), target)
        entries.append(_audit_target(target, out, extra_rules, reveal, jobs, progress))
    return BatchRun(tuple(entries), rules.sha256)


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
