"""Tests for the accuracy benchmark: the corpus, the scorer and the issue's targets.

The corpus must be reproducible and honestly labelled; the scorer must count
true and false positives and misses as benchmarks/scoring.py documents. The
exact figures are a measurement and are not asserted, but falling below the
issue's targets (:data:`benchmarks.accuracy.TARGETS`, no decoy flagged) on
the default seed or another one fails the suite, with the benchmark's report
as the explanation.
"""

from __future__ import annotations

import dataclasses
import json
import random
import struct
from pathlib import Path

import pytest

from benchmarks.accuracy import TARGETS, classify_session, figures, measure, report
from benchmarks.corpus.book import LabelBook, Wire
from benchmarks.corpus.build import LABELS_FILE, Corpus, build_corpus
from benchmarks.corpus.labels import (
    CHANNELS,
    NEW_CATEGORIES,
    Label,
    load_labels,
    validate_labels,
)
from benchmarks.corpus.media import webm_audio, webm_video
from benchmarks.scoring import Flag, Tally, score
from toyaudit.classify import RuleSet, default_rules_dir, load_rules
from toyaudit.session import open_evidence

SEED = 11
ISSUE_CATEGORIES = (
    "child-name",
    "parent-name",
    "child-birthdate",
    "child-gender",
    "email-address",
    "phone-number",
    "postal-address",
    "precise-location",
    "wifi-network",
    "wifi-password",
    "password",
    "access-token",
    "api-key",
    "account-id",
    "device-id",
    "mac-address",
    "advertising-id",
    "voice-recording",
    "image",
    "chat-message",
    "usage-telemetry",
)
"""The categories the issue lists, in our ids: each must have planted values."""
PERSONA_NOTATIONS = (
    "date-iso-time-ms",
    "date-sql-time",
    "date-iso-time-utc+1",
    "date-month-name-dashed",
    "date-month-name-slashed",
    "date-dotted-year-first",
    "phone-dashed",
    "phone-dotted",
    "phone-national-bracketed",
    "hex",
)
"""Spellings of persona values the corpus must plant, so that the measured
accuracy covers the persona forms that find them."""
TARGET_SEEDS = (1, 2)
"""The benchmark's default seed and another: a target met by one draw of
values only is not met."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """One corpus, shared by the read-only tests."""
    return build_corpus(tmp_path_factory.mktemp("corpus") / "out", SEED)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The shipped rules, whose categories labels may use."""
    return load_rules([default_rules_dir()])


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _pcap_frames(path: Path) -> int:
    """Records in a classic pcap file."""
    content = path.read_bytes()
    offset, count = 24, 0
    while offset < len(content):
        captured = struct.unpack_from("<I", content, offset + 8)[0]
        offset += 16 + captured
        count += 1
    return count


def test_build_corpus_is_byte_identical_for_one_seed(
    corpus: Corpus, tmp_path: Path
) -> None:
    again = build_corpus(tmp_path / "again", SEED)
    first, second = _files(corpus.folder), _files(again.folder)
    assert sorted(first) == sorted(second)
    for name, content in first.items():
        assert second[name] == content, name


def test_build_corpus_draws_other_values_for_another_seed(
    corpus: Corpus, tmp_path: Path
) -> None:
    other = build_corpus(tmp_path / "other", SEED + 1)
    assert [label.value for label in other.labels] != [
        label.value for label in corpus.labels
    ]


def test_build_corpus_rewrites_its_own_folder(corpus: Corpus, tmp_path: Path) -> None:
    folder = tmp_path / "twice"
    build_corpus(folder, SEED)
    build_corpus(folder, SEED)
    assert _files(folder) == _files(corpus.folder)


def test_labels_json_validates(corpus: Corpus, rules: RuleSet) -> None:
    document = json.loads(corpus.labels_path.read_text(encoding="utf-8"))
    assert validate_labels(document, rules.categories) == []
    loaded = load_labels(corpus.labels_path, rules.categories)
    assert loaded == list(corpus.labels)
    known = {*rules.categories, *NEW_CATEGORIES}
    assert {label.category for label in loaded} <= known


