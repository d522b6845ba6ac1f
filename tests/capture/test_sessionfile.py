"""session.yaml written by a capture, phase names and the marks file."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from toyaudit.capture.sessionfile import (
    LOCK_FILE,
    MARKS_FILE,
    MarkReader,
    PhaseMark,
    phase_name,
    phases_from_marks,
    running_capture_pid,
)
from toyaudit.errors import CaptureError

T0 = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("setup", "setup"),
        ("  Setup   done ", "play"),
        ("opt-out", "after-opt-out"),
        ("Deleted", "after-deletion"),
        ("stop", "end"),
        ("bedtime story", "bedtime-story"),
    ],
)
def test_phase_name_normalises_everyday_words(typed: str, name: str) -> None:
    assert phase_name(typed) == name


def test_phase_name_refuses_blank() -> None:
    with pytest.raises(CaptureError, match="needs a name"):
        phase_name("   ")


def test_phases_from_marks_chains_phases_and_drops_empty_ones() -> None:
    marks = [
        PhaseMark("setup", _at(10)),
        PhaseMark("idle", _at(10)),
        PhaseMark("play", _at(30)),
    ]

    phases = phases_from_marks(T0, marks, _at(60))

    assert [p["name"] for p in phases] == ["pre-setup", "idle", "play"]
    assert phases[0]["end"] == phases[1]["start"] == "2026-12-03T10:00:10.000Z"
    assert phases[-1]["end"] == "2026-12-03T10:01:00.000Z"


def test_mark_reader_reads_only_whole_new_lines(tmp_path: Path) -> None:
    reader = MarkReader(tmp_path)
    assert reader.read_new() == []
    marks_path = tmp_path / MARKS_FILE
    marks_path.write_text(
        '{"name": "setup", "at": "2026-12-03T10:00:05Z"}\nnot json\n{"name": "pl'
    )

    first = reader.read_new()
    with marks_path.open("a") as marks_file:
        marks_file.write('ay", "at": "2026-12-03T10:00:09Z"}\n')
    second = reader.read_new()

    assert first == [PhaseMark("setup", _at(5))]
    assert second == [PhaseMark("play", _at(9))]


def test_running_capture_pid_ignores_dead_and_garbled_locks(tmp_path: Path) -> None:
    lock = tmp_path / LOCK_FILE
    lock.write_text(f"{os.getpid()}\n")
    assert running_capture_pid(tmp_path) == os.getpid()
    lock.write_text("999999999\n")
    assert running_capture_pid(tmp_path) is None
    lock.write_text("garbage")
    assert running_capture_pid(tmp_path) is None
