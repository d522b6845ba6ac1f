"""Tests for toyaudit.report.jsondoc: schema, fields, order, determinism."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import pytest

from toyaudit.assess.records import Assessment
from toyaudit.report import render_json
from toyaudit.report.jsondoc import (
    REVISION_1_1_RESOURCE,
    SCHEMA_ID,
    VERSION_1_RESOURCE,
    _lay_out,
    load_schema,
)


def _validate(document: Any, resource: str | None = None) -> None:
    schema = load_schema() if resource is None else load_schema(resource)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(document)


def _document(assessment: Assessment, reveal: bool = False) -> Any:
    return json.loads(render_json(assessment, reveal).decode("utf-8"))


@pytest.mark.parametrize("reveal", [False, True])
def test_render_json_validates_against_schema(
    assessment: Assessment, reveal: bool
) -> None:
    _validate(_document(assessment, reveal))


def test_render_json_empty_assessment_validates(quiet_assessment: Assessment) -> None:
    document = _document(quiet_assessment)
    _validate(document)
    assert document["findings"] == []
    assert document["contacts"] == []


def test_schema_rejects_a_document_missing_a_field(assessment: Assessment) -> None:
    document = _document(assessment)
    broken = copy.deepcopy(document)
    del broken["findings"][0]["detections"][0]["evidence"]
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)


def test_schema_rejects_unknown_severity(assessment: Assessment) -> None:
    broken = _document(assessment)
    broken["findings"][0]["severity"] = "catastrophic"
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)


def test_render_json_header_and_run(assessment: Assessment) -> None:
    document = _document(assessment)
    assert document["$schema"] == SCHEMA_ID == load_schema()["$id"]
    assert SCHEMA_ID == "urn:toyaudit:findings-1.2"
    assert document["schema_version"] == 1
    assert document["run"] == {
        "tool_version": "0.1.0",
        "rules_sha256": "a" * 64,
        "manifest_sha256": "b" * 64,
        "redacted": True,
    }
    assert _document(assessment, reveal=True)["run"]["redacted"] is False


def test_render_json_session_fields(assessment: Assessment) -> None:
    session = _document(assessment)["session"]
    assert session["name"] == "plushbear-2026-11-20"
    assert session["toy"] == {
        "name": "PlushBear <Pro>",
        "vendor": "Cuddly Corp",
        "model": "PB-2",
        "firmware": "1.4.2",
    }
    assert session["first_party_domains"] == ["cuddly.example"]
    assert session["captured_at"] == "2026-11-20T10:00:00+00:00"
    assert session["captured_by"] == "Test lab"
    assert [phase["name"] for phase in session["phases"]] == ["setup", "play"]
    assert session["phases"][1]["end"] == "2026-11-20T10:20:00+00:00"


def test_render_json_findings_most_severe_first(assessment: Assessment) -> None:
    findings = _document(assessment)["findings"]
    ordered = [(item["severity"], item["category"]["tier"]) for item in findings]
    # Both critical: tier 2 comes before tier S, which sorts after tier 4.
    assert ordered == [
        ("critical", "2"),
        ("critical", "S"),
        ("high", "1"),
        ("low", "3"),
        ("info", "4"),
    ]


def test_render_json_finding_fields_round_trip(
    assessment: Assessment, hostile_host: str
) -> None:
    finding = _document(assessment)["findings"][0]
    assert finding["id"] == "F-000002"
    assert finding["category"] == {
        "id": "child-name",
        "label": "your child's name",
        "tier": "2",
    }
    assert finding["recipient"] == {
        "host": hostile_host,
        "party": "tracker",
        "owner": "AdNet Ltd",
        "purpose": "advertising",
    }
    assert finding["transport"] == "plaintext"
    assert finding["severity_reason"].startswith("identifying data")
    assert finding["occurrences"] == 2


def test_render_json_detection_fields_round_trip(
    assessment: Assessment, pipe_location: str
) -> None:
    detection = _document(assessment)["findings"][0]["detections"][0]
    assert detection == {
        "method": "persona",
        "rule": "persona:child.name",
        "location": pipe_location,
        "decoding": ["url", "base64"],
        "value": "[redacted: child.name, 8 characters]",
        "confidence": 1.0,
        "persona_field": "child.name",
        "form": "base64",
        "evidence": {
            "file": "traffic.pcap",
            "packets": [12, 13],
            "flow_id": None,
            "reference": "traffic.pcap frames 12, 13",
            "dns_name": None,
        },
        "phase": None,
    }


def test_render_json_evidence_names_the_dns_answer(assessment: Assessment) -> None:
    contacts = _document(assessment)["contacts"]
    [clock] = [
        item for item in contacts if item["recipient"]["host"] == "time.example.net"
    ]

    assert clock["first_evidence"] == {
        "file": "traffic.pcap",
        "packets": [2],
        "flow_id": None,
        "reference": "traffic.pcap frame 2, server time.example.net "
        "(192.0.2.123, from the DNS answer in frame 1)",
        "dns_name": {
            "name": "time.example.net",
            "address": "192.0.2.123",
            "answer": {
                "file": "traffic.pcap",
                "packets": [1],
                "flow_id": None,
                "reference": "traffic.pcap frame 1",
                "dns_name": None,
            },
        },
    }


def test_render_json_names_the_phase_that_raised_a_finding(
    assessment: Assessment,
) -> None:
    findings = {item["id"]: item for item in _document(assessment)["findings"]}

    assert findings["F-000004"]["phase"] == "setup"
    assert findings["F-000004"]["detections"][0]["phase"] == "setup"
    assert findings["F-000002"]["phase"] is None


def test_render_json_scrubs_controls_in_location(
    assessment: Assessment, escape_location: str
) -> None:
    raw = render_json(assessment)
    assert b"\x1b" not in raw
    assert b"\\u001b" not in raw
    locations = [
        detection["location"]
        for finding in _document(assessment)["findings"]
        for detection in finding["detections"]
    ]
    assert escape_location.replace("\x1b", "\\x1b") in locations


def test_render_json_contacts_sorted_by_host(
    assessment: Assessment, hostile_host: str
) -> None:
    contacts = _document(assessment)["contacts"]
    hosts = [contact["recipient"]["host"] for contact in contacts]
    assert hosts == sorted(hosts)
    tracker = next(
        item for item in contacts if item["recipient"]["host"] == hostile_host
    )
    assert tracker["transports"] == ["plaintext", "tls"]
    assert tracker["observations"] == 4
    assert tracker["first_evidence"]["packets"] == [11]


def test_render_json_coverage(assessment: Assessment) -> None:
    coverage = _document(assessment)["coverage"]
    assert coverage["files_read"] == ["traffic.pcap", "flows.mitm"]
    assert (coverage["packets"], coverage["flows"]) == (1200, 34)
    assert coverage["problems"] == ["traffic.pcap: packet 881 cut short [bold]\\x1b[2J"]
    assert coverage["notes"] == [
        "traffic.pcap: content not visible: the toy refused interception of "
        "media.cuddly.example, so the capture passed it through (1 TLS connection, "
        "192.168.4.23:49811 -> 203.0.113.12:443 at frame 77) <i>"
    ]


def test_render_json_redacted_hides_every_personal_value(
    assessment: Assessment, child_name: str, wifi_value: str
) -> None:
    text = render_json(assessment).decode("utf-8")
    assert child_name not in text
    assert wifi_value not in text
    assert "SN-0042-XYZ" not in text


def test_render_json_reveal_shows_values(
    assessment: Assessment, child_name: str, wifi_value: str
) -> None:
    text = render_json(assessment, reveal=True).decode("utf-8")
    assert child_name in text
    assert wifi_value in text


def test_render_json_is_byte_identical_and_canonical(assessment: Assessment) -> None:
    first = render_json(assessment)
    assert first == render_json(assessment)
    assert first.endswith(b"}\n")
    document = json.loads(first)
    # Python's own layout,, except that a list of scalars stays on one line.
    one_line: dict[str, str] = {}

    def stand_in(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: stand_in(item) for key, item in value.items()}
        if isinstance(value, list) and any(isinstance(i, dict | list) for i in value):
            return [stand_in(item) for item in value]
        if isinstance(value, list) and value:
            mark = f"@list-{len(one_line)}@"
            one_line[f'"{mark}"'] = json.dumps(
                value, ensure_ascii=False, separators=(", ", ": ")
            )
            return mark
        return value

    expected = json.dumps(
        stand_in(document), indent=2, sort_keys=True, ensure_ascii=False
    )
    expected = re.sub(r'"@list-\d+@"', lambda found: one_line[found[0]], expected)
    assert one_line
    assert first == (expected + "\n").encode("utf-8")
    assert '"packets": [' in first.decode() and "\n  " in first.decode()


def test_render_json_lays_out_every_kind_of_value() -> None:
    document = {
        "b": [],
        "a": {"z": [1, 2.5, "x", None, True], "y": {}, "x": [{"k": ["a"]}, [3]]},
        "c": 'Zoë "quoted"',
    }
    parts: list[str] = []
    _lay_out(document, "\n", parts)
    text = "".join(parts)
    assert json.loads(text) == document
    assert text == (
        '{\n  "a": {\n    "x": [\n      {\n        "k": ["a"]\n      },\n      [3]\n'
        '    ],\n    "y": {},\n    "z": [1, 2.5, "x", null, true]\n  },\n  "b": [],\n'
        '  "c": "Zoë \\"quoted\\""\n}'
    )


def test_render_json_checks_most_severe_then_by_check(assessment: Assessment) -> None:
    checks = _document(assessment)["checks"]
    assert [(item["severity"], item["check"]) for item in checks] == [
        ("critical", "plaintext-credentials"),
        ("critical", "tls-interception-accepted"),
        ("high", "child-name-broadcast"),
        ("info", "tls-interception-rejected"),
    ]


def test_render_json_check_fields_round_trip(
    assessment: Assessment, hostile_host: str
) -> None:
    check = _document(assessment)["checks"][1]
    assert check["id"] == "C-00000a"
    assert check["subject"] == hostile_host
    assert check["title"] == "the toy trusts a fake security certificate"
    assert check["regulations"] == ["ETSI EN 303 645 provision 5.5-1", "GDPR Art. 32"]
    assert check["occurrences"] == 5
    assert check["findings"] == []
    assert [item["reference"] for item in check["evidence"]] == [
        "tls-verdicts.jsonl frame 2",
        "tls-verdicts.jsonl frame 3",
    ]
    credentials = _document(assessment)["checks"][0]
    assert credentials["findings"] == ["F-000004"]


def test_render_json_check_explanation_is_scrubbed_and_redacted(
    assessment: Assessment, child_name: str
) -> None:
    explanation = _document(assessment)["checks"][1]["explanation"]
    assert "\u202e" not in explanation
    assert explanation.endswith("\\u202eunknown ca\\u202c for [redacted].")
    assert child_name not in explanation
    revealed = _document(assessment, reveal=True)["checks"][1]["explanation"]
    assert child_name in revealed


def _as_revision_1_1(document: Any) -> Any:
    """The document without what revision 1.2 added."""
    del document["coverage"]["notes"]
    evidences = [contact["first_evidence"] for contact in document["contacts"]]
    evidences += [item for check in document["checks"] for item in check["evidence"]]
    evidences += [
        detection["evidence"]
        for finding in document["findings"]
        for detection in finding["detections"]
    ]
    for evidence in evidences:
        del evidence["dns_name"]
    document["$schema"] = "urn:toyaudit:findings-1.1"
    return document


def test_schema_revision_1_2_accepts_revision_1_1_documents(
    assessment: Assessment,
) -> None:
    document = _as_revision_1_1(_document(assessment))

    _validate(document)
    _validate(document, REVISION_1_1_RESOURCE)


def test_schema_revision_1_1_is_kept_and_refuses_notes(assessment: Assessment) -> None:
    assert load_schema(REVISION_1_1_RESOURCE)["$id"] == "urn:toyaudit:findings-1.1"
    document = _as_revision_1_1(_document(assessment))
    document["coverage"]["notes"] = []

    with pytest.raises(jsonschema.ValidationError):
        _validate(document, REVISION_1_1_RESOURCE)


def test_schema_revision_1_2_accepts_version_1_documents(
    assessment: Assessment,
) -> None:
    document = _as_revision_1_1(_document(assessment))
    del document["checks"]
    for finding in document["findings"]:
        del finding["phase"]
        for detection in finding["detections"]:
            del detection["phase"]
    document["$schema"] = "urn:toyaudit:findings-1"
    _validate(document)
    _validate(document, VERSION_1_RESOURCE)


def test_schema_version_1_is_kept_and_refuses_checks(assessment: Assessment) -> None:
    assert load_schema(VERSION_1_RESOURCE)["$id"] == "urn:toyaudit:findings-1"
    document = _document(assessment)
    document["$schema"] = "urn:toyaudit:findings-1"
    with pytest.raises(jsonschema.ValidationError):
        _validate(document, VERSION_1_RESOURCE)


def test_schema_rejects_a_check_without_evidence(assessment: Assessment) -> None:
    broken = _document(assessment)
    del broken["checks"][0]["evidence"]
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)