def test_labels_cover_the_issue_categories_channels_and_decoys(
    corpus: Corpus,
) -> None:
    positives = [label for label in corpus.labels if not label.decoy]
    decoys = [label for label in corpus.labels if label.decoy]
    assert {label.category for label in positives} >= set(ISSUE_CATEGORIES)
    assert {label.channel for label in positives} == set(CHANNELS)
    assert len(positives) >= 250
    assert len(decoys) >= 80
    assert all(label.note for label in decoys)


def test_labels_plant_every_persona_notation(corpus: Corpus) -> None:
    steps = {
        step for label in corpus.labels if not label.decoy for step in label.encoding
    }
    assert set(PERSONA_NOTATIONS) - steps == set()


def test_labels_point_inside_their_evidence(corpus: Corpus) -> None:
    for label in corpus.labels:
        path = corpus.folder / "sessions" / label.session / label.file
        if label.file.endswith(".jsonl"):
            size = len(path.read_text(encoding="utf-8").splitlines())
        else:
            size = _pcap_frames(path)
        assert all(0 < frame <= size for frame in label.frames), label.id


def test_sessions_hold_no_labels_and_open_as_sealed(corpus: Corpus) -> None:
    assert corpus.labels_path.parent == corpus.folder
    for folder in corpus.sessions:
        assert not (folder / LABELS_FILE).exists()
        session = open_evidence(folder)
        assert session.sealed
        assert session.evidence
        assert session.persona


def test_validate_labels_names_each_problem(corpus: Corpus, rules: RuleSet) -> None:
    document = json.loads(corpus.labels_path.read_text(encoding="utf-8"))
    entries = document["labels"]
    entries[0]["category"] = "shoe-size"
    del entries[1]["value"]
    entries[2]["id"] = entries[3]["id"]
    entries[4]["evidence"]["frames"] = []
    problems = validate_labels(document, rules.categories)
    assert any("unknown category 'shoe-size'" in problem for problem in problems)
    assert any("'value' is missing" in problem for problem in problems)
    assert any("is used twice" in problem for problem in problems)
    assert any("no frames" in problem for problem in problems)
    assert validate_labels({"format": 99}, rules.categories) != []


def test_label_book_refuses_values_it_cannot_tell_apart() -> None:
    book = LabelBook("toy")
    full = Wire("Mia Lopez", "Mia Lopez")
    book.positive("m1", "child-name", full, "http body", "JSON body field 'name'")
    book.positive("m1", "child-name", Wire("Lopez", "Lopez"), "http body", "x")
    with pytest.raises(ValueError, match="cannot be told apart"):
        book.labels({"m1": ("traffic.pcap", (1,))})


def test_label_book_keeps_other_categories_and_messages_apart() -> None:
    book = LabelBook("toy")
    book.positive("m1", "child-name", Wire("Mia", "Mia"), "http body", "a")
    book.positive("m1", "chat-message", Wire("hi Mia", "hi Mia"), "http body", "b")
    book.positive("m2", "child-name", Wire("Mia", "Mia"), "http body", "c")
    evidence = {"m1": ("traffic.pcap", (3, 4)), "m2": ("traffic.pcap", (9,))}
    labels = book.labels(evidence)
    assert [label.id for label in labels] == ["toy-001", "toy-002", "toy-003"]
    assert labels[2].frames == (9,)


def test_measure_reports_every_category(corpus: Corpus, rules: RuleSet) -> None:
    flags = []
    for folder in corpus.sessions:
        session_flags, _ = classify_session(folder, rules)
        flags += session_flags
    result = score(corpus.labels, flags, [*rules.categories, *NEW_CATEGORIES])
    text = report(result, corpus.labels, [])
    for category in (*rules.categories, *NEW_CATEGORIES):
        assert f"\n{category} " in text
    assert "Targets:" in text
    assert set(figures(result)) >= {"categories", "overall", "decoys_flagged"}


