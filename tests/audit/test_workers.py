"""Worker processes: errors reach the parent intact, and nothing is left running."""

from __future__ import annotations

import logging
import multiprocessing
import os
from pathlib import Path

import pytest

from toyaudit.audit import run_audit
from toyaudit.audit.shards import AuditPlan
from toyaudit.audit.workers import WorkerCrashError, WorkerTracebackError, run_shards
from toyaudit.classify import Classifier, default_rules_dir, load_rules
from toyaudit.classify.records import Match, Recipient
from toyaudit.errors import IngestError, RulesError, ToyauditError
from toyaudit.ingest.records import Observation
from toyaudit.session import open_evidence

SHARD_ONE_FLOW = "flow-001"
"""With two shards, flow 1 is the second shard's."""


class TrippingClassifier:
    """A real classifier that does ``trip`` when it meets one flow."""

    def __init__(self, session: Path, trip: str) -> None:
        rules = load_rules([default_rules_dir()])
        self.inner = Classifier(rules, open_evidence(session))
        self.trip = trip

    def recipient_for(self, host: str) -> Recipient:
        return self.inner.recipient_for(host)

    def classify(self, observation: Observation, recipient: Recipient) -> list[Match]:
        if observation.evidence.flow_id == SHARD_ONE_FLOW:
            if self.trip == "rules":
                raise RulesError("rules/x.yaml:3: broken", "fix rule x")
            if self.trip == "bug":
                raise ZeroDivisionError("a bug in a worker")
            if self.trip == "exit":
                os._exit(9)
            logging.getLogger("toyaudit.test").warning("worker saw %s", self.trip)
        return self.inner.classify(observation, recipient)


def _plan(session: Path, trip: str) -> AuditPlan:
    rules = load_rules([default_rules_dir()])
    return AuditPlan(open_evidence(session), rules, TrippingClassifier(session, trip))


def test_run_shards_raises_a_workers_error_as_itself(flow_session: Path) -> None:
    with pytest.raises(RulesError) as caught:
        run_shards(_plan(flow_session, "rules"), 2, None)

    assert caught.value.message == "rules/x.yaml:3: broken"
    assert caught.value.hint == "fix rule x"
    assert isinstance(caught.value.__cause__, WorkerTracebackError)
    assert "test_workers.py" in str(caught.value.__cause__)
    assert multiprocessing.active_children() == []


def test_run_shards_reports_a_bug_in_a_worker(flow_session: Path) -> None:
    with pytest.raises(WorkerCrashError, match="shard 2 of 2 failed: ZeroDivision"):
        run_shards(_plan(flow_session, "bug"), 2, None)

    assert multiprocessing.active_children() == []


def test_run_shards_reports_a_worker_that_died(flow_session: Path) -> None:
    with pytest.raises(WorkerCrashError, match=r"without finishing \(exit code 9\)"):
        run_shards(_plan(flow_session, "exit"), 2, None)

    assert multiprocessing.active_children() == []


def test_run_shards_forwards_worker_logs(
    flow_session: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="toyaudit"):
        run_shards(_plan(flow_session, "log"), 2, None)

    assert "worker saw log" in caplog.messages


def test_run_shards_shows_the_slowest_shards_progress(flow_session: Path) -> None:
    shown: list[tuple[str, int, int]] = []

    run_shards(_plan(flow_session, "nothing"), 3, lambda *done: shown.append(done))

    done = [bytes_done for _, bytes_done, _ in shown]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert shown[-1] == ("flows.mitm", shown[-1][2], shown[-1][2])


def test_run_shards_stops_every_worker_on_interrupt(flow_session: Path) -> None:
    def interrupt(name: str, done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_shards(_plan(flow_session, "nothing"), 2, interrupt)

    assert multiprocessing.active_children() == []


def _error_of(path: Path, jobs: int) -> ToyauditError:
    with pytest.raises(ToyauditError) as caught:
        run_audit(path, jobs=jobs)
    return caught.value


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("traffic.pcap", b"\xd4\xc3\xb2\xa1\x02\x00"),  # header cut: every shard
        ("flows.mitm", b"2:{}}" + b"5:hello," * 3),  # first flow: the first shard
    ],
)
def test_run_audit_error_is_the_same_for_any_jobs(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    alone = _error_of(path, 1)

    assert isinstance(alone, IngestError)
    for jobs in (2, 3):
        error = _error_of(path, jobs)
        assert type(error) is type(alone)
        assert (error.message, error.hint) == (alone.message, alone.hint)
