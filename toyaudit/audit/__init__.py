"""Audit one session: ingest -> classify -> assess.

This is the whole pipeline for one session folder, with no presentation: the
CLI calls :func:`run_audit`, renders the returned assessment and writes the
reports. Long work reports progress through a callback so that the core never
depends on a terminal library.

Large evidence is audited on every core by splitting it into shards
(:mod:`toyaudit.ingest.shard`): each worker process reads, classifies and
assesses its own shard (:mod:`.shards`, :mod:`.workers`) and sends back only
what its assessor gathered and its coverage, which merge exactly. The
findings are the same byte for byte whatever the number of workers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from toyaudit import __version__
from toyaudit.assess import Assessment, RunInfo
from toyaudit.audit.shards import AuditPlan, merge_outcomes
from toyaudit.audit.workers import run_shards
from toyaudit.classify import Classifier, default_rules_dir, load_rules
from toyaudit.ingest import ProgressCallback
from toyaudit.session import Session, open_evidence

__all__ = ["PARALLEL_FROM_BYTES", "run_audit"]

logger = logging.getLogger(__name__)


PARALLEL_FROM_BYTES = 32 * 1024 * 1024
"""Evidence larger than this is audited on every core unless told otherwise."""


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
    session = open_evidence(session_path)
    rules = load_rules([default_rules_dir(), *extra_rules])
    shards = jobs if jobs > 0 else _default_jobs(session)
    logger.info(
        "auditing %s with rules %s in %d shards",
        session.path,
        rules.sha256[:12],
        shards,
    )

    plan = AuditPlan(session, rules, Classifier(rules, session))
    outcomes = run_shards(plan, shards, progress)
    assessor, coverage = merge_outcomes(plan, outcomes)

    run = RunInfo(
        tool_version=__version__,
        rules_sha256=rules.sha256,
        manifest_sha256=session.manifest_sha256,
    )
    return assessor.finish(session, run, coverage)


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
