"""Values inside values: JWT claims, Basic credentials, base64 of bytes, limits."""

from __future__ import annotations

import base64
import gzip
import json
import os
from dataclasses import replace

import brotli  # type: ignore[import-untyped]
import pytest

from toyaudit.classify import RuleSet
from toyaudit.classify.fields import Blob, DecodingRules, Field
from toyaudit.classify.nested import MIN_BLOB_BYTES, expand, might_decode


def _header_field(value: str) -> Field:
    return Field("header", "authorization", "header 'Authorization'", (), value)


def _query_field(value: str) -> Field:
    return Field("query", "d", "query parameter 'd'", (), value)


def _jwt(claims: dict[str, object]) -> str:
    def segment(document: object) -> str:
        raw = json.dumps(document).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{segment({'alg': 'RS256'})}.{segment(claims)}.c2lnbmF0dXJl"


def _text_fields(
    expanded: list[Field | Blob],
) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (item.location, item.value, item.decoding)
        for item in expanded
        if isinstance(item, Field)
    ]


def test_nested_jwt_claims_become_fields_and_the_token_stays(
    shipped_rules: RuleSet,
) -> None:
    token = _jwt({"email": "ana.lopez@example.com", "kid": {"name": "Mia"}})
    field = _header_field(f"Bearer {token}")

    expanded = expand(field, shipped_rules.decoding, 0)

    steps = ("jwt", "base64url", "json")
    assert _text_fields(expanded) == [
        ("header 'Authorization'", f"Bearer {token}", ()),
        ("header 'Authorization', JWT claim 'email'", "ana.lopez@example.com", steps),
        ("header 'Authorization', JWT claim 'kid.name'", "Mia", steps),
    ]
    assert isinstance(expanded[1], Field)
    assert expanded[1].key == "authorization.email"


def test_nested_basic_credentials_give_user_and_password(
    shipped_rules: RuleSet,
) -> None:
    encoded = base64.b64encode(b"ana.lopez@example.com:otter-42").decode()

    expanded = expand(_header_field(f"Basic {encoded}"), shipped_rules.decoding, 0)

    steps = ("basic-auth", "base64")
    assert _text_fields(expanded)[1:] == [
        ("header 'Authorization', user name", "ana.lopez@example.com", steps),
        ("header 'Authorization', password", "otter-42", steps),
    ]


def test_nested_base64_of_gzip_json_is_inflated_and_parsed(
    shipped_rules: RuleSet,
) -> None:
    packed = gzip.compress(json.dumps({"dob": "2018-03-14"}).encode())
    field = _query_field(base64.b64encode(packed).decode())

    expanded = expand(field, shipped_rules.decoding, 0)

    assert _text_fields(expanded)[1:] == [
        (
            "query parameter 'd', JSON field 'dob'",
            "2018-03-14",
            ("base64", "gzip", "json"),
        )
    ]


def test_nested_base64_of_brotli_text_is_recognised(shipped_rules: RuleSet) -> None:
    packed = brotli.compress(b"ssid=Lopez-Home-5G&pass=otter-42-marmalade")
    field = _query_field(base64.b64encode(packed).decode())

    [_, inner] = expand(field, shipped_rules.decoding, 0)

    assert isinstance(inner, Field)
    assert inner.decoding == ("base64", "br")
    assert inner.value.startswith("ssid=Lopez-Home-5G")


def test_nested_url_safe_base64_is_named_base64url(shipped_rules: RuleSet) -> None:
    encoded = base64.urlsafe_b64encode(b"name=Mia~~~~~~").decode().rstrip("=")
    assert "-" in encoded

    [_, inner] = expand(_query_field(encoded), shipped_rules.decoding, 0)

    assert isinstance(inner, Field)
    assert (inner.value, inner.decoding) == ("name=Mia~~~~~~", ("base64url",))


def test_nested_base64_of_protobuf_gives_numbered_fields(
    shipped_rules: RuleSet,
) -> None:
    message = b"\x0a\x0aTB22910047\x12\x03Mia"
    field = _query_field(base64.b64encode(message).decode())

    expanded = expand(field, shipped_rules.decoding, 0)

    steps = ("base64", "protobuf")
    assert _text_fields(expanded)[1:] == [
        ("query parameter 'd', protobuf field '1'", "TB22910047", steps),
        ("query parameter 'd', protobuf field '2'", "Mia", steps),
    ]
    assert might_decode(field.value, shipped_rules.decoding)


def test_nested_base64_of_long_binary_is_a_blob_and_short_noise_nothing(
    shipped_rules: RuleSet,
) -> None:
    clip = b"OggS\x00\x02" + os.urandom(2000)
    noise = bytes(range(200, 230))
    rules = shipped_rules.decoding

    [_, blob] = expand(_query_field(base64.b64encode(clip).decode()), rules, 0)
    quiet = _query_field(base64.b64encode(noise).decode())

    assert isinstance(blob, Blob)
    assert (blob.head[:4], blob.size, blob.decoding) == (b"OggS", 2006, ("base64",))
    assert len(noise) < MIN_BLOB_BYTES
    assert expand(quiet, rules, 0) == [quiet]
    assert not might_decode(quiet.value, rules)


@pytest.mark.parametrize(
    ("limit", "inflated"),
    [
        ("max_body_bytes", b"a" * (3 << 20)),  # stops at max_body_bytes (1 MiB)
        ("max_ratio", b"a" * (3 << 20)),  # stops at the ratio guard first
    ],
)
def test_nested_inflation_stopped_at_a_limit_is_recorded(
    shipped_rules: RuleSet, limit: str, inflated: bytes
) -> None:
    rules = shipped_rules.decoding
    if limit == "max_ratio":
        rules = replace(rules, max_body_bytes=8 << 20)
    field = _query_field(base64.b64encode(gzip.compress(inflated)).decode())

    [_, inner] = expand(field, rules, 0)

    assert isinstance(inner, Field)
    assert inner.decoding == ("base64", "gzip", f"limit:{limit}")
    assert len(inner.value) < len(inflated)


def test_nested_depth_limit_is_recorded_only_when_more_would_decode(
    shipped_rules: RuleSet,
) -> None:
    rules: DecodingRules = replace(shipped_rules.decoding, max_depth=1)
    deeper = base64.b64encode(b'{"name": "Mia"}').decode()
    flat = base64.b64encode(b"just some words").decode()

    [_, cut] = expand(
        _query_field(base64.b64encode(deeper.encode()).decode()), rules, 0
    )
    [_, whole] = expand(_query_field(flat), rules, 0)

    assert isinstance(cut, Field) and isinstance(whole, Field)
    assert cut.decoding == ("base64", "limit:max_depth")
    assert whole.decoding == ("base64",)
