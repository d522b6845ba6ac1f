"""Tests for toyaudit.report.markdown: content, escaping, redaction, golden file.

The golden file is ``tests/report/golden/report.md``, rendered from the sample
assessment of ``conftest.py``. After an intended change to the report, rewrite
it with ``TOYAUDIT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/report`` and review
the diff before committing it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from toyaudit.assess.records import Assessment
from toyaudit.report import render_markdown
from toyaudit.report.markdown import escape_markdown

GOLDEN = Path(__file__).parent / "golden" / "report.md"
UPDATE_GOLDEN = os.environ.get("TOYAUDIT_UPDATE_GOLDEN") == "1"


def test_render_markdown_matches_golden_file(assessment: Assessment) -> None:
    rendered = render_markdown(assessment)
    if UPDATE_GOLDEN:
        GOLDEN.write_text(rendered, encoding="utf-8")
    assert GOLDEN.is_file(), f"{GOLDEN} missing; set TOYAUDIT_UPDATE_GOLDEN=1"
    assert rendered == GOLDEN.read_text(encoding="utf-8")


def test_render_markdown_has_parent_sections_before_appendix(
    assessment: Assessment,
) -> None:
    text = render_markdown(assessment)
    headings = [
        "## What your toy collects",
        "## Who receives it",
        "## How it is protected",
        "## Security checks",
        "## What you can do",
        "## Technical appendix",
        "## Technical appendix: security checks",
        "## What this audit could not see",
    ]
    positions = [text.index(heading) for heading in headings]
    assert positions == sorted(positions)


def test_escape_markdown_neutralises_markup() -> None:
    escaped = escape_markdown("<b>*x*_y_ [a](b) | `c` &amp; \\ www.t.example")
    assert escaped == (
        "\\<b\\>\\*x\\*\\_y\\_ \\[a\\]\\(b\\) \\| \\`c\\` "
        "\\&amp; \\\\ www\\.t\\.example"
    )


def test_render_markdown_escapes_hostile_host(
    assessment: Assessment, hostile_host: str
) -> None:
    text = render_markdown(assessment)
    assert hostile_host not in text
    assert re.search(r"(?<!\\)[<>&]", text) is None, "unescaped HTML character"
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in text


def test_render_markdown_escapes_table_and_emphasis_marks(
    assessment: Assessment,
) -> None:
    text = render_markdown(assessment)
    assert "n\\|a\\*m\\_e" in text
    assert "n|a*m_e" not in text


def test_render_markdown_scrubs_escape_sequences(assessment: Assessment) -> None:
    text = render_markdown(assessment)
    assert "\x1b" not in text
    assert "X-Serial\\\\x1b\\[31m" in text


def test_render_markdown_redacts_persona_values(
    assessment: Assessment, child_name: str, wifi_value: str
) -> None:
    text = render_markdown(assessment)
    assert child_name not in text
    assert wifi_value not in text
    assert "\\[redacted: child\\.name, 8 characters\\]".replace(":", "\\:") in text


def test_render_markdown_reveal_shows_values(
    assessment: Assessment, child_name: str, wifi_value: str
) -> None:
    text = render_markdown(assessment, reveal=True)
    assert child_name in text
    assert wifi_value in text


def test_render_markdown_advises_blocking_the_tracker(assessment: Assessment) -> None:
    text = render_markdown(assessment)
    block = (
        "**CRITICAL** Block \\<script\\>alert\\(1\\)\\</script\\> on your home router"
    )
    assert block in text
    assert "Change any password the toy may have sent" in text
    assert "Turn off the feature that sends your child's voice" in text


def test_render_markdown_lists_coverage_problem(assessment: Assessment) -> None:
    text = render_markdown(assessment)
    assert "**Skipped:** traffic\\.pcap\\: packet 881 cut short \\[bold\\]" in text
    assert "Packets read: 1200; flows read: 34." in text


def test_render_markdown_empty_assessment(quiet_assessment: Assessment) -> None:
    text = render_markdown(quiet_assessment)
    assert "toyaudit found none of your child's data in this capture." in text
    assert "No contacts were recorded." in text
    assert "**In short:** no findings." in text


def test_render_markdown_is_deterministic(assessment: Assessment) -> None:
    first = render_markdown(assessment)
    assert first == render_markdown(assessment)
    assert first.endswith("\n")
    assert not first.endswith("\n\n")


def test_render_markdown_escapes_revealed_values(assessment: Assessment) -> None:
    finding = assessment.findings[1]
    hostile = dataclasses.replace(finding.detections[0], value="<img src=x>*y*")
    changed = dataclasses.replace(
        assessment,
        findings=(dataclasses.replace(finding, detections=(hostile,)),),
    )
    text = render_markdown(changed, reveal=True)
    assert "\\<img src=x\\>\\*y\\*" in text
    assert "<img" not in text.replace("\\<img", "")


def test_render_markdown_says_when_no_check_found_anything(
    quiet_assessment: Assessment,
) -> None:
    text = render_markdown(quiet_assessment)
    assert "## Security checks" in text
    assert "None of the security checks found anything to report." in text
    assert "listed under Security checks" not in text
    assert "Technical appendix: security checks" not in text
