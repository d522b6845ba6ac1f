"""An audit's reports are the same byte for byte whatever the number of workers."""

from __future__ import annotations

from pathlib import Path

from toyaudit.assess import DETECTIONS_PER_FINDING
from toyaudit.audit import run_audit
from toyaudit.report import write_reports

REPORTS = ("findings.json", "report.md", "report.html")


def _reports(session: Path, jobs: int, out: Path) -> dict[str, bytes]:
    assessment = run_audit(session, jobs=jobs)
    write_reports(assessment, out, reveal=True)
    return {name: (out / name).read_bytes() for name in REPORTS}


def test_run_audit_reports_do_not_depend_on_jobs(
    split_session: Path, tmp_path: Path
) -> None:
    alone = _reports(split_session, 1, tmp_path / "jobs1")

    for jobs in (2, 3):
        assert _reports(split_session, jobs, tmp_path / f"jobs{jobs}") == alone


def test_run_audit_split_session_has_what_shards_must_merge(
    split_session: Path,
) -> None:
    assessment = run_audit(split_session, jobs=3)

    assert max(f.occurrences for f in assessment.findings) > DETECTIONS_PER_FINDING
    assert max(len(f.detections) for f in assessment.findings) == (
        DETECTIONS_PER_FINDING
    )
    assert len(assessment.contacts) >= 3
    assert len(assessment.coverage.problems) >= 2
    raised_by = {finding.phase for finding in assessment.findings}
    assert "setup" in raised_by and None not in raised_by
    detection_phases = {
        detection.phase
        for finding in assessment.findings
        for detection in finding.detections
    }
    assert {"setup", "play"} <= detection_phases
