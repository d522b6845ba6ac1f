"""Audit one shard of a session, and merge what the shards found.

A shard (:class:`~toyaudit.ingest.shard.Shard`) is the part of the evidence
one worker reads. :func:`audit_shard` runs the whole pipeline on it, ingest,
classification and assessment, and returns a :class:`ShardOutcome`: the
assessor's tally and the coverage, both small however large the capture,
both mergeable without loss. :func:`merge_outcomes` folds the outcomes of
every shard into one assessor and one coverage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from toyaudit.assess import AssessmentTally, Assessor, SecurityChecks, build_checks
from toyaudit.classify import RuleSet
from toyaudit.classify.records import Match, Recipient
from toyaudit.ingest import ProgressCallback, Shard, read_session
from toyaudit.ingest.records import Coverage, Observation, host_of
from toyaudit.session import Session

logger = logging.getLogger(__name__)


class ObservationClassifier(Protocol):
    """What a shard needs of :class:`~toyaudit.classify.Classifier`."""

    def recipient_for(self, host: str) -> Recipient:
        """Who a host is."""
        ...

    def classify(self, observation: Observation, recipient: Recipient) -> list[Match]:
        """The personal data found in one observation sent to ``recipient``."""
        ...


@dataclass(frozen=True, slots=True)
class AuditPlan:
    """What every shard of one audit shares: the session, its rules, a classifier.

    Workers are forked, so they inherit the plan rather than receive a copy,
    and each uses its own copy of the classifier. The security checks are
    configured from the rules when the plan is made, in the parent, so a
    broken check rule stops the audit before any worker starts.
    """

    session: Session
    rules: RuleSet
    classifier: ObservationClassifier
    checks: SecurityChecks = field(init=False)

    def __post_init__(self) -> None:
        checks = build_checks(self.rules.checks.values())
        object.__setattr__(self, "checks", checks)


@dataclass(slots=True)
class ShardOutcome:
    """What a shard sends back: what its assessor gathered, and its coverage."""

    tally: AssessmentTally
    coverage: Coverage
    """A shard's coverage (:meth:`Coverage.for_shard`), not yet settled."""


def audit_shard(
    plan: AuditPlan, shard: Shard, progress: ProgressCallback | None
) -> ShardOutcome:
    """Read, classify and assess one shard of the session's evidence."""
    coverage = Coverage.for_shard()
    assessor = Assessor(
        plan.rules.severity, plan.session.evidence, plan.checks, plan.session.phases
    )
    classifier = plan.classifier
    observations = 0
    for observation in read_session(plan.session, coverage, progress, shard):
        recipient = classifier.recipient_for(host_of(observation))
        assessor.add(
            observation, recipient, classifier.classify(observation, recipient)
        )
        observations += 1
    logger.debug(
        "shard %d of %d: %d observations", shard.index, shard.count, observations
    )
    return ShardOutcome(assessor.partial(), coverage)


def merge_outcomes(
    plan: AuditPlan, outcomes: Sequence[ShardOutcome]
) -> tuple[Assessor, Coverage]:
    """One assessor and one settled coverage from every shard's outcome.

    ``outcomes`` are in shard order: the first shard's coverage is the one
    the others merge into.
    """
    assessor = Assessor(
        plan.rules.severity, plan.session.evidence, plan.checks, plan.session.phases
    )
    coverage = outcomes[0].coverage
    for outcome in outcomes:
        assessor.merge(outcome.tally)
        if outcome.coverage is not coverage:
            coverage.merge(outcome.coverage)
    coverage.settle()
    return assessor, coverage
