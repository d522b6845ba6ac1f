"""Detector channels and context: which fields a detector looks at, and how sure it is.

The shipped rules' own examples are run by test_detectors.py and test_examples.py;
these tests build detectors by hand to pin down :meth:`Detector.applies` with a
channel and :meth:`Detector.value_hits` with context, and classify whole
messages for ``alongside``, a condition on the rest of the observation.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from toyaudit.classify import Classifier, RuleSet, default_rules_dir, load_rules
from toyaudit.classify.decoders import Field
from toyaudit.classify.detectors import ContextRule, Detector, KeyMatcher, key_shape
from toyaudit.classify.linear import LinearPattern
from toyaudit.errors import RulesError
from toyaudit.ingest.records import HttpRequest

RequestFactory = Callable[..., HttpRequest]
"""The ``request_to`` fixture of conftest.py."""


def _keyed(**overrides: object) -> Detector:
    """A key-only detector of pet names; ``overrides`` replace its fields."""
    detector = Detector(
        id="pet-name",
        category_id="child-name",
        source="test_detectors.py:1",
        parts=("query", "body"),
        keys=KeyMatcher((LinearPattern("pet_name$"),), ()),
        value=None,
        content=None,
        min_length=2,
        confidence=0.5,
    )
    return dataclasses.replace(detector, **overrides)  # type: ignore[arg-type]


def _field(key: str, value: str = "Rex") -> Field:
    return Field("body", key, f"JSON body field '{key}'", ("json",), value)


def test_detector_channel_none_means_any_channel() -> None:
    detector = _keyed(channels=("http", "mqtt"))
    assert detector.applies("body", "pet_name")
    assert detector.applies("body", "pet_name", "mqtt")
    assert not detector.applies("body", "pet_name", "gatt")
    assert _keyed().applies("body", "pet_name", "gatt")


def test_detector_channels_do_not_widen_parts() -> None:
    assert not _keyed(channels=("http",)).applies("header", "pet_name", "http")


def test_detector_key_context_raises_and_lowers_confidence() -> None:
    detector = _keyed(
        context=(
            ContextRule(True, LinearPattern(r"(^|[._])profile[._]"), 0.3),
            ContextRule(True, LinearPattern(r"(^|[._])shop[._]"), -0.2),
        )
    )
    [raised] = detector.hits(_field("profile.pet_name"), frozenset())
    [lowered] = detector.hits(_field("shop.pet_name"), frozenset())
    [both] = detector.hits(_field("profile.shop.pet_name"), frozenset())
    [plain] = detector.hits(_field("pet_name"), frozenset())
    assert (raised.confidence, lowered.confidence) == (0.8, 0.3)
    assert (both.confidence, plain.confidence) == (0.6, 0.5)


def test_detector_key_context_sees_the_name_lower_cased_without_indices() -> None:
    detector = _keyed(context=(ContextRule(True, LinearPattern(r"^pets\[\]\."), 0.2),))
    [hit] = detector.hits(_field("Pets[3].pet_name"), frozenset())
    assert hit.confidence == 0.7


def test_detector_value_context_sees_the_whole_value() -> None:
    detector = _keyed(context=(ContextRule(False, LinearPattern("^test "), -0.4),))
    [hit] = detector.hits(_field("pet_name", "test Rex"), frozenset())
    assert hit.confidence == 0.1


def test_detector_context_lowering_to_zero_drops_the_hit() -> None:
    detector = _keyed(context=(ContextRule(True, LinearPattern("demo"), -1.0),))
    assert detector.hits(_field("demo.pet_name"), frozenset()) == []
    assert detector.hits(_field("kid.pet_name"), frozenset()) != []


def test_detector_context_never_raises_above_one() -> None:
    detector = _keyed(context=(ContextRule(True, LinearPattern("kid"), 0.9),))
    [hit] = detector.hits(_field("kid.pet_name"), frozenset())
    assert hit.confidence == 1.0


def test_detector_key_shape_drops_list_indices() -> None:
    assert key_shape("events[7].devices[12].mac") == "events[].devices[].mac"
    assert key_shape("mac") == "mac"
    assert key_shape(None) == ""


_G = (("Content-Type", "application/json"),)


def _genders(classifier: Classifier, request: HttpRequest) -> list[tuple[str, str]]:
    return [
        (match.rule, match.location)
        for match in classifier.classify(request)
        if match.category.id == "child-gender"
    ]


def test_classifier_alongside_hit_counts_next_to_the_child_name(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    inner = base64.urlsafe_b64encode(
        json.dumps({"n": "Mia Lopez", "g": "f"}).encode()
    ).decode()
    request = request_to(headers=_G, body=json.dumps({"p": inner}).encode())

    assert _genders(classifier, request) == [
        ("child-gender-code", "JSON body field 'p', JSON field 'g'")
    ]


def test_classifier_alongside_hit_alone_is_dropped(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    body = json.dumps({"g": "f", "unit": "c", "serial": "TB22910047"}).encode()
    matches = classifier.classify(request_to(headers=_G, body=body))

    assert [match.category.id for match in matches] == ["device-id"]


def test_classifier_alongside_companion_may_be_elsewhere_in_the_message(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    request = request_to(
        path="/v1/kids", query="dob=2018-03-14", headers=_G, body=b'{"kid": {"g": "m"}}'
    )
    assert _genders(classifier, request) == [
        ("child-gender-code", "JSON body field 'kid.g'")
    ]


def test_classifier_alongside_hits_do_not_vouch_for_each_other(
    classifier_with: Callable[[RuleSet], Classifier],
    tmp_path: Path,
    request_to: RequestFactory,
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "pair.yaml").write_text(
        "detectors:\n"
        "  - id: t-initial\n"
        "    category: child-name\n"
        "    keys: {include: ['^i$']}\n"
        "    alongside: [child-gender]\n",
        encoding="utf-8",
    )
    rules = load_rules([default_rules_dir(), folder])
    classifier = classifier_with(rules)
    body = json.dumps({"i": "M", "g": "f"}).encode()

    assert classifier.classify(request_to(headers=_G, body=body)) == []


def test_rules_alongside_must_name_a_category(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "rules.yaml").write_text(
        "detectors:\n"
        "  - id: t-initial\n"
        "    category: child-name\n"
        "    keys: {include: ['^i$']}\n"
        "    alongside: [pet-name]\n",
        encoding="utf-8",
    )
    with pytest.raises(RulesError) as caught:
        load_rules([default_rules_dir(), folder])
    assert "rules.yaml:2: rule t-initial: category 'pet-name'" in caught.value.message
