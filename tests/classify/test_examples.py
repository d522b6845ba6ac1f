"""Running detectors' examples against the whole rule set: missing and extra."""

from __future__ import annotations

from pathlib import Path

from toyaudit.classify import RuleSet, default_rules_dir, load_rules
from toyaudit.classify.examples import ExampleFailure, check_examples

_PETS = (
    "categories:\n"
    "  - {id: pet-name, tier: 2, label: your pet's name}\n"
    "detectors:\n"
    "  - id: t-pet-name\n"
    "    category: pet-name\n"
    "    keys: {include: ['(^|[._])pet[_-]?name$']}\n"
    "    examples:\n"
)
_NEAR_MISS = "      negative: [{key: pet_named, value: Rex}]\n"
"""A negative example that behaves, for tests about the positive ones."""


def _failures(tmp_path: Path, examples: str) -> list[ExampleFailure]:
    """Failures of the examples of rules whose id starts with ``t-``."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "pets.yaml").write_text(_PETS + examples, encoding="utf-8")
    rules = load_rules([default_rules_dir(), folder])
    return [
        failure for failure in check_examples(rules) if failure.rule.startswith("t-")
    ]


def test_examples_shipped_rules_have_no_missing_or_extra_match(
    shipped_rules: RuleSet,
) -> None:
    assert [str(failure) for failure in check_examples(shipped_rules)] == []


def test_examples_that_behave_pass(tmp_path: Path) -> None:
    examples = (
        "      positive: [{key: pet_name, value: Rex}]\n"
        "      negative: [{key: pet_named, value: Rex}]\n"
    )
    assert _failures(tmp_path, examples) == []


def test_examples_unmatched_positive_is_missing(tmp_path: Path) -> None:
    [failure] = _failures(
        tmp_path, "      positive:\n        - {key: pet, value: Rex}\n" + _NEAR_MISS
    )
    assert failure.where.endswith("mine/pets.yaml:9")
    assert str(failure).endswith(
        "rule t-pet-name: positive example body pet='Rex' is not matched (missing)"
    )


def test_examples_negative_matched_by_another_detector_is_extra(
    tmp_path: Path,
) -> None:
    examples = (
        "      positive: [{key: pet_name, value: Rex}]\n"
        "      negative: [{key: pet_nickname, value: Rex}]\n"
        "  - id: t-pet-nickname\n"
        "    category: pet-name\n"
        "    keys: {include: ['nickname$']}\n"
        "    examples:\n"
        "      positive: [{key: pet_nickname, value: Rex, also: [child-name]}]\n"
        "      negative: [{key: owner, value: Rex}]\n"
    )
    [failure] = _failures(tmp_path, examples)
    assert failure.rule == "t-pet-name"
    assert "is matched by t-pet-nickname (pet-name) (extra)" in failure.problem


def test_examples_positive_matched_by_another_category_is_extra(
    tmp_path: Path,
) -> None:
    examples = "      positive: [{key: pet_name, value: rex@example.com}]\n"
    [failure] = _failures(tmp_path, examples + _NEAR_MISS)
    assert "also matched by email-address (email-address) (extra)" in failure.problem


def test_examples_also_declares_another_category(tmp_path: Path) -> None:
    examples = (
        "      positive:\n"
        "        - {key: pet_name, value: rex@example.com, also: [email-address]}\n"
    )
    assert _failures(tmp_path, examples + _NEAR_MISS) == []


def test_examples_also_that_does_not_match_is_missing(tmp_path: Path) -> None:
    examples = (
        "      positive:\n"
        "        - {key: pet_name, value: Rex, also: [email-address]}\n"
    )
    [failure] = _failures(tmp_path, examples + _NEAR_MISS)
    assert "no detector of category 'email-address'" in failure.problem
    assert failure.problem.endswith("(missing)")


def test_examples_channel_limits_which_detectors_run(tmp_path: Path) -> None:
    examples = (
        "      positive: [{key: pet_name, value: Rex, channel: http}]\n"
        "      negative: [{key: pet_name, value: Rex, channel: mqtt}]\n"
    )
    limited = _PETS.replace(
        "    keys: {include:", "    channels: [http, websocket]\n    keys: {include:"
    )
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "pets.yaml").write_text(limited + examples, encoding="utf-8")
    rules = load_rules([default_rules_dir(), folder])
    assert [item for item in check_examples(rules) if item.rule == "t-pet-name"] == []


def test_examples_detector_without_a_negative_is_unexampled(tmp_path: Path) -> None:
    [failure] = _failures(tmp_path, "      positive: [{key: pet_name, value: Rex}]\n")
    assert failure.where.endswith("mine/pets.yaml:4")  # the rule's own line
    assert str(failure).endswith(
        "rule t-pet-name: has no negative example (unexampled); add one under "
        "'examples: negative:', a field it must leave alone, ideally a near miss, "
        "e.g. [{key: ..., value: ...}]"
    )


def test_examples_detector_without_examples_lacks_both_kinds(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    bare = _PETS.removesuffix("    examples:\n")
    (folder / "pets.yaml").write_text(bare, encoding="utf-8")
    # Loading for an audit accepts the rule; only the example check refuses it.
    rules = load_rules([default_rules_dir(), folder])
    failures = [item for item in check_examples(rules) if item.rule == "t-pet-name"]
    assert [failure.problem.split(" (")[0] for failure in failures] == [
        "has no positive example",
        "has no negative example",
    ]
    assert "a field it must recognise" in failures[0].problem


def _sound_rules(tmp_path: Path, content_type: str, examples: str) -> RuleSet:
    """Our rules plus a content detector t-sound (line 2 of mine/sound.yaml)."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "sound.yaml").write_text(
        "detectors:\n"
        "  - id: t-sound\n"
        "    category: voice-recording\n"
        f"    content: {{types: ['{content_type}']}}\n"
        "    examples:\n" + examples,
        encoding="utf-8",
    )
    return load_rules([default_rules_dir(), folder])


