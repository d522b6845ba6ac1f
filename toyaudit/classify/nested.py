"""What a value holds inside: JSON, a JWT, Basic credentials, base64 of anything.

A field's value is often another encoding: JSON inside a JSON string, a JWT
in a header, ``Basic`` credentials, base64 of text, of gzip, of a protobuf
message or of a recording. :func:`expand` follows such layers and gives the
fields (and blobs) found inside, each recording its decoding steps, e.g.
``json > base64 > gzip > json`` or ``jwt > base64url > json``.

Every layer is bounded: ``max_depth`` nested decodings, ``max_body_bytes``
of JSON or base64 and of inflated output (and ingest's ratio guard against
decompression bombs), ``max_nesting`` protobuf messages. Where a layer stops
at a limit, the fields it gave carry a step such as ``limit:max_depth``.

Base64 is a guess (any word of letters is valid base64), so it is tried only
on values of the base64 alphabet, at least ``base64_min_length`` long and not
all hex digits, and what it gives must be printable text, compressed bytes
that inflate completely, a protobuf message that parses to its last byte, or
bytes long enough to be a recording or picture (a blob, for the content
detectors); anything else is noise and is dropped.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable
from typing import NamedTuple

from toyaudit.classify.fields import (
    Blob,
    DecodingRules,
    Field,
    blob,
    json_fields,
    limit_step,
    parse_json,
    printable_text,
)
from toyaudit.classify.protobuf import ProtoMessage, read_message
from toyaudit.classify.tokens import (
    basic_credentials,
    jwt_payload,
    looks_like_basic,
    looks_like_jwt,
)
from toyaudit.ingest.content import decode_content

logger = logging.getLogger(__name__)

_BASE64_SHAPE = re.compile(r"[A-Za-z0-9+/_=-]+")
"""Characters of standard and URL-safe base64 (and padding) only."""
_HEX_SHAPE = re.compile(r"[0-9a-fA-F]+")
"""Hex digits only: a hash or an id, which base64 decoding would garble."""
MIN_BLOB_BYTES = 64
"""Binary that decodes to nothing else is kept as a blob from this size: a
recording or picture is never smaller, while tokens and hashes are."""
MIN_GUESS_BYTES = 16
"""Shortest bytes tried as headerless brotli or deflate. Nothing shorter is
worth compressing, and most short base64-looking values are plain words
("dinosaur") whose bytes would be tried for nothing."""
_BASIC_STARTS = frozenset("Bb")
"""First letters of ``Basic``."""

Decoded = Field | Blob
"""What decoding a value gives."""


class Where(NamedTuple):
    """Where decoded fields sit: their part, name and location."""

    part: str
    key: str | None
    location: str


def expand(field: Field, rules: DecodingRules, depth: int) -> list[Decoded]:
    """A field with what decoding its value reveals, bounded by ``max_depth``.

    A value holding JSON is replaced by its fields (the text would repeat
    them); a JWT, Basic credentials or base64 are kept and followed by what
    they decode to, since either may be what a detector recognises.
    """
    stripped = field.value.strip()
    if depth >= rules.max_depth:
        if depth and _decodes_further(stripped, rules):
            return [_limited(field, "max_depth")]
        return [field]
    first = stripped[:1]
    if first in ("{", "["):
        if len(stripped) > rules.max_body_bytes:
            return [_limited(field, "max_body_bytes")]
        document = parse_json(stripped)
        if document is not None:
            label = f"{field.location}, JSON field"
            inner = json_fields(document, label, field.part, (*field.decoding, "json"))
            return _deeper(_under(inner, field.key), rules, depth)
    if _token_shaped(stripped, first):
        return [field, *_token_inner(field, stripped, rules, depth)]
    return [field, *_base64_inner(field, stripped, rules, depth)]


def _token_inner(
    field: Field, value: str, rules: DecodingRules, depth: int
) -> list[Decoded]:
    """What a JWT or Basic credentials hold, or what base64 decodes to."""
    if looks_like_jwt(value):
        payload = jwt_payload(value)
        if payload is not None:
            return _deeper(_claims(field, payload), rules, depth)
    if looks_like_basic(value):
        credentials = basic_credentials(value)
        if credentials is not None:
            return _deeper(_credentials(field, *credentials), rules, depth)
    return _base64_inner(field, value, rules, depth)


def might_decode(
    value: str,
    rules: DecodingRules,
    recognised: Callable[[bytes], bool] | None = None,
) -> bool:
    """Whether :func:`expand` would find anything inside this value.

    Binary that decodes to no field is a blob, which only matters if a
    content detector recognises it: ``recognised`` says whether one does
    (None: assume so). Random base64 (an avatar, a ciphertext) then costs a
    screen, not a full search of its text.
    """
    if rules.max_depth <= 0 or value.isdigit():
        return False  # digits alone are hex to the base64 check below
    stripped = value.strip()
    first = stripped[:1]
    if first in ("{", "["):
        return True
    if _token_shaped(stripped, first) and (
        looks_like_jwt(stripped) or looks_like_basic(stripped)
    ):
        return True
    decoded = _base64_bytes(stripped, rules)
    if decoded is None:
        return False
    raw, _ = decoded
    if printable_text(raw) is not None:
        return True
    if binary_fields(raw, Where("", None, ""), (), rules):
        return True
    if len(raw) < MIN_BLOB_BYTES:
        return False
    return recognised is None or recognised(raw)


def _token_shaped(value: str, first: str) -> bool:
    """A quick test that a value may be a JWT or Basic credentials."""
    return first in _BASIC_STARTS or value.startswith("eyJ") or " eyJ" in value


def _decodes_further(value: str, rules: DecodingRules) -> bool:
    """:func:`might_decode`, but a value that only starts like JSON is not."""
    if value[:1] in ("{", "["):
        return len(value) <= rules.max_body_bytes and parse_json(value) is not None
    return might_decode(value, rules)


def binary_fields(
    raw: bytes,
    where: Where,
    decoding: tuple[str, ...],
    rules: DecodingRules,
    depth: int = 0,
) -> list[Field]:
    """The fields of binary content, not yet expanded: what is inflated or read.

    Compressed bytes are inflated (gzip and zlib known by their headers) and
    read again; a protobuf message gives its fields (:mod:`.protobuf`);
    failing both, brotli and raw deflate are tried, and count only when they
    decode completely. Anything else gives nothing.
    """
    inflated = _inflated(raw, rules, guess=False)
    if inflated is None:
        message = read_message(raw, rules.max_nesting, rules.max_fields)
        if message is not None:
            return _protobuf_fields(message, where, decoding)
        inflated = _inflated(raw, rules, guess=True)
        if inflated is None:
            return []
    content, steps = inflated
    text = printable_text(content)
    if text is not None:
        return [Field(where.part, where.key, where.location, (*decoding, *steps),
                      text)]  # fmt: skip
    if depth + 1 >= rules.max_depth:
        return []
    return binary_fields(content, where, (*decoding, *steps), rules, depth + 1)


def inflate_limit(problem: str | None, output: bytes, limit: int) -> str | None:
    """The limit :func:`~toyaudit.ingest.content.decode_content` stopped at.

    None when it did not stop at its size guard (it finished, or the input
    was cut or corrupt); ``max_body_bytes`` when the output reached ``limit``;
    ``max_ratio`` when the guard on the inflation ratio stopped it first.
    """
    if problem is None or "guard" not in problem:
        return None
    return "max_body_bytes" if len(output) >= limit else "max_ratio"


def _limited(field: Field, limit: str) -> Field:
    return field._replace(decoding=(*field.decoding, limit_step(limit)))


def _under(inner: list[Field], key: str | None) -> list[Field]:
    """Inner fields named under their outer field: ``payload.email``."""
    if key is None:
        return inner
    return [item._replace(key=f"{key}.{item.key}") for item in inner]


def _deeper(inner: list[Field], rules: DecodingRules, depth: int) -> list[Decoded]:
    return [deeper for item in inner for deeper in expand(item, rules, depth + 1)]


def _claims(field: Field, payload: str) -> list[Field]:
    """The claims of a JWT payload; the payload as text if not a JSON object."""
    decoding = (*field.decoding, "jwt", "base64url")
    document = parse_json(payload) if payload.lstrip()[:1] == "{" else None
    if document is None:
        location = f"{field.location}, JWT payload"
        return [Field(field.part, field.key, location, decoding, payload)]
    label = f"{field.location}, JWT claim"
    inner = json_fields(document, label, field.part, (*decoding, "json"))
    return _under(inner, field.key)


def _credentials(field: Field, user: str, password: str) -> list[Field]:
    """The user-id and password of Basic credentials (RFC 7617 §2)."""
    decoding = (*field.decoding, "basic-auth", "base64")
    return [
        Field(field.part, _child_key(field.key, name), f"{field.location}, {label}",
              decoding, value)
        for name, label, value in (
            ("username", "user name", user),
            ("password", "password", password),
        )
        if value
    ]  # fmt: skip


def _child_key(key: str | None, name: str) -> str:
    return name if key is None else f"{key}.{name}"


def _base64_inner(
    field: Field, value: str, rules: DecodingRules, depth: int
) -> list[Decoded]:
    """What a base64 value decodes to: text, inflated or protobuf fields, a blob."""
    decoded = _base64_bytes(value, rules)
    if decoded is None:
        return []
    raw, step = decoded
    decoding = (*field.decoding, step)
    text = printable_text(raw)
    if text is not None:
        return expand(field._replace(decoding=decoding, value=text), rules, depth + 1)
    where = Where(field.part, field.key, field.location)
    inner = binary_fields(raw, where, decoding, rules)
    if inner:
        return _deeper(inner, rules, depth)
    if len(raw) >= MIN_BLOB_BYTES:
        return [blob(field.location, "", raw, decoding)]
    return []


def _base64_bytes(value: str, rules: DecodingRules) -> tuple[bytes, str] | None:
    """(bytes, ``base64`` or ``base64url``) when a value looks like base64."""
    if len(value) < rules.base64_min_length or len(value) > rules.max_body_bytes:
        return None
    if _BASE64_SHAPE.fullmatch(value) is None or _HEX_SHAPE.fullmatch(value):
        return None
    unpadded = value.rstrip("=")
    if len(unpadded) % 4 == 1:
        return None
    padded = unpadded + "=" * (-len(unpadded) % 4)
    try:
        if "-" in padded or "_" in padded:
            return base64.urlsafe_b64decode(padded), "base64url"
        return base64.b64decode(padded, validate=True), "base64"
    except (binascii.Error, ValueError):
        return None


def _inflated(
    raw: bytes, rules: DecodingRules, guess: bool
) -> tuple[bytes, tuple[str, ...]] | None:
    """Compressed bytes inflated, with their steps; None if not compressed.

    gzip (RFC 1952 magic ``1f 8b``) and zlib (RFC 1950 header check) are
    known by their first bytes; a gzip stream cut short still gives what
    inflated. With ``guess``, brotli and raw deflate, which have no header,
    are tried too. Except for gzip, a stream counts only when it decodes
    completely (or up to a size limit) into something, which random bytes
    practically never do.
    """
    codings: tuple[str, ...]
    if raw[:2] == b"\x1f\x8b":
        codings = () if guess else ("gzip",)
    elif len(raw) >= 2 and raw[0] & 0x0F == 8 and int.from_bytes(raw[:2]) % 31 == 0:
        codings = () if guess else ("deflate",)
    elif guess and len(raw) >= MIN_GUESS_BYTES:
        codings = ("br", "deflate")
    else:
        codings = ()
    limit = rules.max_body_bytes
    for coding in codings:
        output, problem = decode_content(raw, coding, limit)
        if not output or output == raw:
            continue
        stopped = inflate_limit(problem, output, limit)
        if problem is not None and stopped is None and coding != "gzip":
            continue
        steps = (coding,) if stopped is None else (coding, limit_step(stopped))
        return output, steps
    return None


def _protobuf_fields(
    message: ProtoMessage, where: Where, decoding: tuple[str, ...]
) -> list[Field]:
    """One field per kept protobuf value, named by its path of field numbers."""
    stopped = () if message.limit is None else (limit_step(message.limit),)
    return [
        Field(where.part, _child_key(where.key, value.path),
              f"{where.location}, protobuf field '{value.path}'",
              (*decoding, "protobuf", *value.steps, *stopped), value.text)
        for value in message.values
    ]  # fmt: skip
