"""Tests of Content-Encoding decoding and its decompression-bomb guard."""

from __future__ import annotations

import gzip
import zlib

import brotli  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.ingest.content import MAX_RATIO, MIN_ALLOWANCE, decode_content

BODY = b'{"child": "Emma", "birthday": "2019-04-02"}' * 50


def _raw_deflate(body: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(body) + compressor.flush()


def test_content_decodes_each_encoding() -> None:
    assert decode_content(gzip.compress(BODY), "gzip", 1 << 20) == (BODY, None)
    assert decode_content(gzip.compress(BODY), "X-GZIP", 1 << 20) == (BODY, None)
    assert decode_content(zlib.compress(BODY), "deflate", 1 << 20) == (BODY, None)
    assert decode_content(_raw_deflate(BODY), "deflate", 1 << 20) == (BODY, None)
    assert decode_content(brotli.compress(BODY), "br", 1 << 20) == (BODY, None)
    assert decode_content(BODY, "identity", 1 << 20) == (BODY, None)


def test_content_undoes_stacked_encodings_last_first() -> None:
    stacked = brotli.compress(gzip.compress(BODY))

    assert decode_content(stacked, "gzip, br", 1 << 20) == (BODY, None)


def test_content_reads_concatenated_gzip_members() -> None:
    assert decode_content(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip", 100) == (
        b"abcd",
        None,
    )


def test_content_bomb_stops_at_the_allowance() -> None:
    bomb = gzip.compress(b"\x00" * (64 << 20))

    decoded, problem = decode_content(bomb, "gzip", 1 << 30)

    allowance = max(MIN_ALLOWANCE, len(bomb) * MAX_RATIO)
    assert len(decoded) == allowance and problem is not None
    assert "bomb" in problem
    small, note = decode_content(brotli.compress(b"\x00" * (8 << 20)), "br", 1000)
    assert len(small) == 1000 and note is not None


def test_content_reports_corrupt_truncated_and_unknown_bodies() -> None:
    assert decode_content(b"not gzip", "gzip", 100)[1] is not None
    truncated = gzip.compress(BODY)[:-20]
    decoded, problem = decode_content(truncated, "gzip", 1 << 20)
    assert problem is not None and BODY.startswith(decoded[:100])
    assert decode_content(BODY, "compress", 100) == (
        BODY,
        "content encoding 'compress' is not decoded",
    )


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=300),
    encoding=st.sampled_from(["gzip", "deflate", "br", "identity", "gzip, deflate"]),
)
def test_content_survives_random_bodies(body: bytes, encoding: str) -> None:
    decoded, problem = decode_content(body, encoding, 10_000)

    assert len(decoded) <= max(10_000, len(body))
    assert problem is None or isinstance(problem, str)
