"""The screen: one RE2 pass over many values never passes one worth a search.

The screen may flag a value that holds nothing; it must flag every value that
a screened detector pattern, or a persona form, matches when searched alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.classify import default_rules_dir, load_rules
from toyaudit.classify.detectors import Detector, ValueMatcher
from toyaudit.classify.linear import LinearPattern
from toyaudit.classify.persona import PersonaIndex
from toyaudit.classify.rules import RuleSet
from toyaudit.classify.screen import Screen
from toyaudit.errors import RulesError

_NO_PERSONA = PersonaIndex([], {})


def _screened(rules: RuleSet) -> list[Detector]:
    """The detectors a :class:`FieldSearch` screens: no key matchers, no content."""
    return [
        detector
        for detector in rules.detectors
        if detector.keys is None and detector.content is None
    ]


def _probe(*patterns: str) -> Detector:
    """A detector that looks for ``patterns`` under any name."""
    return Detector(
        id="probe",
        category_id="device-id",
        source="test_screen.py:1",
        parts=("body",),
        keys=None,
        value=ValueMatcher(
            tuple(LinearPattern(source) for source in patterns), (), None
        ),
        content=None,
        min_length=2,
        confidence=0.5,
    )


def _alone(
    values: list[str], detectors: list[Detector], persona: PersonaIndex
) -> set[int]:
    """Indices of the values a pattern or persona form matches on its own."""
    return {
        index
        for index, value in enumerate(values)
        if persona.search(value)
        or any(
            pattern.search(value)
            for detector in detectors
            if detector.value is not None
            for pattern in detector.value.patterns
        )
    }


@pytest.fixture(scope="module")
def shipped_screen(shipped_rules: RuleSet, persona_index: PersonaIndex) -> Screen:
    """The screen of the shipped rules and the standard test persona."""
    return Screen(_screened(shipped_rules), persona_index)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_screen_flags_every_value_a_pattern_or_persona_form_matches(
    data: st.DataObject,
    shipped_rules: RuleSet,
    persona_index: PersonaIndex,
    shipped_screen: Screen,
    telemetry_values: st.SearchStrategy[str],
) -> None:
    values = data.draw(st.lists(telemetry_values, max_size=12))

    suspects = shipped_screen.suspects(values)

    expected = _alone(values, _screened(shipped_rules), persona_index)
    assert expected <= suspects
    assert suspects <= set(range(len(values)))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_screen_flags_values_matched_by_anchored_patterns(
    data: st.DataObject, telemetry_values: st.SearchStrategy[str]
) -> None:
    detectors = [_probe(r"^[0-9]{1,2}$", r"^[0-9A-Fa-f]{12}$", r"[0-9]{4}$")]
    values = data.draw(st.lists(telemetry_values, max_size=12))

    suspects = Screen(detectors, _NO_PERSONA).suspects(values)

    assert _alone(values, detectors, _NO_PERSONA) <= suspects


def test_screen_anchors_hold_at_each_value_edge() -> None:
    screen = Screen([_probe(r"^[0-9]{2}$")], _NO_PERSONA)

    suspects = screen.suspects(["x", "12", "battery 80", "34"])

    assert {1, 3} <= suspects
    assert 2 not in suspects


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        (r"^[0-9]{2}$", "12\n"),  # "$" before a final newline, as Python's re
        (r"[0-9]{2}$", "note\n12"),
        (r"^[0-9]{2}", "12\nnote"),
        (r"[0-9]{2}\n[a-z]+", "12\nab"),
    ],
)
def test_screen_flags_values_holding_newlines(pattern: str, value: str) -> None:
    screen = Screen([_probe(pattern)], _NO_PERSONA)
    assert re.search(pattern, value) is not None

    assert 1 in screen.suspects(["x", value, "y"])


def test_screen_match_running_into_the_next_value_does_not_hide_it() -> None:
    # In the joined text the first match swallows "34" and all that follows.
    screen = Screen([_probe(r"[0-9]{2}[^#]*")], _NO_PERSONA)

    assert {0, 1, 3} <= screen.suspects(["12 and more", "34", "none", "56"])


def test_screen_match_spanning_values_does_not_hide_the_next_own_match() -> None:
    screen = Screen([_probe(r"a[^#]*b")], _NO_PERSONA)
    values = ["a", "b", "xab", "b"]

    suspects = screen.suspects(values)

    assert _alone(values, [_probe(r"a[^#]*b")], _NO_PERSONA) == {2}
    assert 2 in suspects


def test_screen_persona_form_sits_in_a_later_value(shipped_screen: Screen) -> None:
    values = ["battery 80", "en-GB", "ssid=LOPEZ-HOME-5G;", "t=1767225601"]

    suspects = shipped_screen.suspects(values)

    assert 2 in suspects
    assert 0 not in suspects


@pytest.mark.parametrize(
    "values",
    [
        ["İzmir", "ssid=Lopez-Home-5G"],
        ["ssid=Lopez-Home-5G", "İzmir"],
        ["İ ssid=Lopez-Home-5G"],
        ["note", "İ", "x", "toy TB22910047"],
    ],
)
def test_screen_lower_case_of_another_length_does_not_shift_offsets(
    values: list[str], shipped_screen: Screen, persona_index: PersonaIndex
) -> None:
    holding = {index for index, value in enumerate(values) if "Lopez" in value}
    holding |= {index for index, value in enumerate(values) if "TB229" in value}
    assert holding == _alone(values, [], persona_index)

    assert holding <= shipped_screen.suspects(values)


def test_screen_case_sensitive_base64_form_is_flagged(
    shipped_screen: Screen, persona_index: PersonaIndex
) -> None:
    # "TWlhIExvcGV6" is base64 of "Mia Lopez", searched case-sensitively.
    values = ["en", "d=TWlhIExvcGV6", "twlhiexvcgv6"]
    assert _alone(values, [], persona_index) == {1}

    assert 1 in shipped_screen.suspects(values)


def test_screen_empty_list_flags_nothing(shipped_screen: Screen) -> None:
    assert shipped_screen.suspects([]) == set()


def test_screen_empty_values_are_indexed_in_place(shipped_screen: Screen) -> None:
    suspects = shipped_screen.suspects(["", "", "kid@mail.example", ""])

    assert 2 in suspects
    assert suspects <= {0, 1, 2, 3}


def test_screen_patterns_naming_the_same_group_still_flag_their_values() -> None:
    detectors = [_probe(r"(?P<id>[0-9]{4})"), _probe(r"(?P<id>[a-z]{4})")]
    values = ["-", "2024", "-", "abcd"]

    suspects = Screen(detectors, _NO_PERSONA).suspects(values)

    assert _alone(values, detectors, _NO_PERSONA) == {1, 3}
    assert {1, 3} <= suspects


def test_screen_without_patterns_or_persona_flags_nothing() -> None:
    assert Screen([], _NO_PERSONA).suspects(["kid@mail.example", "12"]) == set()


def test_screen_lone_surrogate_does_not_stop_the_scan(shipped_screen: Screen) -> None:
    assert 1 in shipped_screen.suspects(["\ud800", "kid@mail.example"])


def test_screen_empty_list_flags_nothing_for_a_pattern_matching_empty_text() -> None:
    assert Screen([_probe(r"[0-9]*")], _NO_PERSONA).suspects([]) == set()


@pytest.mark.parametrize(
    ("pattern", "values", "index"),
    [
        (r"\A[0-9]{2}", ["note", "12"], 1),
        (r"[0-9]{2}\Z", ["12", "note"], 0),
        (r"^\d{3}$", ["note", "١٢٣"], 1),
        (r"\w{3}", ["-", "éèê"], 1),
        (r"x\sy", ["-", "x\u00a0y"], 1),
        (r"(?i)mia", ["-", "MİA"], 1),
        (r"a{,2}b", ["-", "ab"], 1),
    ],
)
def test_screen_rules_refuse_patterns_re2_would_read_otherwise(
    tmp_path: Path, pattern: str, values: list[str], index: int
) -> None:
    """Python's re matches each value alone, yet RE2 over the joined values
    would not; the loader refuses such patterns, so the screen cannot miss."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "probe.yaml").write_text(
        "detectors:\n"
        "  - id: probe\n"
        "    category: device-id\n"
        f"    value: {{patterns: ['{pattern}']}}\n",
        encoding="utf-8",
    )
    assert re.search(pattern, values[index]) is not None

    with pytest.raises(RulesError, match="probe"):
        load_rules([default_rules_dir(), folder])