def test_examples_content_detector_without_a_positive_asks_for_a_body(
    tmp_path: Path,
) -> None:
    rules = _sound_rules(
        tmp_path,
        "^audio/x-t-sound$",
        "      negative: [{content_type: text/plain, body_hex: '00'}]\n",
    )
    [failure] = [item for item in check_examples(rules) if item.rule == "t-sound"]
    assert failure.where.endswith("mine/sound.yaml:2")
    assert "has no positive example (unexampled)" in failure.problem
    assert "a body it must recognise, e.g. [{content_type: ..., body_hex: ...}]" in (
        failure.problem
    )


def test_examples_context_can_lower_a_hit_away(tmp_path: Path) -> None:
    examples = (
        "      positive: [{key: pet_name, value: Rex}]\n"
        "      negative: [{key: 'shop.pets[2].pet_name', value: Rex}]\n"
        "    context:\n"
        "      - {key: '(^|[._])shop[._]', effect: lower, by: 0.5}\n"
    )
    assert _failures(tmp_path, examples) == []


def test_examples_content_detector_missing_and_extra(tmp_path: Path) -> None:
    rules = _sound_rules(
        tmp_path,
        "^audio/",
        "      positive: [{content_type: audio/wav, body_hex: '00'}]\n"
        "      negative:\n"
        "        - {content_type: application/octet-stream,"
        " body_hex: '52 49 46 46 24 00 00 00 57 41 56 45'}\n"
        "        - {content_type: text/plain, body_hex: '52 49 46 46 24 00 00 00"
        " 57 41 56 45'}\n",
    )
    # The text body is not read for magic, as in an audit: no failure for it.
    [failure] = [item for item in check_examples(rules) if item.rule == "t-sound"]
    assert (
        "negative example body of type 'application/octet-stream', 12 bytes"
        in failure.problem
    )
    assert "audio-upload (voice-recording) (extra)" in failure.problem


def test_examples_content_most_specific_signature_decides(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "clips.yaml").write_text(
        "categories:\n"
        "  - {id: clip, tier: 1, label: a clip}\n"
        "detectors:\n"
        "  - id: t-clip\n"
        "    category: clip\n"
        "    content:\n"
        "      magic:\n"
        "        - {name: clip, bytes: {0: '1A 45 DF A3'}, contains: ['43 4C 49 50']}\n"
        "    examples:\n"
        "      positive: [{body_hex: '1A 45 DF A3 00 43 4C 49 50'}]\n"
        "      negative: [{body_hex: '1A 45 DF A3 00 43 4C 49'}]\n",
        encoding="utf-8",
    )
    rules = load_rules([default_rules_dir(), folder])
    failures = check_examples(rules)
    # The shipped audio rule knows the same four bytes, but "CLIP" after them
    # makes t-clip the more specific: neither example fails, shipped or new.
    assert failures == []
