"""Tests of the incremental JSON scanner under the HAR reader."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.ingest.jsonstream import JsonScanner, JsonStreamError, OversizedValue

_TRICKY_TEXT = st.text(alphabet='ab"\\{}[],: \u00e9\U0001f600\n', max_size=12)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | _TRICKY_TEXT
)
_VALUES = st.recursive(
    _LEAVES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(_TRICKY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)


def _scan_array(text: str, chunk: int, max_chars: int) -> list[Any]:
    scanner = JsonScanner(io.BytesIO(text.encode()), max_chars, chunk=chunk)
    scanner.expect("[", "an array")
    items = list(scanner.array_items())
    assert scanner.peek() == ""
    return items


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(_VALUES, max_size=6),
    chunk=st.integers(min_value=1, max_value=9),
    max_chars=st.integers(min_value=25, max_value=60),
    indent=st.sampled_from([None, 1]),
)
def test_jsonstream_items_decode_or_are_passed_over_whole(
    items: list[Any], chunk: int, max_chars: int, indent: int | None
) -> None:
    texts = [json.dumps(item, indent=indent) for item in items]
    document = "[\n" + " ,\n".join(texts) + "\n]"

    scanned = _scan_array(document, chunk, max_chars)

    assert len(scanned) == len(items)
    for item, text, result in zip(items, texts, scanned, strict=True):
        if isinstance(result, OversizedValue):
            assert isinstance(item, str | list | dict) and result.chars == len(text)
        else:
            assert result == item


def test_jsonstream_number_split_across_chunks_is_read_whole() -> None:
    assert _scan_array("[123456789, 2]", chunk=3, max_chars=100) == [123456789, 2]


def test_jsonstream_object_keys_walk_nested_objects() -> None:
    scanner = JsonScanner(io.BytesIO(b'{"a": 1, "b": {"c": [2]}}'), 100, chunk=2)
    scanner.expect("{", "an object")
    seen: list[tuple[str, Any]] = []
    for key in scanner.object_keys():
        if key == "b":
            scanner.expect("{", "b")
            seen.extend((inner, scanner.value()) for inner in scanner.object_keys())
        else:
            seen.append((key, scanner.value()))

    assert seen == [("a", 1), ("c", [2])]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[1 2]", "expected ',' or ']' after an array item at character 3"),
        ("[1,", "expecting value"),
        ('[{"a": "b}]', "unterminated string"),
        ("[" * 100_000, "nested too deeply"),
        ("[" + "1" * 5000 + "]", "integer string conversion"),
    ],
)
def test_jsonstream_invalid_documents_raise(text: str, reason: str) -> None:
    with pytest.raises(JsonStreamError, match=reason):
        _scan_array(text, chunk=1 << 20, max_chars=1 << 20)


def test_jsonstream_oversized_value_cut_short_raises() -> None:
    with pytest.raises(JsonStreamError, match="ends inside a value"):
        _scan_array('[["' + "x" * 100, chunk=8, max_chars=16)


def test_jsonstream_rejects_text_that_is_not_utf8() -> None:
    scanner = JsonScanner(io.BytesIO(b'["\xff"]'), 100, chunk=4)

    with pytest.raises(JsonStreamError, match="not UTF-8 text"):
        scanner.expect("[", "an array")
        list(scanner.array_items())
