"""Audit one session: ingest -> classify -> assess.

This is the whole pipeline for one session folder, with no presentation: the
CLI calls :func:`run_audit`, renders the returned assessment and writes the
reports. Long work reports progress through a callback so that the core never
depends on a terminal library.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from toyaudit import __version__
from toyaudit.assess import Assessment, Assessor, RunInfo
from toyaudit.classify import Classifier, default_rules_dir, load_rules
from toyaudit.ingest import ProgressCallback, read_session
from toyaudit.ingest.records import Coverage, host_of
from toyaudit.session import open_evidence

logger = logging.getLogger(__name__)


def run_audit(
    session_path: Path,
    extra_rules: Sequence[Path] = (),
    progress: ProgressCallback | None = None,
) -> Assessment:
    """Audit a session folder (or loose capture files) and return its assessment.

    ``session_path`` is a session folder, a single capture file, or a folder
    of capture files (:func:`~toyaudit.session.open_evidence`). Steps: verify a
    session against its manifest, load our rules plus any
    ``extra_rules`` folders (which extend or override ours), stream every
    evidence file through classification, and assess the matches. Raises a
    :class:`~toyaudit.errors.ToyauditError` subclass for unusable input; input
    that is only partly readable is listed in the assessment's coverage.
    """
    session = open_evidence(session_path)
    rules = load_rules([default_rules_dir(), *extra_rules])
    logger.info("auditing %s with rules %s", session.path, rules.sha256[:12])

    classifier = Classifier(rules, session)
    assessor = Assessor(rules.severity)
    coverage = Coverage()
    for observation in read_session(session, coverage, progress):
        recipient = classifier.recipient_for(host_of(observation))
        assessor.add(observation, recipient, classifier.classify(observation))

    run = RunInfo(
        tool_version=__version__,
        rules_sha256=rules.sha256,
        manifest_sha256=session.manifest_sha256,
    )
    return assessor.finish(session, run, coverage)
