"""The packaged JSON Schema of rule files, and the messages its errors become."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from toyaudit.classify import default_rules_dir, load_rules
from toyaudit.classify.detectors import CHANNELS, PARTS
from toyaudit.classify.recipients import PURPOSES
from toyaudit.classify.ruleschema import load_rules_schema, validate_rule_file
from toyaudit.classify.ruleset import PARTIES, SEVERITIES, TIERS, PhaseReach
from toyaudit.classify.yamlsource import load_yaml
from toyaudit.errors import RulesError


def _error_for(tmp_path: Path, text: str) -> RulesError:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "rules.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules([default_rules_dir(), folder])
    return caught.value


def test_ruleschema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_rules_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "urn:toyaudit:rules-1"


def test_ruleschema_names_the_same_choices_as_the_code() -> None:
    definitions = load_rules_schema()["$defs"]
    assert tuple(definitions["part"]["enum"]) == PARTS
    assert tuple(definitions["channel"]["enum"]) == CHANNELS
    assert tuple(definitions["purpose"]["enum"]) == PURPOSES
    assert tuple(definitions["severity"]["enum"]) == SEVERITIES
    assert tuple(definitions["tierName"]["enum"]) == TIERS
    assert set(definitions["party"]["enum"]) == set(PARTIES)
    assert tuple(definitions["phaseRule"]["properties"]["applies"]["enum"]) == tuple(
        PhaseReach
    )


def test_ruleschema_accepts_every_shipped_rule_file() -> None:
    for path in sorted(default_rules_dir().rglob("*.yaml")):
        validate_rule_file(path, load_yaml(path, path.read_bytes()))


def test_ruleschema_wrong_type_names_file_line_rule_and_field(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: toy-name\n"
        "    category: child-name\n"
        "    description: [a, list]\n"
        "    keys: {include: ['^name$']}\n",
    )
    assert error.message.endswith(
        "mine/rules.yaml:4: rule toy-name: 'description' must be text"
    )
    assert error.hint.startswith("write text")


def test_ruleschema_error_inside_an_example_names_its_path(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: toy-name\n"
        "    category: child-name\n"
        "    keys: {include: ['^name$']}\n"
        "    examples:\n"
        "      positive:\n"
        "        - {key: name, value: Mia}\n"
        "        - {key: name, value: [M, i, a]}\n",
    )
    assert "mine/rules.yaml:8: rule toy-name: 'examples.positive[1].value'" in (
        error.message
    )
    assert "must be text or a number" in error.message


def test_ruleschema_whole_number_is_not_truncated(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: toy-name\n"
        "    category: child-name\n"
        "    keys: {include: ['^name$']}\n"
        "    min_length: 2.5\n",
    )
    assert "mine/rules.yaml:5: rule toy-name: 'min_length' must be a whole" in (
        error.message
    )


def test_ruleschema_rule_id_form_is_explained(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path, "categories:\n  - {id: Pet_Name, tier: 2, label: your pet}\n"
    )
    assert "mine/rules.yaml:2: rule Pet_Name: 'id' is 'Pet_Name'" in error.message
    assert "lower-case" in error.hint


def test_ruleschema_check_needs_are_words(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "checks:\n"
        "  - id: tls-legacy-version\n"
        "    title: old encryption\n"
        "    severity: high\n"
        "    needs:\n"
        "      - tls-server-hello\n"
        "      - TLS hello\n",
    )
    assert "mine/rules.yaml:7: rule tls-legacy-version: 'needs[1]'" in error.message
    assert "tls-server-hello" in error.hint


def test_ruleschema_check_parameters_must_be_a_mapping(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "checks:\n"
        "  - id: tls-legacy-version\n"
        "    title: old encryption\n"
        "    severity: high\n"
        "    parameters: [1.2]\n",
    )
    assert "rule tls-legacy-version: 'parameters' must be a mapping" in error.message


def test_ruleschema_recipient_service_must_be_text(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "recipients:\n"
        "  - domain: ads.example\n"
        "    owner: Ads Inc\n"
        "    purpose: advertising\n"
        "    party: tracker\n"
        "    service: {name: Ads}\n",
    )
    assert "mine/rules.yaml:6: rule ads.example: 'service' must be text" in (
        error.message
    )


def test_ruleschema_version_1_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "pets.yaml").write_text(
        "schema: 1\ncategories:\n  - {id: pet-name, tier: 2, label: your pet}\n"
    )
    assert "pet-name" in load_rules([default_rules_dir(), folder]).categories


def test_ruleschema_other_version_is_refused(tmp_path: Path) -> None:
    error = _error_for(tmp_path, "schema: 2\ncategories: []\n")
    assert "mine/rules.yaml:1: the file is written for rule schema 2" in error.message
    assert "schema: 1" in error.hint


def test_ruleschema_phase_error_names_the_phase(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path, "phases:\n  setup: {raise: 1, applies: until-end, label: ''}\n"
    )
    assert "mine/rules.yaml:2: rule phase setup:" in error.message
