"""Undo an HTTP Content-Encoding, with a guard against decompression bombs.

Ingest keeps HTTP bodies exactly as they crossed the wire (RFC 9110 §8.4);
classification calls :func:`decode_content` when it wants to search a
compressed body. Encodings read: ``gzip`` (and ``x-gzip``), ``deflate``
(zlib-wrapped as RFC 9110 §8.4.1.2 says, or raw deflate as some servers send
it), ``br`` when the ``brotli`` module is installed, ``identity``; a list of
encodings is undone last to first.

A small body may inflate into gigabytes, so output stops at ``limit`` bytes
and at :data:`MAX_RATIO` times the encoded size (but never below
:data:`MIN_ALLOWANCE`), whichever comes first, and the caller is told.
"""

from __future__ import annotations

import zlib
from types import ModuleType

MAX_RATIO = 200
"""Largest decoded-to-encoded size ratio followed before stopping."""
MIN_ALLOWANCE = 1 << 20
"""Bytes always allowed, however small the encoded body."""

_CHUNK = 64 << 10
_BROTLI_PIECE = 1024
# The brotli module cannot bound the output of one call, so the input goes in
# small pieces and the allowance is checked after each.


def _load_brotli() -> ModuleType | None:
    try:
        import brotli  # type: ignore[import-untyped]
    except ImportError:
        return None
    module: ModuleType = brotli
    return module


_brotli = _load_brotli()


class _LimitReachedError(Exception):
    """Decoding stopped at the size allowance."""


def decode_content(body: bytes, encoding: str, limit: int) -> tuple[bytes, str | None]:
    """Undo the Content-Encoding ``encoding`` of ``body``, up to ``limit`` bytes.

    Returns (decoded bytes, problem). Problem is None when the whole body
    decoded; otherwise it says what went wrong, and the bytes are those
    decoded before it (cut at the allowance), or the body unchanged for an
    encoding that is unknown or could not start.
    """
    codings = [part.strip().lower() for part in encoding.split(",") if part.strip()]
    decoded = body
    for coding in reversed(codings):
        allowance = min(limit, max(MIN_ALLOWANCE, len(decoded) * MAX_RATIO))
        decoded, problem = _decode_one(decoded, coding, allowance)
        if problem is not None:
            return decoded, problem
    return decoded, None


def _decode_one(body: bytes, coding: str, allowance: int) -> tuple[bytes, str | None]:
    """Undo one content coding."""
    if coding == "identity":
        return body, None
    if coding in ("gzip", "x-gzip"):
        return _inflate(body, 16 + zlib.MAX_WBITS, allowance, coding)
    if coding == "deflate":
        if _zlib_header(body):
            return _inflate(body, zlib.MAX_WBITS, allowance, coding)
        return _inflate(body, -zlib.MAX_WBITS, allowance, coding)
    if coding == "br":
        return _unbrotli(body, allowance)
    return body, f"content encoding {coding!r} is not decoded"


def _zlib_header(body: bytes) -> bool:
    """Whether a body starts with a zlib header (RFC 1950 §2.2: CM 8, FCHECK)."""
    return (
        len(body) >= 2
        and body[0] & 0x0F == 8
        and int.from_bytes(body[:2], "big") % 31 == 0
    )


def _inflate(
    body: bytes, window_bits: int, allowance: int, coding: str
) -> tuple[bytes, str | None]:
    """zlib, gzip (several members too) or raw deflate, stopping at the allowance."""
    output = bytearray()
    remaining = body
    try:
        while remaining:
            inflater = zlib.decompressobj(window_bits)
            pending = remaining
            while pending and not inflater.eof:
                output += inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
                if len(output) > allowance:
                    raise _LimitReachedError
            if not inflater.eof:
                output += inflater.flush()
                return bytes(output), f"{coding} body ends before its end marker"
            remaining = inflater.unused_data if window_bits > 16 else b""
    except _LimitReachedError:
        return bytes(output[:allowance]), _cut_note(coding, allowance)
    except zlib.error as error:
        return bytes(output), f"{coding} body is corrupt ({error})"
    return bytes(output), None


def _unbrotli(body: bytes, allowance: int) -> tuple[bytes, str | None]:
    """Brotli, when the optional module is there, stopping at the allowance."""
    if _brotli is None:
        return body, "br body not decoded: the brotli module is not installed"
    decompressor = _brotli.Decompressor()
    output = bytearray()
    try:
        for start in range(0, len(body), _BROTLI_PIECE):
            output += decompressor.process(body[start : start + _BROTLI_PIECE])
            if len(output) > allowance:
                return bytes(output[:allowance]), _cut_note("br", allowance)
    except _brotli.error as error:
        return bytes(output), f"br body is corrupt ({error})"
    if not decompressor.is_finished():
        return bytes(output), "br body ends before its end marker"
    return bytes(output), None


def _cut_note(coding: str, allowance: int) -> str:
    return (
        f"{coding} body decoded only up to {allowance} bytes (decompression bomb guard)"
    )
