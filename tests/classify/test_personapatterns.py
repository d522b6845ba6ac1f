"""Pattern forms of the persona: a phone grouped any way, a birthdate with a time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toyaudit.classify.persona import PersonaIndex
from toyaudit.classify.personapatterns import pattern_forms
from toyaudit.session import PersonaValue

_CATEGORIES = {
    "child.name": "child-name",
    "child.birthdate": "child-birthdate",
    "parent.phone": "phone-number",
}


def _index(**values: str) -> PersonaIndex:
    persona = [
        PersonaValue(field.replace("_", ".", 1), value)
        for field, value in values.items()
    ]
    return PersonaIndex(persona, _CATEGORIES)


def _hits(index: PersonaIndex, text: str) -> list[tuple[str, str]]:
    return [(hit.form.form, hit.value) for hit in index.search(text)]


def _screened(index: PersonaIndex, text: str) -> bool:
    return any(
        pattern.search(text.lower() if lowered else text)
        for pattern, lowered in index.screens()
    )


@pytest.mark.parametrize(
    "written",
    [
        "2018-03-14T00:00:00.000Z",  # JavaScript's toISOString
        "2018-03-14T00:00:00Z",
        "2018-03-14 00:00:00",  # SQL DATETIME
        "2018-03-14T09:41",
        "2018-03-14t08:30:00.5+01:00",
        "2018-03-14T00:00:00,000000001-05:00",
        "20180314T000000Z",  # iCalendar's basic format
    ],
)
def test_personapatterns_birthdate_with_a_time_is_the_birthdate(written: str) -> None:
    index = _index(child_birthdate="2018-03-14")
    text = f'{{"t":"{written}","n":1}}'
    assert _hits(index, text) == [("date-iso-time", written)]
    assert _screened(index, text)


@pytest.mark.parametrize(
    "written",
    [
        "2018-03-13T23:00:00.000Z",  # local midnight in UTC+1, sent as UTC
        "2018-03-13T14:00:00Z",  # local midnight in UTC+10
        "2018-03-15T04:00:00+00:00",  # 14 March, 23:00 in UTC-5
    ],
)
def test_personapatterns_neighbouring_day_at_a_moment_of_the_birthdate_is_nearby(
    written: str,
) -> None:
    index = _index(child_birthdate="2018-03-14")
    assert _hits(index, f"d={written}") == [("date-iso-time-nearby", written)]
    assert _screened(index, written)


@pytest.mark.parametrize(
    "written",
    [
        "2018-03-13T23:00:00",  # no zone: a local time names no moment
        "2018-03-13T23:00:07Z",  # off the quarter-hour grid: an event
        "2018-03-13T23:00:00.250Z",
        "2018-03-13T09:00:00Z",  # 14 March has not begun anywhere yet
        "2018-03-12T23:00:00Z",
        "2018-03-16T00:00:00Z",
        "2018-03-14T00:00:00Zulu",  # not a whole token
        "v2018-03-14T00:00:00Z",
        "2018-03-140T00:00",
        "2019-03-14T00:00:00Z",
    ],
)
def test_personapatterns_other_moments_are_not_the_birthdate(written: str) -> None:
    assert _hits(_index(child_birthdate="2018-03-14"), written) == []


def test_personapatterns_date_with_time_replaces_the_plain_hit_it_spans() -> None:
    index = _index(child_birthdate="2018-03-14")
    assert _hits(index, "born 2018-03-14 00:00:00, at home") == [
        ("date-iso-time", "2018-03-14 00:00:00")
    ]
    assert _hits(index, "born 2018-03-14, at home") == [("plain", "2018-03-14")]


@pytest.mark.parametrize(
    ("persona", "written"),
    [
        ("+44 7700 900123", "+44-7700-900-123"),
        ("+44 7700 900123", "+44.7700.900123"),
        ("+44 7700 900123", "(07700) 900123"),
        ("+44 7700 900123", "07700-900-123"),
        ("+44 7700 900123", "0044 7700 900 123"),
        ("+44 7700 900123", "+44 (0)7700 900123"),
        ("+44 7700 900123", "44 - 7700 - 900123"),
        ("+44 20 7946 0958", "(020) 7946 0958"),
        ("+44 20 7946 0958", "020-7946-0958"),
        ("+44 20 7946 0958", "+44 (0)20 7946 0958"),
        ("+1 202 555 0143", "(202) 555-0143"),
        ("+1 202 555 0143", "1-202-555-0143"),
        ("+1 202 555 0143", "+1 (202) 555.0143"),
        ("07700 900123", "(07700) 900-123"),  # typed without a country code
    ],
)
def test_personapatterns_phone_grouped_any_way_is_found(
    persona: str, written: str
) -> None:
    index = _index(parent_phone=persona)
    text = f"call {written} now"
    assert _hits(index, text) == [("phone-separated", written)]
    assert _screened(index, text)


@pytest.mark.parametrize(
    "text",
    [
        "7700.900123",  # one decimal number, a measurement
        "ratio=7700.900123",
        "12-7700-900-123",  # the tail of a longer grouped number
        "7700-900-123-4",
        "+44-7700-900-1234",
        "+44-7700-900-124",  # another number
        "+33-7700-900-123",  # another country: its digits, not the persona's
        "id44-7700-900-123",
        "build 7700 9001 23x",
    ],
)
def test_personapatterns_other_digit_runs_are_not_the_phone(text: str) -> None:
    assert _hits(_index(parent_phone="+44 7700 900123"), text) == []


def test_personapatterns_phone_as_typed_keeps_its_literal_form() -> None:
    index = _index(parent_phone="+44 7700 900123")
    assert _hits(index, "tel +44 7700 900123") == [("plain", "+44 7700 900123")]
    assert _hits(index, "tel 07700 900123") == [("phone-national", "07700 900123")]


@given(
    groups=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=10),
    separators=st.lists(
        st.sampled_from([" ", "-", ".", "/", " - ", ") ", "\u00a0"]), min_size=10
    ),
    prefix=st.sampled_from(["+44 ", "+44-", "0044.", "0", "(0", "+44 (0)"]),
)
def test_personapatterns_phone_any_grouping_is_found(
    groups: list[int], separators: list[str], prefix: str
) -> None:
    digits = "7700900123"
    pieces: list[str] = []
    while digits:
        size = groups[len(pieces) % len(groups)]
        pieces.append(digits[:size])
        digits = digits[size:]
    written = prefix + "".join(
        piece + (separators[index] if index < len(pieces) - 1 else "")
        for index, piece in enumerate(pieces)
    )
    index = _index(parent_phone="+44 7700 900123")
    [hit] = index.search(f"[{written}]")
    assert hit.form.form in ("phone-separated", "plain", "phone-national")
    assert hit.value == written


def test_personapatterns_hits_keep_text_order_with_other_fields() -> None:
    index = _index(child_name="Mia Lopez", parent_phone="+44 7700 900123")
    text = "07700-900-123 is Mia Lopez's mum, 2018-03-14T00:00:00Z"
    assert [hit.form.field for hit in index.search(text)] == [
        "parent.phone",
        "child.name",
    ]


def test_personapatterns_only_phone_and_birthdate_have_patterns() -> None:
    name = PersonaValue("child.name", "Mia Lopez")
    unparsable = PersonaValue("parent.phone", "ask the nanny")
    assert pattern_forms(name, _CATEGORIES) == []
    assert pattern_forms(unparsable, _CATEGORIES) == []
    before_1973 = pattern_forms(
        PersonaValue("child.birthdate", "1970-01-02"), _CATEGORIES
    )
    assert [pattern.form.form for pattern in before_1973] == ["date-iso-time"]
