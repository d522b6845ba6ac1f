"""The live display of a capture and its phase keys, on a real pseudo-terminal."""

from __future__ import annotations

import io
import os
import pty
import sys
import termios
import time

import pytest
from rich.console import Console

from toyaudit.capture.recorder import RecorderStatus
from toyaudit.capture.run import CaptureProgress
from toyaudit.cli.capturedisplay import live_display, phase_keys, render_progress

PROGRESS = CaptureProgress(
    elapsed=65.4,
    phase="setup",
    statuses=(
        RecorderStatus("packets", {"packets": 120, "dropped": 0}, running=True),
        RecorderStatus("proxy", {"flows": 3}, failure="mitmdump exited [code 1]"),
        RecorderStatus(
            "ble", {"devices": 1}, running=True, notices=("pair nothing yet",)
        ),
    ),
)


def _text(progress: CaptureProgress) -> str:
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(render_progress(progress))
    return console.export_text()


def test_render_progress_shows_time_phase_totals_failures_and_notices() -> None:
    text = _text(PROGRESS)

    assert "capturing 01:05  phase: setup" in text
    assert "packets 120, dropped 0" in text
    assert "stopped: mitmdump exited [code 1]" in text
    assert "→ pair nothing yet" in text
    assert "[q] stop" in text


def test_live_display_off_a_terminal_prints_each_notice_once() -> None:
    output = io.StringIO()
    console = Console(file=output, width=100)

    with live_display(console) as show:
        show(PROGRESS)
        show(PROGRESS)

    assert output.getvalue() == "pair nothing yet\n"


def test_phase_keys_turn_keys_into_marks_and_restore_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    controller, terminal = pty.openpty()
    stdin = os.fdopen(terminal, "r", closefd=False)
    monkeypatch.setattr(sys, "stdin", stdin)
    before = termios.tcgetattr(terminal)
    marks: list[str] = []
    try:
        with phase_keys(marks.append):
            assert termios.tcgetattr(terminal)[3] & termios.ICANON == 0
            os.write(controller, b"sxPq")
            deadline = time.monotonic() + 5
            while len(marks) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
        after = termios.tcgetattr(terminal)
    finally:
        stdin.close()
        os.close(controller)
        os.close(terminal)

    assert marks == ["setup", "play", "end"]
    assert after == before
