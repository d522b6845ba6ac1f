"""Searching fields: many new fields at once find exactly what one by one finds."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.classify.decoders import Field
from toyaudit.classify.fieldsearch import FieldResult, FieldSearch
from toyaudit.classify.persona import PersonaIndex
from toyaudit.classify.records import Method
from toyaudit.classify.rules import RuleSet

_KEYS = (
    "events[3].mac",
    "events[0].device.mac",
    "events[12].email",
    "kids[1].name",
    "kids[0].age",
    "[7].bssid",
    "profile.parent.phone",
    "idfa",
    "imei",
    "lat",
    "location.lon",
    "ssid",
    "child_name",
    "authorization",
    "token",
    "payload",
    "note",
    "t",
)
"""Field names with and without list indices, under and beside detector keys."""
_INDEX = re.compile(r"\[\d+\]")


def _field(part: str, key: str, value: str) -> Field:
    """A JSON field as the classifier builds one for a document leaf."""
    shape = _INDEX.sub("[]", key)
    location = f"JSON body field '{key}'"
    shaped = None if shape == key else f"JSON body field '{shape}'"
    return Field(part, key, location, ("json",), value, shaped)


def _many(search: FieldSearch, fields: Sequence[Field]) -> list[FieldResult]:
    """``search_many`` over fields of one part, as the classifier calls it."""
    return search.search_many(
        fields[0].part if fields else "body",
        [field.value for field in fields],
        [_INDEX.sub("[]", field.key or "") for field in fields],
        fields.__getitem__,
    )


@pytest.fixture(scope="module")
def field_search(shipped_rules: RuleSet, persona_index: PersonaIndex) -> FieldSearch:
    """The shipped field detectors and the standard persona, as the classifier has."""
    detectors = [rule for rule in shipped_rules.detectors if not rule.content]
    return FieldSearch(detectors, persona_index, shipped_rules.decoding)


def _encoded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values, JSON holding them, and base64 of either (standard or URL-safe)."""
    as_json = st.builds(
        lambda key, value: json.dumps({key: value, "items": [value, "x"]}),
        st.sampled_from(["email", "mac", "name", "v"]),
        values,
    )
    plain = st.one_of(values, as_json)
    as_base64 = st.builds(
        lambda text, urlsafe: (
            base64.urlsafe_b64encode if urlsafe else base64.b64encode
        )(text.encode()).decode(),
        plain,
        st.booleans(),
    )
    return st.one_of(plain, as_base64)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fieldsearch_search_many_equals_search_of_each_field(
    data: st.DataObject,
    field_search: FieldSearch,
    telemetry_values: st.SearchStrategy[str],
) -> None:
    part = data.draw(st.sampled_from(["body", "query", "header"]))
    fields = data.draw(
        st.lists(
            st.builds(
                _field,
                st.just(part),
                st.sampled_from(_KEYS),
                _encoded(telemetry_values),
            ),
            max_size=10,
        )
    )

    assert _many(field_search, fields) == [field_search.search(f) for f in fields]


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("kids[0].age", "7", "child-age"),
        ("events[3].mac", "a4cf123b9e01", "persona:toy.mac"),
        ("events[4].mac", "3c71bf001234", "mac-address-bare"),
        ("events[5].mac", "3C:71:BF:00:12:34", "mac-address"),
        ("kids[1].name", "MIA LOPEZ", "persona:child.name"),
        ("[7].bssid", "3c71bf001234", "wifi-bssid"),
        ("profile.parent.phone", "+44 20 7946 0000", "phone-number"),
        ("child_name", "Zoe", "child-name"),
        ("note", "write to kid@mail.example", "email-address"),
        ("note", "14.03.2018", "persona:child.birthdate"),
        ("payload", '{"contact": "kid@mail.example"}', "email-address"),
        (
            "payload",
            base64.b64encode(b"ssid=Lopez-Home-5G").decode(),
            "persona:wifi.ssid",
        ),
    ],
)
def test_fieldsearch_search_many_finds_what_search_finds(
    field_search: FieldSearch, key: str, value: str, rule: str
) -> None:
    quiet = [_field("body", "t", "1767225601"), _field("body", "note", "hello")]
    fields = [*quiet, _field("body", key, value), *quiet]

    results = _many(field_search, fields)

    assert results == [field_search.search(field) for field in fields]
    assert [found.rule for found in results[2][1]] == [rule]
    assert all(result == (1, ()) for result in results[:2] + results[3:])


def test_fieldsearch_search_many_keeps_the_decoded_path(
    field_search: FieldSearch,
) -> None:
    inner = json.dumps({"email": "Ana.Lopez@example.com"}).encode()
    field = _field("body", "events[2].payload", base64.b64encode(inner).decode())

    [(expanded, (found,))] = _many(field_search, [field])

    assert (expanded, found.suffix) == (2, ", JSON field 'email'")
    assert found.decoding == ("json", "base64", "json")
    assert (found.method, found.persona_field) == (Method.PERSONA, "parent.email")


def test_fieldsearch_search_many_of_no_fields_is_empty(
    field_search: FieldSearch,
) -> None:
    assert _many(field_search, []) == []


def test_fieldsearch_search_many_same_value_under_other_names(
    field_search: FieldSearch,
) -> None:
    fields = [
        _field("body", "events[0].mac", "3c71bf001234"),
        _field("body", "events[0].session", "3c71bf001234"),
    ]

    results = _many(field_search, fields)

    assert [[found.rule for found in hits] for _, hits in results] == [
        ["mac-address-bare"],
        [],
    ]
    assert results == [field_search.search(field) for field in fields]
