"""Audit one session: ingest -> classify -> assess.

This is the whole pipeline for one session folder, with no presentation: the
CLI calls :func:`start_audit`, renders the assessment while the evidence's
last digests are checked, and writes the reports once
:meth:`PendingAssessment.verified` vouches for them (:func:`run_audit` does
both steps at once). Long work reports progress through a callback so that
the core never depends on a terminal library.

Large evidence is audited on every core by splitting it into shards
(:mod:`toyaudit.ingest.shard`): each worker process reads, classifies and
assesses its own shard (:mod:`.shards`, :mod:`.workers`) and sends back only
what its assessor gathered and its coverage, which merge exactly. The
findings are the same byte for byte whatever the number of workers.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from toyaudit import __version__
from toyaudit.assess import Assessment, Assessor, RunInfo
from toyaudit.audit.shards import AuditPlan, merge_outcomes
from toyaudit.audit.workers import run_shards
from toyaudit.classify import Classifier, RuleSet, default_rules_dir, load_rules
from toyaudit.classify.rulecache import RuleCache
from toyaudit.ingest import ProgressCallback
from toyaudit.ingest.records import Coverage
from toyaudit.session import PendingDigests, Session, open_evidence

__all__ = ["PARALLEL_FROM_BYTES", "PendingAssessment", "run_audit", "start_audit"]

logger = logging.getLogger(__name__)


PARALLEL_FROM_BYTES = 32 * 1024 * 1024
"""Evidence larger than this is audited on every core unless told otherwise."""

_COLLECT_AFTER = 50_000
"""Allocations between two generation-0 collections during an audit."""


def run_audit(
    session_path: Path,
    extra_rules: Sequence[Path] = (),
    progress: ProgressCallback | None = None,
    jobs: int = 0,
) -> Assessment:
    """Audit a session folder (or loose capture files) and return its assessment.

    ``session_path`` is a session folder, a single capture file, or a folder
    of capture files (:func:`~toyaudit.session.open_evidence`). Steps: verify a
    session against its manifest, load our rules plus any
    ``extra_rules`` folders (which extend or override ours), stream every
    evidence file through classification, and assess the matches. Raises a
    :class:`~toyaudit.errors.ToyauditError` subclass for unusable input; input
    that is only partly readable is listed in the assessment's coverage.
    ``jobs`` worker processes each audit a shard of the evidence (0: one per
    core for large evidence; 1: all in this process); the findings are the
    same whatever the number.
    """
    return start_audit(session_path, extra_rules, progress, jobs).verified()


class PendingAssessment:
    """An audit's assessment while its large evidence files are still being hashed.

    :meth:`verified` waits for the hashing and returns the assessment, or
    raises the :class:`~toyaudit.errors.SessionError` of the first file that
    differs from the session's manifest. :attr:`draft` is the same
    assessment before that verdict: fit to prepare output with (the reports,
    rendered while the hashing finishes on another core), never to publish.
    """

    def __init__(self, draft: Assessment, pending: PendingDigests) -> None:
        self.draft = draft
        """The assessment, not yet vouched for by the manifest."""
        self._pending = pending

    def verified(self) -> Assessment:
        """The assessment once every evidence file matched the manifest."""
        self._pending.finish()
        return self.draft


def start_audit(
    session_path: Path,
    extra_rules: Sequence[Path] = (),
    progress: ProgressCallback | None = None,
    jobs: int = 0,
) -> PendingAssessment:
    """:func:`run_audit`, returning before the manifest's last digests are checked.

    The SHA-256 of each large evidence file is computed on a thread of this
    process while the audit runs on the other cores
    (:class:`~toyaudit.session.PendingDigests`), and may still run when this
    returns. A file that differs from the manifest still fails the audit
    with the error the up-front check gives, from :meth:`PendingAssessment.verified`
    at the latest; an error of any other kind raised here is raised only
    after every digest was checked, and a changed file's error wins over it,
    since a changed file explains anything.
    """
    with lenient_collector():
        pending = PendingDigests()
        session = open_evidence(session_path, pending)
        shards = jobs if jobs > 0 else _default_jobs(session)
        try:
            assessor, coverage, rules = _audit(
                session, extra_rules, progress, shards, pending
            )
        except Exception:
            pending.finish()  # a changed file explains whatever went wrong
            raise
        run = RunInfo(
            tool_version=__version__,
            rules_sha256=rules.sha256,
            manifest_sha256=session.manifest_sha256,
        )
        return PendingAssessment(assessor.finish(session, run, coverage), pending)


def _audit(
    session: Session,
    extra_rules: Sequence[Path],
    progress: ProgressCallback | None,
    shards: int,
    pending: PendingDigests,
) -> tuple[Assessor, Coverage, RuleSet]:
    """Load the rules, run the shards and merge what they found."""
    rules = load_rules([default_rules_dir(), *extra_rules], RuleCache())
    logger.info(
        "auditing %s with rules %s in %d shards",
        session.path,
        rules.sha256[:12],
        shards,
    )
    plan = AuditPlan(session, rules, Classifier(rules, session))
    outcomes = run_shards(plan, shards, progress, pending)
    assessor, coverage = merge_outcomes(plan, outcomes)
    return assessor, coverage, rules


@contextmanager
def lenient_collector() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while the block runs.

    An audit allocates millions of short-lived, acyclic objects (tuples,
    strings, records), and the collector's default thresholds run a
    generation-0 pass every 700 of them: a tenth of an audit's CPU time,
    for almost no garbage. The previous thresholds are restored afterwards.
    """
    before = gc.get_threshold()
    gc.set_threshold(_COLLECT_AFTER, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _default_jobs(session: Session) -> int:
    """One worker per core for large evidence; none where start-up would dominate."""
    size = 0
    for name in session.evidence:
        try:
            size += (session.path / name).stat().st_size
        except OSError:
            continue  # ingest reports the unreadable file itself
    cores = os.cpu_count() or 1
    return cores if size >= PARALLEL_FROM_BYTES and cores > 1 else 1
