"""End-to-end tests of ``toyaudit batch``, run in a child process as a user would."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema

from tests.capture.auditrun import run_toyaudit
from toyaudit.batch.summary import SCHEMA_RESOURCE
from toyaudit.errors import ExitCode
from toyaudit.report.jsondoc import load_schema

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "captures" / "demo-plushbear"
HOSTILE = "\x1b]0;owned\x07[bold red]x.pcapng"
"""A file name that would retitle a terminal and inject rich markup."""


def test_batch_audits_an_archive_and_writes_the_summary(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(DEMO, archive / "bear")
    shutil.copyfile(DEMO / "traffic.pcapng", archive / HOSTILE)

    completed = run_toyaudit("batch", str(archive), cwd=tmp_path, timeout=300)

    assert completed.returncode == ExitCode.OK, completed.stderr
    out = tmp_path / "reports" / "archive"
    document = json.loads((out / "batch.json").read_text())
    jsonschema.validate(document, load_schema(SCHEMA_RESOURCE))
    assert [(item["target"], item["status"]) for item in document["targets"]] == [
        (HOSTILE, "complete"),
        ("bear", "complete"),
    ]
    assert (out / "bear" / "findings.json").is_file()
    assert (out / HOSTILE / "report.html").is_file()
    assert "2 complete, 0 incomplete, 0 failed of 2 targets" in completed.stdout
    assert "\x1b" not in completed.stdout + completed.stderr
    assert "[bold red]x.pcapng" in completed.stdout  # shown as text, not markup


def test_batch_exits_with_the_failed_targets_code_and_names_it(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    shutil.copyfile(DEMO / "traffic.pcapng", archive / "good.pcapng")
    (archive / "bad.pcap").write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    out = tmp_path / "summary"

    completed = run_toyaudit("batch", str(archive), "--out", str(out), cwd=tmp_path)

    assert completed.returncode == ExitCode.SESSION, completed.stderr
    rows = (out / "batch.csv").read_text().splitlines()
    assert rows[1].startswith("bad.pcap,capture,failed,3,")
    assert rows[2].startswith("good.pcapng,capture,complete,0,")
    assert "bad.pcap: pcap global header cut short" in completed.stdout
    assert re.search(r"\[[12]/2\] bad\.pcap failed", completed.stderr)
    assert re.search(r"\[[12]/2\] good\.pcapng complete", completed.stderr)


def test_batch_of_a_folder_without_captures_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no captures\n")

    completed = run_toyaudit("batch", str(tmp_path), cwd=tmp_path)

    assert completed.returncode == ExitCode.SESSION
    assert "holds no session folders or capture files" in completed.stderr
    assert "next step:" in completed.stderr
