"""Detector channels and context: which fields a detector looks at, and how sure it is.

The shipped rules' own examples are run by test_detectors.py and test_examples.py;
these tests build detectors by hand to pin down :meth:`Detector.applies` with a
channel and :meth:`Detector.value_hits` with context.
"""

from __future__ import annotations

import dataclasses
import re

from toyaudit.classify.decoders import Field
from toyaudit.classify.detectors import ContextRule, Detector, KeyMatcher, key_shape


def _keyed(**overrides: object) -> Detector:
    """A key-only detector of pet names; ``overrides`` replace its fields."""
    detector = Detector(
        id="pet-name",
        category_id="child-name",
        source="test_detectors.py:1",
        parts=("query", "body"),
        keys=KeyMatcher((re.compile("pet_name$"),), ()),
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
            ContextRule(True, re.compile(r"(^|[._])profile[._]"), 0.3),
            ContextRule(True, re.compile(r"(^|[._])shop[._]"), -0.2),
        )
    )
    [raised] = detector.hits(_field("profile.pet_name"), frozenset())
    [lowered] = detector.hits(_field("shop.pet_name"), frozenset())
    [both] = detector.hits(_field("profile.shop.pet_name"), frozenset())
    [plain] = detector.hits(_field("pet_name"), frozenset())
    assert (raised.confidence, lowered.confidence) == (0.8, 0.3)
    assert (both.confidence, plain.confidence) == (0.6, 0.5)


def test_detector_key_context_sees_the_name_lower_cased_without_indices() -> None:
    detector = _keyed(context=(ContextRule(True, re.compile(r"^pets\[\]\."), 0.2),))
    [hit] = detector.hits(_field("Pets[3].pet_name"), frozenset())
    assert hit.confidence == 0.7


def test_detector_value_context_sees_the_whole_value() -> None:
    detector = _keyed(context=(ContextRule(False, re.compile("^test "), -0.4),))
    [hit] = detector.hits(_field("pet_name", "test Rex"), frozenset())
    assert hit.confidence == 0.1


def test_detector_context_lowering_to_zero_drops_the_hit() -> None:
    detector = _keyed(context=(ContextRule(True, re.compile("demo"), -1.0),))
    assert detector.hits(_field("demo.pet_name"), frozenset()) == []
    assert detector.hits(_field("kid.pet_name"), frozenset()) != []


def test_detector_context_never_raises_above_one() -> None:
    detector = _keyed(context=(ContextRule(True, re.compile("kid"), 0.9),))
    [hit] = detector.hits(_field("kid.pet_name"), frozenset())
    assert hit.confidence == 1.0


def test_detector_key_shape_drops_list_indices() -> None:
    assert key_shape("events[7].devices[12].mac") == "events[].devices[].mac"
    assert key_shape("mac") == "mac"
    assert key_shape(None) == ""
