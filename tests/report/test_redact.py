"""Tests for toyaudit.report.redact: control scrubbing, value notes, masking."""

from __future__ import annotations

import dataclasses

from toyaudit.assess.records import Assessment, Detection
from toyaudit.report.redact import MASK, Redactor, redaction_note, scrub


def _first_detection(assessment: Assessment, rule: str) -> Detection:
    for finding in assessment.findings:
        for detection in finding.detections:
            if detection.rule == rule:
                return detection
    raise AssertionError(f"sample has no detection for rule {rule}")


def test_scrub_leaves_printable_text_alone() -> None:
    assert scrub("api.cuddly.example <x> é 熊") == "api.cuddly.example <x> é 熊"


def test_scrub_makes_c0_c1_and_del_visible() -> None:
    assert scrub("a\x1b[31mb\nc\td\x7fe\x9bf\x00") == (
        "a\\x1b[31mb\\x0ac\\x09d\\x7fe\\x9bf\\x00"
    )


def test_scrub_makes_bidi_overrides_and_line_separators_visible() -> None:
    assert scrub("evil\u202egnp.exe\u2028") == "evil\\u202egnp.exe\\u2028"


def test_redaction_note_names_persona_field_and_length(assessment: Assessment) -> None:
    detection = _first_detection(assessment, "persona:child.name")
    assert redaction_note(detection) == "[redacted: child.name, 8 characters]"


def test_redaction_note_without_persona_gives_only_length(
    assessment: Assessment,
) -> None:
    detection = _first_detection(assessment, "serial-number")
    assert redaction_note(detection) == "[redacted: 11 characters]"
    single = dataclasses.replace(detection, value="x")
    assert redaction_note(single) == "[redacted: 1 character]"


def test_redactor_value_hides_unless_revealed(
    assessment: Assessment, wifi_value: str
) -> None:
    detection = _first_detection(assessment, "persona:wifi.password")
    assert wifi_value not in Redactor(assessment).value(detection)
    assert Redactor(assessment, reveal=True).value(detection) == wifi_value


def test_redactor_value_scrubs_revealed_controls(assessment: Assessment) -> None:
    detection = dataclasses.replace(
        _first_detection(assessment, "serial-number"), value="SN\x1b]0;x\x07"
    )
    assert Redactor(assessment, reveal=True).value(detection) == "SN\\x1b]0;x\\x07"


def test_redactor_text_masks_known_values_in_any_case(
    assessment: Assessment, child_name: str
) -> None:
    masked = Redactor(assessment).text(f"cookie 'kid={child_name.upper()}'\x1b")
    assert masked == f"cookie 'kid={MASK}'\\x1b"


def test_redactor_text_masks_nothing_when_revealed(
    assessment: Assessment, child_name: str
) -> None:
    text = f"cookie 'kid={child_name}'"
    assert Redactor(assessment, reveal=True).text(text) == text


def test_redactor_text_leaves_short_values_unmasked(assessment: Assessment) -> None:
    # The telemetry detection's value is "42": too short to mask safely.
    assert Redactor(assessment).text("frame 42") == "frame 42"
