"""Searching fields: many new fields at once find exactly what one by one finds."""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.classify.detectors import ContentMatcher, Detector, MagicSignature
from toyaudit.classify.fieldhits import FieldResult
from toyaudit.classify.fields import Blob, Field
from toyaudit.classify.fieldsearch import FieldSearch
from toyaudit.classify.linear import LinearPattern
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


def _jwt(text: str) -> str:
    """A signed-looking JWT whose payload is ``text``."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    return f"{header}.{payload}.c2ln"


def _protobuf(text: str) -> bytes:
    """A protobuf message holding ``text`` as field 1 (short texts only)."""
    raw = text.encode()[:120]
    return b"\x0a" + bytes([len(raw)]) + raw + b"\x10\x01"


def _encoded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values, JSON holding them, and base64 of either (standard or URL-safe),
    of their gzip or of a protobuf message; JWTs and Basic credentials."""
    as_json = st.builds(
        lambda key, value: json.dumps({key: value, "items": [value, "x"]}),
        st.sampled_from(["email", "mac", "name", "v"]),
        values,
    )
    plain = st.one_of(values, as_json)
    as_base64 = st.builds(
        lambda raw, urlsafe: (
            base64.urlsafe_b64encode if urlsafe else base64.b64encode
        )(raw).decode(),
        st.one_of(
            plain.map(str.encode),
            plain.map(lambda text: gzip.compress(text.encode(), mtime=0)),
            plain.map(_protobuf),
        ),
        st.booleans(),
    )
    tokens = st.one_of(
        plain.map(_jwt),
        plain.map(
            lambda text: "Basic " + base64.b64encode(b"u:" + text.encode()).decode()
        ),
    )
    return st.one_of(plain, as_base64, tokens)


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


def test_fieldsearch_search_marks_whole_and_partial_persona_hits(
    field_search: FieldSearch,
) -> None:
    [(_, (whole,)), (_, (partial, *_))] = [
        field_search.search(_field("body", "note", value))
        for value in (" Mia Lopez ", "tell Mia Lopez a story about dragons")
    ]

    assert (whole.persona_field, whole.whole) == ("child.name", True)
    assert (partial.persona_field, partial.whole) == ("child.name", False)


def _content_detector(name: str, types: str, magic: bytes = b"") -> Detector:
    signatures: tuple[MagicSignature, ...] = ()
    if magic:
        full = b"\xff" * len(magic)
        signatures = (MagicSignature(f"{name} magic", ((0, magic, full),)),)
    matcher = ContentMatcher((LinearPattern(types),), signatures)
    return Detector(name, name, "test", ("body",), None, None, matcher, 1, 0.9)


@pytest.mark.parametrize(
    ("content_type", "rule"),
    [
        ("video/webm", "picture"),  # declared type beats the other rule's magic
        ("", "sound"),  # no type: magic decides
        ("application/octet-stream", "sound"),
        ("application/json", None),  # text is never read for magic
    ],
)
def test_fieldsearch_content_hit_prefers_the_declared_type(
    persona_index: PersonaIndex,
    shipped_rules: RuleSet,
    content_type: str,
    rule: str | None,
) -> None:
    detectors = [
        _content_detector("sound", "^audio/", b"\x1a\x45\xdf\xa3"),
        _content_detector("picture", "^video/"),
    ]
    search = FieldSearch([], persona_index, shipped_rules.decoding, detectors)
    blob = Blob("request body", content_type, b"\x1a\x45\xdf\xa3webm", 2048, ())

    found = search.content_hit(blob)

    assert (found.rule if found else None) == rule
    if found is not None:
        assert found.method is Method.CONTENT
        assert found.value.endswith(", 2 KB")


def test_fieldsearch_base64_recording_is_content_and_random_bytes_nothing(
    persona_index: PersonaIndex, shipped_rules: RuleSet
) -> None:
    detectors = shipped_rules.detectors
    search = FieldSearch(
        [rule for rule in detectors if not rule.content],
        persona_index,
        shipped_rules.decoding,
        [rule for rule in detectors if rule.content],
    )
    clip = base64.b64encode(b"OggS\x00\x02" + bytes(range(250)) * 8).decode()
    avatar = base64.b64encode(bytes(range(1, 256)) * 8).decode()
    fields = [_field("body", "audio", clip), _field("body", "avatar", avatar)]

    results = search.search_many(
        "body", [clip, avatar], ["audio", "avatar"], fields.__getitem__
    )

    assert results == [search.search(field) for field in fields]
    [(_, (voice,)), (_, nothing)] = results
    assert (voice.category_id, voice.method, voice.decoding) == (
        "voice-recording",
        Method.CONTENT,
        ("json", "base64"),
    )
    assert nothing == ()


@pytest.mark.parametrize("upload", [True, False])
def test_fieldsearch_content_hit_webm_with_video_track_is_a_picture(
    persona_index: PersonaIndex, shipped_rules: RuleSet, upload: bool
) -> None:
    detectors = shipped_rules.detectors
    search = FieldSearch(
        [],
        persona_index,
        shipped_rules.decoding,
        [rule for rule in detectors if rule.content],
    )
    header = bytes.fromhex("1A45DFA3") + b"\x87\x42\x82\x84webm"
    video = header + b"\x83\x81\x01\x86\x85V_VP9" + bytes(1000)
    audio = header + b"\x83\x81\x02\x86\x86A_OPUS" + bytes(1000)

    seen = [
        search.content_hit(Blob("request body", "", body, len(body), (), upload))
        for body in (video, audio)
    ]

    assert [(found.category_id, found.value) for found in seen if found] == [
        ("image", "WebM/Matroska video, 1022 bytes"),
        ("voice-recording", "WebM/Matroska recording, 1023 bytes"),
    ]