@pytest.mark.parametrize("seed", TARGET_SEEDS)
def test_measure_meets_the_issue_targets(tmp_path: Path, seed: int) -> None:
    result, labels, notes = measure(tmp_path / f"seed{seed}", seed)
    explained = report(result, labels, notes)
    overall = result.overall
    floor = TARGETS["each category"]
    weak = [
        tally.category
        for tally in result.tallies
        if any(figure is not None and figure < floor
               for figure in (tally.precision, tally.recall))
    ]  # fmt: skip
    assert (overall.precision or 0.0) >= TARGETS["overall precision"], explained
    assert (overall.recall or 0.0) >= TARGETS["overall recall"], explained
    assert weak == [], explained
    assert list(result.flagged_decoys()) == [], explained
    assert result.decoys > 0


# --- the scorer, on hand-made labels and flags ----------------------------


def _label(
    label_id: str,
    category: str,
    value: str,
    frames: tuple[int, ...] = (1,),
    *,
    forms: tuple[str, ...] = (),
    whole: bool = False,
    decoy: bool = False,
) -> Label:
    return Label(
        id=label_id,
        session="toy",
        category=category,
        value=value,
        channel="http body",
        location="somewhere",
        encoding=(),
        file="traffic.pcap",
        frames=frames,
        forms=forms,
        whole=whole,
        decoy=decoy,
    )


def _flag(category: str, value: str, frames: tuple[int, ...] = (1,)) -> Flag:
    return Flag("toy", "traffic.pcap", frames, category, value, "rule", "place")


def _tally(categories: tuple[Tally, ...], category: str) -> Tally:
    return next(tally for tally in categories if tally.category == category)


def test_score_counts_a_found_value_once_however_often_flagged() -> None:
    labels = [_label("a", "email-address", "mia@example.org")]
    flags = [_flag("email-address", "mia@example.org")] * 2
    result = score(labels, flags)
    assert result.overall == Tally("overall", 1, 0, 0)
    assert result.missed == ()


def test_score_accepts_forms_case_and_containment() -> None:
    labels = [
        _label("a", "email-address", "mia@example.org", forms=("mia%40example.org",)),
        _label("b", "precise-location", "51.50134,-0.14189"),
        _label("c", "child-name", "Mia Lopez"),
    ]
    flags = [
        _flag("email-address", "mia%40example.org"),
        _flag("precise-location", "geo:51.50134,-0.14189;u=35"),
        _flag("child-name", "  MIA LOPEZ "),
    ]
    assert score(labels, flags).overall == Tally("overall", 3, 0, 0)


def test_score_never_finds_a_short_value_inside_a_longer_one() -> None:
    result = score(
        [_label("a", "child-birthdate", "7")], [_flag("child-birthdate", "2017")]
    )
    assert result.overall == Tally("overall", 0, 1, 1)


def test_score_counts_a_flag_of_another_observation_as_fp_and_fn() -> None:
    labels = [_label("a", "device-id", "TB-2291", frames=(4, 5))]
    result = score(labels, [_flag("device-id", "TB-2291", frames=(6,))])
    assert result.overall == Tally("overall", 0, 1, 1)
    assert [label.id for label in result.missed] == ["a"]


def test_score_counts_the_wrong_category_as_fp_of_one_and_fn_of_the_other() -> None:
    labels = [_label("a", "wifi-network", "3c:84:6a:12:9e:40")]
    result = score(labels, [_flag("mac-address", "3c:84:6a:12:9e:40")])
    assert _tally(result.tallies, "wifi-network") == Tally("wifi-network", 0, 0, 1)
    assert _tally(result.tallies, "mac-address") == Tally("mac-address", 0, 1, 0)
    assert result.false_positives[0].decoy is None


