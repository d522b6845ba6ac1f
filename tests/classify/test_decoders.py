"""Decoders: limits on depth and base64 guessing."""

from __future__ import annotations

import base64
import json

from toyaudit.classify import RuleSet
from toyaudit.classify.decoders import Field, expand, json_fields


def test_decoders_base64_of_binary_is_not_decoded(shipped_rules: RuleSet) -> None:
    noise = base64.b64encode(bytes(range(200, 230))).decode()
    field = Field("query", "d", "query parameter 'd'", (), noise)
    assert expand(field, shipped_rules.decoding, 0) == [field]


def test_decoders_depth_limit_stops_nested_base64(shipped_rules: RuleSet) -> None:
    value = "ana.lopez@example.com"
    for _ in range(10):
        value = base64.b64encode(value.encode()).decode()
    field = Field("query", "d", "query parameter 'd'", (), value)
    expanded = expand(field, shipped_rules.decoding, 0)
    assert len(expanded) == shipped_rules.decoding.max_depth + 1
    assert expanded[-1].decoding == ("base64",) * shipped_rules.decoding.max_depth


def test_decoders_json_lists_are_indexed_and_literals_skipped() -> None:
    document = json.loads('{"kids": [{"name": "Mia", "on": true, "x": null}]}')
    [field] = json_fields(document, "JSON body field", "body", ("json",))
    assert (field.key, field.location) == (
        "kids[0].name",
        "JSON body field 'kids[0].name'",
    )
