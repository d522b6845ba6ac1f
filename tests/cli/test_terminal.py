"""Tests for toyaudit.cli.terminal: the rich summary printed after an audit."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

import pytest
from rich.console import Console

from toyaudit.assess.records import Assessment
from toyaudit.cli.terminal import print_summary, safe_markup

SAMPLES = Path(__file__).parent.parent / "report" / "conftest.py"


def _samples() -> ModuleType:
    """Load the report tests' sample assessments (tests are not a package)."""
    spec = importlib.util.spec_from_file_location("report_samples", SAMPLES)
    assert spec is not None and spec.loader is not None, f"{SAMPLES} missing"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def samples() -> ModuleType:
    """The module holding the sample assessments and their hostile strings."""
    return _samples()


def _render(assessment: Assessment, written: tuple[Path, ...] = ()) -> str:
    output = io.StringIO()
    console = Console(file=output, width=120, force_terminal=False)
    print_summary(assessment, console, written=written)
    return output.getvalue()


def test_print_summary_headline_counts_severities(samples: ModuleType) -> None:
    text = _render(samples.sample_assessment())
    first_line = text.splitlines()[0]
    assert first_line == (
        "PlushBear <Pro>: 5 findings: 2 critical, 1 high, 1 low, 1 info; "
        "4 security check results: 2 critical, 1 high, 1 info"
    )


def test_print_summary_checks_table_most_severe_first(samples: ModuleType) -> None:
    text = _render(samples.sample_assessment())
    lines = text.splitlines()
    assert any("Security checks" in line for line in lines)
    rows = [
        ("critical", "The toy sends passwords or keys", "203.0.113.9"),
        ("critical", "The toy trusts a fake security", samples.HOSTILE_HOST),
        ("high", "The toy broadcasts your child's", "C0:FF:EE:12:34:56"),
        ("info", "The toy refused a fake security", "api.cuddly.example"),
    ]
    positions = []
    for severity, title, subject in rows:
        line = next(item for item in lines if title in item)
        assert severity in line and subject in line
        positions.append(lines.index(line))
    assert positions == sorted(positions)


def test_print_summary_table_rows_most_severe_first(samples: ModuleType) -> None:
    text = _render(samples.sample_assessment())
    assert "What is collected, by whom, how it is protected" in text
    rows = [
        ("your child's name", samples.HOSTILE_HOST, "plaintext", "critical"),
        ("your Wi-Fi password", "203.0.113.9", "plaintext", "critical"),
        ("your child's voice", "speech.cloud.example", "tls", "high"),
        ("the toy's serial number", "api.cuddly.example", "tls", "low"),
    ]
    lines = text.splitlines()
    positions = []
    for label, host, transport, severity in rows:
        line = next(item for item in lines if label in item)
        assert host in line and transport in line and severity in line
        positions.append(lines.index(line))
    assert positions == sorted(positions)
    assert "tracker (AdNet Ltd)" in text


def test_print_summary_counts_contacts_and_warns(samples: ModuleType) -> None:
    text = _render(samples.sample_assessment())
    assert "The toy contacted 5 hosts." in text
    assert "warning: traffic.pcap: packet 881 cut short [bold]\\x1b[2J" in text


def test_print_summary_never_emits_escape_bytes(samples: ModuleType) -> None:
    text = _render(samples.sample_assessment())
    assert "\x1b" not in text
    assert "\x9b" not in text


def test_print_summary_lists_written_paths(samples: ModuleType) -> None:
    written = (Path("reports/x/findings.json"), Path("reports/[red]x/report.md"))
    text = _render(samples.sample_assessment(), written)
    assert "Report written: reports/x/findings.json" in text
    assert "Report written: reports/[red]x/report.md" in text


def test_print_summary_hides_personal_values(samples: ModuleType) -> None:
    text = _render(samples.sample_assessment())
    assert samples.CHILD_NAME not in text
    assert samples.WIFI_PERSONA_VALUE not in text


def test_print_summary_without_findings(samples: ModuleType) -> None:
    text = _render(samples.empty_assessment())
    assert "PlushBear <Pro>: no findings" in text
    assert "security check" not in text.lower()
    assert "What is collected" not in text
    assert "The toy contacted 0 hosts." in text


def test_safe_markup_escapes_markup_and_controls() -> None:
    assert safe_markup("[bold]x\x1b[0m") == "\\[bold]x\\x1b[0m"
