"""Tests for toyaudit.report.write_reports: files, permissions, failures."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from toyaudit.assess.records import Assessment
from toyaudit.errors import ReportError
from toyaudit.report import (
    REPORT_FILES,
    render_html,
    render_json,
    render_markdown,
    render_reports,
    write_rendered,
    write_reports,
)
from toyaudit.report.outline import build_outline


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_reports_writes_three_private_files(
    assessment: Assessment, tmp_path: Path
) -> None:
    out_dir = tmp_path / "reports" / "plushbear"
    written = write_reports(assessment, out_dir)
    assert written == [out_dir / name for name in REPORT_FILES]
    assert _mode(out_dir) == 0o700
    assert all(_mode(path) == 0o600 for path in written)
    assert sorted(os.listdir(out_dir)) == sorted(REPORT_FILES)


def test_write_reports_content_matches_renderers(
    assessment: Assessment, tmp_path: Path
) -> None:
    json_path, markdown_path, html_path = write_reports(assessment, tmp_path / "out")
    assert json_path.read_bytes() == render_json(assessment)
    assert markdown_path.read_text(encoding="utf-8") == render_markdown(assessment)
    assert html_path.read_text(encoding="utf-8") == render_html(assessment)


@pytest.mark.parametrize("reveal", [False, True])
def test_render_reports_share_one_outline_and_say_the_same(
    assessment: Assessment, tmp_path: Path, reveal: bool
) -> None:
    rendered = render_reports(assessment, reveal)
    outline = build_outline(assessment, reveal)

    assert list(rendered) == list(REPORT_FILES)
    assert rendered["report.md"] == render_markdown(assessment, reveal).encode()
    assert render_markdown(assessment, reveal, outline) == render_markdown(
        assessment, reveal
    )
    assert render_html(assessment, reveal, outline) == render_html(assessment, reveal)
    written = write_rendered(rendered, tmp_path / "out")
    assert [path.read_bytes() for path in written] == list(rendered.values())
    assert all(_mode(path) == 0o600 for path in written)


def test_write_reports_reveal_reaches_every_file(
    assessment: Assessment, tmp_path: Path, child_name: str
) -> None:
    hidden = write_reports(assessment, tmp_path / "hidden")
    shown = write_reports(assessment, tmp_path / "shown", reveal=True)
    assert not any(child_name.encode() in path.read_bytes() for path in hidden)
    assert all(child_name.encode() in path.read_bytes() for path in shown)


def test_write_reports_twice_is_byte_identical(
    assessment: Assessment, tmp_path: Path
) -> None:
    first = [path.read_bytes() for path in write_reports(assessment, tmp_path / "a")]
    second = [path.read_bytes() for path in write_reports(assessment, tmp_path / "b")]
    assert first == second


def test_write_reports_out_dir_is_a_file(
    assessment: Assessment, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ReportError) as caught:
        write_reports(assessment, blocker)
    assert str(blocker) in caught.value.message
    assert caught.value.hint
    assert blocker.read_text() == "x"


def test_write_reports_failure_leaves_no_partial_files(
    assessment: Assessment, tmp_path: Path
) -> None:
    # A folder where report.md belongs makes the second write fail after
    # findings.json was written; root cannot bypass this, unlike a chmod.
    out_dir = tmp_path / "out"
    (out_dir / "report.md").mkdir(parents=True)
    with pytest.raises(ReportError) as caught:
        write_reports(assessment, out_dir)
    assert str(out_dir / "report.md") in caught.value.message
    assert sorted(os.listdir(out_dir)) == ["report.md"]
    assert list((out_dir / "report.md").iterdir()) == []
