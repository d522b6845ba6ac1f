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
    assert all(shipped_rules.legal[key] for key in shipped_rules.categories)
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


def test_rules_provisions_field_is_now_called_legal(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "categories:\n"
        "  - id: pet-name\n"
        "    tier: 2\n"
        "    label: your pet's name\n"
        "    provisions: ['GDPR Art. 4(1)']\n",
    )
    assert "broken/rules.yaml:5: rule pet-name: 'provisions'" in error.message
    assert "rename the field to 'legal'" in error.hint


def test_rules_category_legal_is_kept_by_category(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    _write(
        folder,
        "pets.yaml",
        "categories:\n"
        "  - id: pet-name\n"
        "    tier: 2\n"
        "    label: your pet's name\n"
        "    legal: ['GDPR Art. 4(1)', \"UK Children's Code std 8\"]\n",
    )
    rules = load_rules([default_rules_dir(), folder])
    assert rules.legal["pet-name"] == ("GDPR Art. 4(1)", "UK Children's Code std 8")


_CHECKS = (
    "checks:\n"
    "  - id: tls-legacy-version\n"
    "    title: the toy uses an outdated kind of encryption\n"
    "    description: The server accepted a TLS version older than 1.2.\n"
    "    severity: high\n"
    "    needs: [tls-server-hello]\n"
    "    regulations: ['ETSI EN 303 645 provision 5.5-1', 'GDPR Art. 32']\n"
    "    parameters:\n"
    "      minimum_version: '1.2'\n"
    "      weak_suites: [TLS_RSA_WITH_RC4_128_SHA]\n"
    "      limits: {handshakes: 3}\n"
)


def test_rules_checks_are_parsed_with_their_parameters(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    path = _write(folder, "checks.yaml", _CHECKS)

    check = load_rules([default_rules_dir(), folder]).checks["tls-legacy-version"]

    assert (check.title, check.severity) == (
        "the toy uses an outdated kind of encryption",
        "high",
    )
    assert check.source == f"{path}:2"
    assert check.needs == ("tls-server-hello",)
    assert check.regulations == ("ETSI EN 303 645 provision 5.5-1", "GDPR Art. 32")
    assert check.parameters == {
        "minimum_version": "1.2",
        "weak_suites": ["TLS_RSA_WITH_RC4_128_SHA"],
        "limits": {"handshakes": 3},
    }
    assert type(check.parameters["limits"]) is dict


def test_rules_check_with_unknown_severity_is_refused(tmp_path: Path) -> None:
    error = _error_for(tmp_path, _CHECKS.replace("severity: high", "severity: severe"))
    assert "broken/rules.yaml:5: rule tls-legacy-version:" in error.message
    assert "'severe'" in error.message
    assert error.hint == "use one of: info, low, medium, high, critical"


def test_rules_check_without_title_is_refused(tmp_path: Path) -> None:
    text = "checks:\n  - id: ble-open-gatt\n    severity: medium\n"
    error = _error_for(tmp_path, text)
    assert "broken/rules.yaml:2: rule ble-open-gatt: has no 'title'" in error.message


def test_rules_later_folder_replaces_detectors_and_checks_by_id(
    tmp_path: Path,
) -> None:
    ours, mine = tmp_path / "ours", tmp_path / "mine"
    _write(ours, "checks.yaml", _CHECKS)
    path = _write(
        mine,
        "mine.yaml",
        "detectors:\n"
        "  - id: latitude\n"
        "    category: precise-location\n"
        "    keys: {include: ['^lat$']}\n"
        "checks:\n"
        "  - {id: tls-legacy-version, title: old encryption, severity: medium}\n",
    )

    rules = load_rules([default_rules_dir(), ours, mine])

    [latitude] = [rule for rule in rules.detectors if rule.id == "latitude"]
    assert latitude.source == f"{path}:2"
    assert latitude.value is None
    assert rules.checks["tls-legacy-version"].severity == "medium"
    assert rules.checks["tls-legacy-version"].needs == ()


def test_rules_later_folder_extends_with_new_ids(tmp_path: Path) -> None:
    shipped = load_rules([default_rules_dir()])
    folder = tmp_path / "mine"
    _write(
        folder,
        "pets.yaml",
        "categories:\n"
        "  - {id: pet-name, tier: 2, label: your pet's name}\n"
        "detectors:\n"
        "  - {id: pet-name, category: pet-name, keys: {include: ['^pet$']}}\n"
        "recipients:\n"
        "  - {domain: pets.example, owner: Pet Co, purpose: analytics,"
        " party: tracker}\n",
    )

    rules = load_rules([default_rules_dir(), folder])

    assert set(rules.categories) == {*shipped.categories, "pet-name"}
    assert [rule.id for rule in rules.detectors] == [
        *(rule.id for rule in shipped.detectors),
        "pet-name",
    ]
    assert len(rules.recipients) == len(shipped.recipients) + 1


def test_rules_later_folder_replaces_recipient_by_domain(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    _write(
        folder,
        "recipients.yaml",
        "recipients:\n"
        "  - {domain: sentry.io, owner: Sentry, purpose: analytics, party: tracker}\n",
    )
    rules = load_rules([default_rules_dir(), folder])
    [sentry] = [rule for rule in rules.recipients if rule.domain == "sentry.io"]
    assert (sentry.purpose, sentry.party) == ("analytics", Party.TRACKER)


def test_rules_detector_channels_are_checked(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: toy-name\n"
        "    category: child-name\n"
        "    channels:\n"
        "      - http\n"
        "      - bluetooth\n"
        "    keys: {include: ['^name$']}\n",
    )
    assert "broken/rules.yaml:6: rule toy-name: 'channels' has 'bluetooth'" in (
        error.message
    )
    assert "ble-advertisement" in error.hint


def test_rules_context_entry_needs_exactly_one_target(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: toy-name\n"
        "    category: child-name\n"
        "    keys: {include: ['^name$']}\n"
        "    context:\n"
        "      - {key: store, value: shop, effect: lower, by: 0.3}\n",
    )
    assert "broken/rules.yaml:6: rule toy-name:" in error.message
    assert "one of 'key' or 'value'" in error.message


def test_rules_context_on_a_content_detector_is_refused(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: sound\n"
        "    category: voice-recording\n"
        "    content: {types: ['^audio/']}\n"
        "    context: [{value: wav, effect: raise, by: 0.1}]\n",
    )
    assert "broken/rules.yaml:5: rule sound:" in error.message
    assert "content detector" in error.message


def test_rules_example_also_must_name_a_category(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: toy-name\n"
        "    category: child-name\n"
        "    keys: {include: ['^name$']}\n"
        "    examples:\n"
        "      positive:\n"
        "        - {key: name, value: Mia}\n"
        "        - {key: name, value: Mia, also: [pet-name]}\n",
    )
    assert "broken/rules.yaml:8: rule toy-name: category 'pet-name'" in error.message


def test_rules_regex_error_names_the_line_of_the_item(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path,
        "detectors:\n"
        "  - id: broken-key\n"
        "    category: child-name\n"
        "    keys:\n"
        "      include:\n"
        "        - '^name$'\n"
        "        - '(child'\n",
    )
    assert "broken/rules.yaml:7: rule broken-key:" in error.message


def test_rules_phases_are_keyed_like_session_phase_names(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    _write(
        folder,
        "phases.yaml",
        "phases:\n"
        "  After_Opt_Out: {raise: 2, applies: from-start}\n"
        "  idle: {raise: 1, applies: during, label: while the toy sat idle}\n",
    )

    phases = load_rules([default_rules_dir(), folder]).severity.phases

    assert phases["after-opt-out"].steps == 2
    assert phases["after-opt-out"].label == "after the after-opt-out phase began"
    assert phases["idle"].label == "while the toy sat idle"
    assert phases["setup"].label == "before setup was finished"


def test_rules_phase_with_unknown_reach_is_refused(tmp_path: Path) -> None:
    error = _error_for(
        tmp_path, "phases:\n  setup:\n    raise: 1\n    applies: before\n"
    )

    assert "broken/rules.yaml:4: rule phase setup: 'applies' is 'before'" in (
        error.message
    )
    assert error.hint == "use one of: during, until-end, from-start"


def test_rules_phase_raise_is_a_whole_number_of_levels(tmp_path: Path) -> None:
    error = _error_for(tmp_path, "phases:\n  setup: {raise: 1.5, applies: during}\n")

    assert "rule phase setup: 'raise' must be a whole number" in error.message


def test_rules_phase_without_raise_is_refused(tmp_path: Path) -> None:
    error = _error_for(tmp_path, "phases:\n  setup: {applies: during}\n")

    assert "rule phase setup: has no 'raise'" in error.message
