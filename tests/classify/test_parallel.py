"""Classifying on several processes gives exactly what one process gives."""

from __future__ import annotations

from pathlib import Path

from toyaudit.classify import default_rules_dir, load_rules
from toyaudit.classify.parallel import BATCH, classify_all
from toyaudit.ingest import read_session
from toyaudit.ingest.records import Coverage
from toyaudit.session import load_session

DEMO = Path(__file__).resolve().parents[2] / "captures" / "demo-plushbear"


def test_classify_all_workers_match_single_process() -> None:
    session = load_session(DEMO)
    folders = [default_rules_dir()]
    rules = load_rules(folders)
    observations = list(read_session(session, Coverage())) * 4
    assert len(observations) > BATCH  # several batches in flight

    alone = list(classify_all(observations, rules, session, folders, jobs=1))
    pooled = list(classify_all(observations, rules, session, folders, jobs=2))

    assert pooled == alone
    assert sum(len(matches) for _, _, matches in pooled) > 20
