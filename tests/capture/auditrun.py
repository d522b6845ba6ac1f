"""Run ``toyaudit`` as a user would, and check what an audit says of a capture.

The capture tests end where a user's work begins: they audit the session a
capture left behind with the ``toyaudit audit`` command, in a process of its
own, and read the reports it wrote. :func:`audit_session` runs the audit and
returns ``findings.json``; :func:`assert_reports_incomplete` checks that a
session cut short says so, with its reason, in every report, since "the
audit still runs on it" (docs/capture-guide.md, "When something goes wrong")
is only worth something if the reader learns the capture was partial.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

INCOMPLETE = "the capture is incomplete ("
"""How a session note about an incomplete capture begins (session/folder.py)."""
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
"""A backslash escaping ASCII punctuation, as report.md writes ``\\(``."""


def run_toyaudit(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m toyaudit ARGS`` with a wide, plain terminal; return the run."""
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "toyaudit", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def audit_session(
    folder: Path, out: Path, codes: tuple[int, ...] = (0,)
) -> dict[str, Any]:
    """Audit ``folder`` into ``out`` and return its ``findings.json``.

    The exit code must be one of ``codes``: a capture cut short may end a
    TLS connection or a packet mid-record, which the audit reports as input
    it could not read (exit code 6).
    """
    audit = run_toyaudit("audit", str(folder), "--out", str(out))
    assert audit.returncode in codes, audit.stdout + audit.stderr
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert isinstance(findings, dict)
    return findings


def assert_reports_incomplete(findings: dict[str, Any], out: Path, reason: str) -> None:
    """The audit in ``out`` says the capture is incomplete, and why.

    ``reason`` is the incomplete reason recorded in ``session.yaml``, or the
    part of it a test can predict. It must appear in the session notes of
    ``findings.json`` and in the "What this audit could not see" section of
    the Markdown and HTML reports.
    """
    notes = [note for note in findings["session"]["notes"] if INCOMPLETE in note]
    assert len(notes) == 1, findings["session"]["notes"]
    assert reason in notes[0], notes[0]
    markdown = (out / "report.md").read_text(encoding="utf-8")
    page = (out / "report.html").read_text(encoding="utf-8")
    shown = {
        "report.md": _MARKDOWN_ESCAPE.sub(r"\1", markdown),
        "report.html": html.unescape(page),
    }
    for report, text in shown.items():
        assert INCOMPLETE in text, f"{report} does not say the capture is incomplete"
        assert reason in text, f"{report} does not give the reason {reason!r}"
