"""An audit's reports are the same byte for byte whatever the number of workers."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tests.audit.conftest import build_large_pcap_session
from toyaudit.assess import DETECTIONS_PER_FINDING
from toyaudit.audit import lenient_collector, run_audit, start_audit
from toyaudit.errors import SessionError
from toyaudit.report import write_reports
from toyaudit.session import load_session
from toyaudit.session.digests import DEFERRED_FROM_BYTES

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


def _changed(session: Path, at: int) -> Path:
    """Flip one byte of the session's capture, ``at`` bytes from its start."""
    capture = session / "traffic.pcap"
    content = bytearray(capture.read_bytes())
    content[at] ^= 0xFF
    capture.write_bytes(bytes(content))
    return session


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("where", ["filler", "file header"])
def test_run_audit_refuses_a_changed_capture_hashed_late(
    tmp_path: Path, jobs: int, where: str
) -> None:
    session = build_large_pcap_session(tmp_path / "session")
    assert (session / "traffic.pcap").stat().st_size >= DEFERRED_FROM_BYTES
    # A changed header makes the capture unreadable too: the manifest's
    # verdict still comes first, as when it was checked before anything else.
    _changed(session, -100 if where == "filler" else 0)
    with pytest.raises(SessionError) as upfront:
        load_session(session)

    with pytest.raises(SessionError) as caught:
        run_audit(session, jobs=jobs)

    assert caught.value.message == upfront.value.message
    assert "traffic.pcap: does not match manifest.json" in caught.value.message


def test_start_audit_draft_is_the_verified_assessment(tmp_path: Path) -> None:
    session = build_large_pcap_session(tmp_path / "session")

    pending = start_audit(session, jobs=2)

    assert pending.verified() is pending.draft
    assert pending.draft.findings
    assert pending.draft == run_audit(session, jobs=1)


def test_start_audit_draft_is_not_vouched_for_until_verified(tmp_path: Path) -> None:
    session = _changed(build_large_pcap_session(tmp_path / "session"), -100)

    pending = start_audit(session, jobs=2)

    assert pending.draft.findings  # the changed byte hides in the filler
    with pytest.raises(SessionError, match="does not match manifest.json"):
        pending.verified()


def test_lenient_collector_restores_the_thresholds() -> None:
    before = gc.get_threshold()

    with lenient_collector():
        assert gc.get_threshold()[0] > before[0]

    assert gc.get_threshold() == before
