"""Loading and validating rule folders: the shipped rules and broken ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from toyaudit.classify import default_rules_dir, load_rules
from toyaudit.classify.records import Party, Tier
from toyaudit.classify.rules import RuleSet
from toyaudit.errors import RulesError


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error_for(tmp_path: Path, text: str) -> RulesError:
    folder = tmp_path / "broken"
    _write(folder, "rules.yaml", text)
    with pytest.raises(RulesError) as caught:
        load_rules([default_rules_dir(), folder])
    return caught.value


def test_rules_shipped_load_with_every_tier_and_party(shipped_rules: RuleSet) -> None:
    assert {category.tier for category in shipped_rules.categories.values()} == set(
        Tier
    )
    assert len(shipped_rules.severity.over_tls) == len(Tier) * len(Party)
    assert (
        shipped_rules.severity.over_tls[(Tier.MOST_SENSITIVE, Party.TRACKER)]
        == "critical"
    )
    assert shipped_rules.severity.over_tls[(Tier.SECRET, Party.FIRST_PARTY)] == "low"
    assert shipped_rules.severity.plaintext[Tier.TRACKING] == "medium"
    assert all(shipped_rules.provisions[key] for key in shipped_rules.categories)
    assert len(shipped_rules.recipients) >= 40


def test_rules_sha256_is_stable_and_follows_content(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(default_rules_dir(), copy)
    first = load_rules([copy]).sha256
    assert load_rules([copy]).sha256 == first
    assert first == load_rules([default_rules_dir()]).sha256
    (copy / "severity.yaml").write_text(
        (copy / "severity.yaml").read_text() + "# edited\n", encoding="utf-8"
    )
    assert load_rules([copy]).sha256 != first


def test_rules_later_folder_overrides_by_id(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    _write(
        folder,
        "override.yaml",
        "categories:\n"
        "  - {id: wifi-network, tier: 3, label: your Wi-Fi name}\n"
        "plaintext:\n  '4': medium\n",
    )
    rules = load_rules([default_rules_dir(), folder])
    assert rules.categories["wifi-network"].tier is Tier.TRACKING
    assert rules.severity.plaintext[Tier.TELEMETRY] == "medium"
    assert folder / "override.yaml" in rules.files


def test_rules_missing_category_names_file_line_and_rule(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: pet-name\n"
        "    category: pet\n"
        "    keys: {include: ['pet_name']}\n",
    )
    assert "broken/rules.yaml:2: rule pet-name:" in error.message
    assert "category 'pet' is not defined" in error.message
    assert "child-name" in error.hint


def test_rules_bad_tier_suggests_valid_tiers(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "categories:\n  - id: shoe-size\n    label: shoe size\n    tier: 5\n",
    )
    assert "broken/rules.yaml:4: rule shoe-size:" in error.message
    assert error.hint == "use one of: 1, 2, 3, 4, S"


def test_rules_bad_regex_names_the_regex(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: broken-key\n"
        "    category: child-name\n"
        "    keys:\n"
        "      include: ['(child']\n",
    )
    assert "broken/rules.yaml:5: rule broken-key:" in error.message
    assert "'(child'" in error.message


def test_rules_look_around_is_refused(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: lookahead\n"
        "    category: child-name\n"
        "    value: {patterns: ['Mia(?= )']}\n",
    )
    assert "rule lookahead:" in error.message
    assert "RE2" in error.message


def test_rules_duplicate_id_names_both_places(tmp_path: Path) -> None:
    rule = "  - {id: twin, category: child-name, keys: {include: [twin]}}\n"
    error = _error_for(tmp_path, "detectors:\n" + rule + rule)
    assert "broken/rules.yaml:3: rule twin: duplicate id" in error.message
    assert "broken/rules.yaml:2" in error.message


def test_rules_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    error = _error_for(tmp_path, "detectors:\n  - id: x\n    keys: {include: [a\n")
    assert "broken/rules.yaml:" in error.message
    assert "YAML syntax error" in error.message


def test_rules_unknown_field_lists_allowed_fields(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n  - id: typo\n    category: child-name\n    key: {include: [a]}\n",
    )
    assert "broken/rules.yaml:4: rule typo: unknown field 'key'" in error.message
    assert "keys" in error.hint


def test_rules_unknown_recipient_purpose_is_refused(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "recipients:\n"
        "  - {domain: ads.example, owner: X, purpose: fun, party: tracker}\n",
    )
    assert (
        "broken/rules.yaml:2: rule ads.example: unknown purpose 'fun'" in error.message
    )


def test_rules_incomplete_severity_matrix_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(default_rules_dir(), copy)
    severity = copy / "severity.yaml"
    severity.write_text(severity.read_text().replace('  "3": medium\n', ""))
    with pytest.raises(RulesError) as caught:
        load_rules([copy])
    assert "no entry 'plaintext 3'" in caught.value.message


def test_rules_unmapped_persona_field_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(default_rules_dir(), copy)
    persona = copy / "persona.yaml"
    persona.write_text(persona.read_text().replace("  toy.mac: mac-address\n", ""))
    with pytest.raises(RulesError) as caught:
        load_rules([copy])
    assert "persona fields without a category: toy.mac" in caught.value.message


def test_rules_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no such rules folder"):
        load_rules([tmp_path / "absent"])
