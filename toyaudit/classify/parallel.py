"""Classify a large capture on every core.

Classification costs far more than reading a capture, so for large inputs the
main process keeps reading (ingest needs one ordered pass over each file) and
hands batches of observations to worker processes, each with its own
:class:`~toyaudit.classify.Classifier` built from the same rules. Results come
back in submission order, so an audit's findings do not depend on the number
of workers. Workers return the fields of each match, not the observation it
was found in, which the main process still holds: less to copy between
processes.

The number of batches in flight is bounded, so memory stays flat however
large the capture.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from multiprocessing.pool import AsyncResult
from pathlib import Path

from toyaudit.classify.classifier import Classifier
from toyaudit.classify.records import Category, Match, Method, Recipient
from toyaudit.classify.rules import RuleSet, load_rules
from toyaudit.ingest.records import Observation, host_of
from toyaudit.session import Session

logger = logging.getLogger(__name__)

BATCH = 64
"""Observations sent to a worker at a time."""

_MatchFields = tuple[
    str, str, Method, str, tuple[str, ...], str, float, str | None, str | None, int
]
"""A match without its category object, observation and recipient."""

_worker: Classifier | None = None
"""The classifier of a worker process, built once by :func:`_start_worker`."""

Classified = tuple[Observation, Recipient, list[Match]]
"""An observation, who received it, and the personal data found in it."""


def classify_all(
    observations: Iterable[Observation],
    rules: RuleSet,
    session: Session,
    rule_folders: Sequence[Path],
    jobs: int,
) -> Iterator[Classified]:
    """Classify every observation, in order, with ``jobs`` worker processes.

    With ``jobs`` of 1 or less everything runs in this process.
    """
    classifier = Classifier(rules, session)
    if jobs <= 1:
        for observation in observations:
            recipient = classifier.recipient_for(host_of(observation))
            yield observation, recipient, classifier.classify(observation, recipient)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, _start_worker, (tuple(rule_folders), session)) as pool:
        pending: deque[tuple[list[Observation], AsyncResult[list[list[_MatchFields]]]]]
        pending = deque()
        for batch in _batches(observations):
            pending.append((batch, pool.apply_async(_classify_batch, (batch,))))
            if len(pending) > jobs * 4:
                yield from _collect(classifier, rules, *pending.popleft())
        while pending:
            yield from _collect(classifier, rules, *pending.popleft())


def _batches(observations: Iterable[Observation]) -> Iterator[list[Observation]]:
    batch: list[Observation] = []
    for observation in observations:
        batch.append(observation)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _collect(
    classifier: Classifier,
    rules: RuleSet,
    batch: list[Observation],
    result: AsyncResult[list[list[_MatchFields]]],
) -> Iterator[Classified]:
    """Rebuild the matches of one finished batch around its observations."""
    for observation, found in zip(batch, result.get(), strict=True):
        recipient = classifier.recipient_for(host_of(observation))
        matches = [
            _rebuild(fields, rules.categories[fields[0]], observation, recipient)
            for fields in found
        ]
        yield observation, recipient, matches


def _rebuild(
    fields: _MatchFields,
    category: Category,
    observation: Observation,
    recipient: Recipient,
) -> Match:
    _, rule, method, location, decoding, value, confidence, persona, form, count = (
        fields
    )
    return Match(
        category=category,
        rule=rule,
        method=method,
        location=location,
        decoding=decoding,
        value=value,
        confidence=confidence,
        observation=observation,
        recipient=recipient,
        persona_field=persona,
        form=form,
        count=count,
    )


def _start_worker(rule_folders: tuple[Path, ...], session: Session) -> None:
    """Build the worker's classifier from the same rule folders as the parent."""
    global _worker
    # A forked worker inherits the parent's log handlers, whose locks another
    # thread (a progress bar) may have held at the fork: drop them, so a log
    # call in a worker can never wait on a lock nobody will release.
    logging.getLogger().handlers.clear()
    _worker = Classifier(load_rules(list(rule_folders)), session)


def _classify_batch(batch: list[Observation]) -> list[list[_MatchFields]]:
    """Classify one batch in a worker; return plain match fields."""
    if _worker is None:  # pragma: no cover - the pool initialiser always ran
        raise RuntimeError("classification worker started without its rules")
    return [
        [
            (
                match.category.id,
                match.rule,
                match.method,
                match.location,
                match.decoding,
                match.value,
                match.confidence,
                match.persona_field,
                match.form,
                match.count,
            )
            for match in _worker.classify(observation)
        ]
        for observation in batch
    ]
