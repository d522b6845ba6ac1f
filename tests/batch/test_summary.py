"""Tests of toyaudit.batch.summary: batch.json against its schema, batch.csv."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import jsonschema
import pytest

from toyaudit.assess import Severity
from toyaudit.batch import BatchEntry, BatchTarget, Status
from toyaudit.batch.summary import (
    COLUMNS,
    SCHEMA_RESOURCE,
    render_csv,
    render_json,
    write_summary,
)
from toyaudit.errors import ReportError
from toyaudit.report.jsondoc import load_schema

RULES = "ab" * 32
DIGEST = "cd" * 32

ENTRIES = [
    BatchEntry(
        BatchTarget(Path("/a/bear"), "bear", True),
        Status.COMPLETE,
        0,
        reports="bear",
        findings=3,
        checks=1,
        highest_severity=Severity.CRITICAL,
        categories=("child-name", "precise-location"),
        trackers=("app-measurement.com", "ads.example"),
        manifest_sha256=DIGEST,
    ),
    BatchEntry(
        BatchTarget(Path("/a/2026/cut.pcap"), "2026/cut.pcap", False),
        Status.INCOMPLETE,
        6,
        reports="2026/cut.pcap",
        problems=2,
        manifest_sha256=DIGEST,
    ),
    BatchEntry(
        BatchTarget(
            Path("/a/=cmd|' /C calc'!A0.pcap"), "=cmd|' /C calc'!A0.pcap", False
        ),
        Status.FAILED,
        3,
        error="@SUM(1+1): pcap global header cut short; next step: restore it",
    ),
]


def test_batch_json_follows_its_published_schema() -> None:
    document = json.loads(render_json(ENTRIES, RULES))

    schema = load_schema(SCHEMA_RESOURCE)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema)
    assert [target["status"] for target in document["targets"]] == [
        "complete",
        "incomplete",
        "failed",
    ]
    failed = document["targets"][2]
    assert (failed["reports"], failed["manifest_sha256"]) == (None, None)
    assert failed["highest_severity"] is None
    assert document["targets"][0]["kind"] == "session"


def test_batch_json_schema_refuses_what_a_summary_never_holds() -> None:
    schema = load_schema(SCHEMA_RESOURCE)
    document = json.loads(render_json(ENTRIES, RULES))
    document["targets"][0]["status"] = "fine"

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_batch_csv_has_one_row_per_target_with_lists_joined() -> None:
    rows = list(csv.reader(io.StringIO(render_csv(ENTRIES).decode())))

    assert rows[0] == list(COLUMNS)
    first = dict(zip(COLUMNS, rows[1], strict=True))
    assert first["categories"] == "child-name;precise-location"
    assert first["trackers"] == "app-measurement.com;ads.example"
    assert (first["highest_severity"], first["exit_code"]) == ("critical", "0")
    assert dict(zip(COLUMNS, rows[2], strict=True))["error"] == ""
    assert len(rows) == 4


def test_batch_csv_defuses_cells_a_spreadsheet_would_run() -> None:
    rows = list(csv.reader(io.StringIO(render_csv(ENTRIES).decode())))
    failed = dict(zip(COLUMNS, rows[3], strict=True))

    assert failed["target"] == "'=cmd|' /C calc'!A0.pcap"
    assert failed["error"].startswith("'@SUM(1+1)")
    assert not any(
        cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row
    )


def test_write_summary_writes_both_files_privately(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "archive"

    written = write_summary(ENTRIES, RULES, out)

    assert [path.name for path in written] == ["batch.json", "batch.csv"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in written)


def test_write_summary_names_the_file_it_cannot_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("a file where the folder should be")

    with pytest.raises(ReportError, match="batch.json: cannot write"):
        write_summary(ENTRIES, RULES, out)
