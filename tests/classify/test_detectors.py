"""Every shipped detector's own positive and negative examples, plus matcher details."""

from __future__ import annotations

import pytest

from toyaudit.classify import default_rules_dir, load_rules
from toyaudit.classify.decoders import Field
from toyaudit.classify.detectors import Detector, Example
from toyaudit.classify.records import Method

_RULES = load_rules([default_rules_dir()])
_CASES = [
    pytest.param(detector, example, id=f"{detector.id}-{example.line}")
    for detector in _RULES.detectors
    for example in detector.examples
]


def _detects(detector: Detector, example: Example) -> bool:
    if detector.content is not None:
        return detector.content.identify(example.content_type, example.body) is not None
    field = Field(example.part, example.key, "example", (), example.value)
    return bool(detector.hits(field, _RULES.decoding.ignored_values))


@pytest.mark.parametrize(("detector", "example"), _CASES)
def test_detector_examples_behave_as_declared(
    detector: Detector, example: Example
) -> None:
    where = f"{detector.source} example at line {example.line}"
    assert _detects(detector, example) is example.positive, where


def test_detector_every_rule_has_positive_and_negative_examples() -> None:
    for detector in _RULES.detectors:
        kinds = {example.positive for example in detector.examples}
        assert kinds == {True, False}, detector.id


def test_detector_pattern_hit_reports_only_the_matched_text() -> None:
    email = next(rule for rule in _RULES.detectors if rule.id == "email-address")
    field = Field("body", None, "request body", (), "mail ana@web.de now")
    [hit] = email.hits(field, frozenset())
    assert (hit.value, hit.method) == ("ana@web.de", Method.PATTERN)


def test_detector_skips_parts_it_does_not_cover() -> None:
    bearer = next(rule for rule in _RULES.detectors if rule.id == "bearer-token")
    field = Field(
        "query", "authorization", "query parameter", (), "Bearer 0123456789ab"
    )
    assert bearer.hits(field, frozenset()) == []