def test_score_lets_a_flag_by_name_explain_every_label_at_its_place() -> None:
    def at(label: Label, location: str) -> Label:
        return dataclasses.replace(label, location=location)

    labels = [
        at(_label("a", "usage-telemetry", "story_started"), "field 'events[0].event'"),
        at(_label("b", "usage-telemetry", "song_played"), "field 'events[].event'"),
        at(_label("c", "usage-telemetry", "button_pressed"), "field 'events[2].event'"),
        at(_label("d", "usage-telemetry", "83"), "field 'battery_level'"),
    ]
    flag = dataclasses.replace(
        _flag("usage-telemetry", "story_started"),
        location="field 'events[0].event'",
        by_name_places=3,
    )

    result = score(labels, [flag])

    assert {label.id for label in result.missed} == {"d"}
    # Standing for one place only, a flag by name explains its own value.
    one = dataclasses.replace(flag, by_name_places=1)
    assert {label.id for label in score(labels, [one]).missed} == {"b", "c", "d"}


def test_score_names_the_decoy_a_flag_landed_on_equal_value_first() -> None:
    labels = [
        _label("lat", "precise-location", "51.5142", decoy=True),
        _label("pair", "precise-location", "51.5142,-0.0931", decoy=True),
        _label("real", "child-name", "Mia"),
    ]
    flags = [_flag("precise-location", "51.5142,-0.0931"), _flag("child-name", "Mia")]
    result = score(labels, flags)
    assert list(result.flagged_decoys()) == ["pair"]
    assert result.decoys == 2
    assert result.overall == Tally("overall", 1, 1, 0)


def test_score_matches_a_whole_body_label_by_category_only() -> None:
    labels = [
        _label("up", "voice-recording", "audio/wav", whole=True),
        _label(
            "down", "voice-recording", "audio/mpeg", frames=(9,), whole=True, decoy=True
        ),
    ]
    flags = [
        _flag("voice-recording", "WAV audio, 8 KB"),
        _flag("voice-recording", "audio/mpeg", frames=(9,)),
    ]
    result = score(labels, flags)
    assert result.overall == Tally("overall", 1, 1, 0)
    assert list(result.flagged_decoys()) == ["down"]


def test_score_figures_per_category_and_micro_averaged() -> None:
    labels = [
        _label("n1", "child-name", "Mia"),
        _label("n2", "child-name", "Lopez", frames=(2,)),
        _label("n3", "child-name", "Ana", frames=(3,)),
        _label("e1", "email-address", "mia@example.org"),
    ]
    flags = [
        _flag("child-name", "Mia"),
        _flag("child-name", "Lopez", frames=(2,)),
        _flag("child-name", "Bramble", frames=(2,)),
        _flag("email-address", "help@vendor.example"),
    ]
    result = score(labels, flags, ["email-address", "child-name", "school"])
    assert [tally.category for tally in result.tallies] == [
        "email-address",
        "child-name",
        "school",
    ]
    names = _tally(result.tallies, "child-name")
    assert (names.precision, names.recall) == (2 / 3, 2 / 3)
    assert names.f1 == pytest.approx(2 / 3)
    email = _tally(result.tallies, "email-address")
    assert (email.precision, email.recall, email.f1) == (0.0, 0.0, 0.0)
    school = _tally(result.tallies, "school")
    assert (school.precision, school.recall, school.f1) == (None, None, None)
    assert result.overall == Tally("overall", 2, 2, 2)
    assert result.overall.precision == 0.5
    assert result.overall.recall == 0.5


def test_tally_f1_is_zero_when_nothing_planted_was_found() -> None:
    missed = Tally("child-gender", 0, 0, 3)
    assert (missed.precision, missed.recall, missed.f1) == (None, 0.0, 0.0)
    assert Tally("x", 4, 0, 1).f1 == pytest.approx(2 * 1.0 * 0.8 / 1.8)


def test_media_webm_audio_and_video_name_their_tracks() -> None:
    seeded = random.Random(3)  # noqa: S311 - test bytes, not a secret
    audio, video = webm_audio(seeded), webm_video(seeded)
    ebml = bytes.fromhex("1A45DFA3")
    # TrackType (0x83) 2 and CodecID (0x86) A_OPUS; TrackType 1 and V_VP8.
    assert audio.startswith(ebml) and b"\x83\x81\x02\x86\x86A_OPUS" in audio[:200]
    assert video.startswith(ebml) and b"\x83\x81\x01\x86\x85V_VP8" in video[:200]
    assert b"V_" not in audio[:200]
