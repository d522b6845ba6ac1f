"""Rule regexes agree across both engines and stay linear on hostile text."""

from __future__ import annotations

import pickle
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.classify import Classifier, RuleSet, default_rules_dir, load_rules
from toyaudit.classify.detectors import MAX_VALUES
from toyaudit.classify.fieldhits import MAX_FIELD_HITS
from toyaudit.classify.linear import LINEAR_FROM, LinearPattern
from toyaudit.errors import RulesError

from .conftest import RequestFactory

ALPHABET = "aZ09._%+-@:/ ,\n\"'=&?#[]{}$" + "İé"


def _rule_patterns(rules: RuleSet) -> list[LinearPattern]:
    found: list[LinearPattern] = []
    for detector in rules.detectors:
        for matcher in (detector.keys, detector.value):
            if matcher is None:
                continue
            for name in ("include", "exclude", "patterns"):
                found += getattr(matcher, name, ())
    return found


@contextmanager
def _finishes_within(seconds: int) -> Iterator[None]:
    """Fail the test, rather than hang the suite, if the block runs too long."""

    def expire(signum: int, frame: object) -> None:
        raise AssertionError(f"still running after {seconds} s: not linear")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_every_shipped_rule_regex_is_a_linear_pattern(shipped_rules: RuleSet) -> None:
    patterns = _rule_patterns(shipped_rules)

    assert len(patterns) > 50
    assert all(isinstance(pattern, LinearPattern) for pattern in patterns)


SOURCES = sorted({p.pattern for p in _rule_patterns(load_rules([default_rules_dir()]))})


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=60))
def test_both_engines_find_the_same_matches(text: str) -> None:
    for source in SOURCES:
        short = [m.group(0) for m in LinearPattern(source).finditer(text)]
        linear = [m.group(0) for m in re2.compile(source).finditer(text)]
        assert short == linear, source


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        (r" [0-9]{1,2}$", "age 7\n", []),
        (r" [0-9]{1,2}$", "age 7", [" 7"]),
        (r"[$][0-9]+$", "costs $5", ["$5"]),
        (r"\$[0-9]+$", "costs $5\n", []),
        (r"[]$]x$", "$x", ["$x"]),
    ],
)
def test_dollar_is_the_end_of_the_value_in_both_engines(
    source: str, text: str, expected: list[str]
) -> None:
    pattern = LinearPattern(source)
    padding = " " * LINEAR_FROM

    assert [m.group(0) for m in pattern.finditer(text)] == expected
    assert [m.group(0) for m in pattern.finditer(padding + text)] == expected


def test_long_text_goes_to_re2_and_gives_what_re_gives() -> None:
    pattern = LinearPattern(r"[a-z0-9.]+@[a-z]+\.org")
    short = "write to kid.one@toy.org or kid.two@toy.org"
    long = short + " " + "x" * (2 * LINEAR_FROM)

    assert [m.group(0) for m in pattern.finditer(long)] == [
        "kid.one@toy.org",
        "kid.two@toy.org",
    ]
    assert pattern.search(long, 20) is not None
    assert pattern.search(long, 20).group(0) == "kid.two@toy.org"  # type: ignore[union-attr]


def test_linear_pattern_survives_the_rule_cache() -> None:
    pattern = LinearPattern(r"[0-9]{3}-[0-9]{4}")

    copy = pickle.loads(pickle.dumps(pattern))  # noqa: S301 - our own bytes

    assert copy == pattern
    assert copy.search("call 555-0147" + " " * LINEAR_FROM) is not None


def test_rule_regex_re2_refuses_is_a_rules_error(tmp_path: Path) -> None:
    (tmp_path / "detectors.yaml").write_text(
        "schema: 1\n"
        "detectors:\n"
        "  - id: greedy-serial\n"
        "    category: device-id\n"
        "    parts: [body]\n"
        "    value:\n"
        "      patterns: ['SN[0-9]++']\n"
        "    confidence: 0.8\n",
        encoding="utf-8",
    )

    with pytest.raises(RulesError) as caught:
        load_rules([tmp_path])

    assert "greedy-serial" in str(caught.value)
    assert "SN[0-9]++" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b"a" * (1 << 20),
        bytes(range(48, 58)) * (1 << 16),
        b"0123456789abcdef" * (1 << 16),
        b"a." * (1 << 19),
        b"x" * (1 << 19) + b"@",
    ],
    ids=["letters", "digits", "hex", "dots", "at-the-end"],
)
def test_hostile_megabyte_body_is_classified_in_linear_time(
    classifier: Classifier, request_to: RequestFactory, body: bytes
) -> None:
    with _finishes_within(30):  # quadratic matching took many minutes here
        matches = classifier.classify(
            request_to(body=body, headers=(("Content-Type", "text/plain"),))
        )

    assert matches == []


def test_field_with_thousands_of_persona_hits_is_cut_and_says_so(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    body = b"Mia Lopez, " * 10_000

    with _finishes_within(30):
        matches = classifier.classify(
            request_to(body=body, headers=(("Content-Type", "text/plain"),))
        )

    [match] = [m for m in matches if m.rule == "persona:child.name"]
    assert match.decoding[-1] == "limit:max_hits"


def test_field_with_thousands_of_addresses_reports_the_first(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    body = b" ".join(b"kid%d@mail%d.example.org" % (i, i) for i in range(10_000))

    with _finishes_within(30):
        matches = classifier.classify(
            request_to(body=body, headers=(("Content-Type", "text/plain"),))
        )

    emails = [m.value for m in matches if m.category.id == "email-address"]
    assert emails[:2] == ["kid0@mail0.example.org", "kid1@mail1.example.org"]
    assert len(emails) == MAX_VALUES <= MAX_FIELD_HITS
