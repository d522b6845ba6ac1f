"""The capture run: start, watch, stop for every reason, always seal."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.capture.auditrun import assert_reports_incomplete, audit_session
from tests.capture.fakerecorders import (
    PCAP_HEADER_SIZE,
    FileRecorder,
    UnstartableRecorder,
    udp_pcap,
)
from toyaudit.capture.run import RESERVE_FILE, CaptureProgress, CaptureRun
from toyaudit.capture.sessionfile import (
    LOCK_FILE,
    MARKS_FILE,
    CaptureDescription,
    append_mark,
)
from toyaudit.errors import CaptureError, SessionError
from toyaudit.session.folder import load_session, verify_manifest
from toyaudit.session.records import Toy

DESCRIPTION = CaptureDescription(
    toy=Toy(name="Bramble", vendor="PlushPal"),
    first_party_domains=("plushpal.example",),
    captured_by="test",
    settings={"interface": "ta-hot0", "toy": "02:00:00:00:77:02"},
)


def _session_yaml(folder: Path) -> dict[str, object]:
    document = yaml.safe_load((folder / "session.yaml").read_text())
    assert isinstance(document, dict)
    return document


def _capture(folder: Path) -> dict[str, object]:
    capture = _session_yaml(folder)["capture"]
    assert isinstance(capture, dict)
    return capture


def _run_in_thread(run: CaptureRun) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(run.run()), daemon=True)
    thread.start()
    return thread, outcome


def _wait_for(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_run_duration_ends_complete_and_sealed(tmp_path: Path) -> None:
    folder = tmp_path / "session"
    recorder = FileRecorder(folder)
    progress: list[CaptureProgress] = []
    run = CaptureRun(folder, DESCRIPTION, [recorder], duration=0.3, tick=0.05)

    outcome = run.run(progress.append)

    assert outcome.complete and outcome.reason is None
    assert progress and progress[-1].statuses[0].counts["lines"] > 0
    capture = _capture(folder)
    assert capture["complete"] is True
    assert capture["recorders"] == {
        "lines": {"lines": recorder.status().counts["lines"]}
    }
    verify_manifest(folder)
    assert not (folder / LOCK_FILE).exists() and not (folder / RESERVE_FILE).exists()
    session = load_session(folder)
    assert session.evidence == ("lines.txt",)
    assert not any("incomplete" in note for note in session.notes)


def test_run_folder_and_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "session"
    persona = tmp_path / "persona.yaml"
    persona.write_text("child:\n  name: Mirabel Quince\n")
    CaptureRun(
        folder,
        DESCRIPTION,
        [FileRecorder(folder)],
        persona=persona,
        duration=0.1,
        tick=0.05,
    ).run()

    assert folder.stat().st_mode & 0o777 == 0o700
    for name in ("session.yaml", "persona.yaml", "manifest.json"):
        assert (folder / name).stat().st_mode & 0o077 == 0, name
    assert load_session(folder).persona[0].value == "Mirabel Quince"


def test_run_recorder_failure_ends_incomplete_with_reason(tmp_path: Path) -> None:
    folder = tmp_path / "session"
    healthy = FileRecorder(folder, name="packets", file_name="a.txt")
    failing = FileRecorder(folder, name="proxy", file_name="b.txt", fail_after=5)
    run = CaptureRun(folder, DESCRIPTION, [healthy, failing], duration=10, tick=0.02)

    outcome = run.run()

    assert not outcome.complete
    assert outcome.reason == "proxy recorder stopped: told to fail"
    assert healthy.stop_calls == 1 and failing.stop_calls == 1
    capture = _capture(folder)
    assert capture["complete"] is False
    assert capture["incomplete_reason"] == "proxy recorder stopped: told to fail"
    assert "failure" in capture["recorders"]["proxy"]  # type: ignore[index]
    notes = load_session(folder).notes
    assert any("capture is incomplete (proxy recorder stopped" in n for n in notes)


def test_run_start_failure_stops_started_recorders_and_seals(tmp_path: Path) -> None:
    folder = tmp_path / "session"
    first = FileRecorder(folder)
    broken = UnstartableRecorder()

    with pytest.raises(CaptureError, match="broken: cannot start"):
        CaptureRun(folder, DESCRIPTION, [first, broken], duration=5).run()

    assert first.stop_calls == 1 and broken.stop_calls == 0
    assert (
        _capture(folder)["incomplete_reason"] == "could not start: broken: cannot start"
    )
    verify_manifest(folder)


def test_run_stop_request_marks_incomplete(tmp_path: Path) -> None:
    folder = tmp_path / "session"
    run = CaptureRun(folder, DESCRIPTION, [FileRecorder(folder)], tick=0.02)
    thread, outcome = _run_in_thread(run)
    _wait_for(folder / "lines.txt")

    run.request_stop("terminated by SIGTERM")
    thread.join(timeout=5)

    assert outcome and not outcome[0].complete  # type: ignore[attr-defined]
    assert _capture(folder)["incomplete_reason"] == "terminated by SIGTERM"


def test_run_phase_marks_from_keys_and_command_land_in_session_yaml(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "session"
    run = CaptureRun(folder, DESCRIPTION, [FileRecorder(folder)], tick=0.02)
    thread, outcome = _run_in_thread(run)
    _wait_for(folder / LOCK_FILE)

    run.mark("setup")
    time.sleep(0.05)
    append_mark(folder, "Setup done", dt.datetime.now(dt.UTC))
    time.sleep(0.1)
    phases_mid_run = [p["name"] for p in _session_yaml(folder)["phases"]]  # type: ignore[attr-defined]
    time.sleep(0.05)
    append_mark(folder, "end", dt.datetime.now(dt.UTC))
    thread.join(timeout=5)

    assert phases_mid_run == ["pre-setup", "setup", "play"]
    assert outcome[0].complete  # type: ignore[attr-defined]
    session = load_session(folder)
    assert [phase.name for phase in session.phases] == ["pre-setup", "setup", "play"]
    assert all(
        a.end == b.start
        for a, b in zip(session.phases, session.phases[1:], strict=False)
    )
    assert not (folder / MARKS_FILE).exists()


def test_mark_without_running_capture_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no capture is recording"):
        append_mark(tmp_path, "play", dt.datetime.now(dt.UTC))


def test_run_refuses_a_folder_that_holds_a_session(tmp_path: Path) -> None:
    folder = tmp_path / "session"
    CaptureRun(folder, DESCRIPTION, [FileRecorder(folder)], duration=0.05).run()

    with pytest.raises(CaptureError, match="already holds a session"):
        CaptureRun(folder, DESCRIPTION, [FileRecorder(folder)], duration=0.05).run()


def test_run_second_capture_in_same_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "session"
    run = CaptureRun(folder, DESCRIPTION, [FileRecorder(folder)], tick=0.02)
    thread, _ = _run_in_thread(run)
    _wait_for(folder / "lines.txt")
    try:
        # the first run's session.yaml is in place, so a second is refused
        with pytest.raises(CaptureError):
            CaptureRun(folder, DESCRIPTION, [FileRecorder(folder)]).run()
    finally:
        run.request_stop(None)
        thread.join(timeout=5)


def test_run_crash_leaves_session_marked_in_progress(tmp_path: Path) -> None:
    """A capture process killed outright leaves a folder that says so."""
    folder = tmp_path / "session"
    script = (
        "import sys; from pathlib import Path;"
        "sys.path.insert(0, '.');"
        "from tests.capture.fakerecorders import FileRecorder;"
        "from toyaudit.capture.run import CaptureRun;"
        "from toyaudit.capture.sessionfile import CaptureDescription;"
        "from toyaudit.session.records import Toy;"
        f"folder = Path({str(folder)!r});"
        "CaptureRun(folder, CaptureDescription(Toy('T')), [FileRecorder(folder)]).run()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=Path(__file__).parents[2]
    )
    try:
        _wait_for(folder / "lines.txt", timeout=20)
    finally:
        child.kill()
        child.wait()

    assert _capture(folder)["complete"] is False
    assert "ended without finishing" in str(_capture(folder)["incomplete_reason"])
    with pytest.raises(SessionError, match="manifest.json"):
        load_session(folder)


def test_run_full_disk_still_writes_session_and_manifest(tmp_path: Path) -> None:
    """On a full disk the reserve leaves room for session.yaml and the manifest.

    The session is then audited as a user would: every whole packet written
    before the disk filled is read, and the reports say why the capture ended.
    """
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True
    )
    try:
        folder = mount / "session"
        header, record = udp_pcap(4096)
        recorder = FileRecorder(
            folder, "packets", "traffic.pcap", header=header, record=record
        )
        outcome = CaptureRun(
            folder, DESCRIPTION, [recorder], duration=30, tick=0.02
        ).run()

        assert not outcome.complete
        assert "No space left on device" in str(outcome.reason)
        manifest = json.loads((folder / "manifest.json").read_text())
        size = manifest["files"]["traffic.pcap"]["size"]
        assert size > 512 * 1024
        verify_manifest(folder)
        assert _capture(folder)["complete"] is False

        # a write cut short by the full disk may leave half a packet (exit 6)
        findings = audit_session(folder, tmp_path / "report", codes=(0, 6))
        assert_reports_incomplete(findings, tmp_path / "report", str(outcome.reason))
        assert findings["coverage"]["files_read"] == ["traffic.pcap"]
        whole_packets = (size - PCAP_HEADER_SIZE) // len(record)
        assert findings["coverage"]["packets"] == whole_packets
    finally:
        subprocess.run(["umount", str(mount)], check=True)
