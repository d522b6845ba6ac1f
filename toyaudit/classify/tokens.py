"""Read what credentials carry in the clear: JWT claims, Basic user names.

A JSON Web Token (RFC 7519) looks opaque but is three base64url segments,
header, payload and signature (RFC 7515 §3.1, compact serialisation); the
payload is the claims as JSON, readable by anyone, and apps put the child's
name, birthdate or e-mail there. HTTP Basic authentication (RFC 7617 §2)
sends ``user-id:password`` in base64. Neither is encryption, so both are
decoded before matching. A token's signature is never decoded: it is a MAC
or a signature, not data. Encrypted tokens (JWE, five segments) stay opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging

from toyaudit.classify.fields import printable_text

logger = logging.getLogger(__name__)

_BASE64URL = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)
_BASIC = "basic "
_MAX_SCHEME = 16
"""Longest word taken for an authentication scheme before a token."""


def looks_like_jwt(value: str) -> bool:
    """A cheap first test: three dotted segments, the first of a JSON object.

    ``eyJ`` is base64url of ``{"``, how every JWT header in practice starts.
    The token may follow a scheme word: ``Bearer``, ``JWT``, ``Token``...
    """
    token = _without_scheme(value)
    return token.startswith("eyJ") and token.count(".") == 2


def jwt_payload(value: str) -> str | None:
    """The payload of a signed JWT (optionally after a scheme word), as text.

    None unless the value is exactly three base64url segments whose first is
    a JSON object naming an ``alg`` (RFC 7515 §4.1.1) and whose second is
    printable text.
    """
    if not looks_like_jwt(value):
        return None
    header, payload, signature = _without_scheme(value).split(".")
    if not all(set(segment) <= _BASE64URL for segment in (header, payload, signature)):
        return None
    header_text = _base64url_text(header)
    if header_text is None:
        return None
    try:
        parsed = json.loads(header_text)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or "alg" not in parsed:
        return None
    return _base64url_text(payload)


def looks_like_basic(value: str) -> bool:
    """Whether a value starts like an HTTP Basic ``Authorization`` value."""
    return value[: len(_BASIC)].lower() == _BASIC


def basic_credentials(value: str) -> tuple[str, str] | None:
    """(user-id, password) of an HTTP Basic ``Authorization`` value, or None."""
    if not looks_like_basic(value):
        return None
    encoded = value[len(_BASIC) :].strip()
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    text = printable_text(raw)
    if text is None or ":" not in text:
        return None
    user, _, password = text.partition(":")
    return user, password


def _without_scheme(value: str) -> str:
    """``value`` without a leading scheme word such as ``Bearer`` (RFC 9110 §11.4)."""
    scheme, space, rest = value.partition(" ")
    if space and scheme.isalpha() and len(scheme) <= _MAX_SCHEME:
        return rest.strip()
    return value


def _base64url_text(segment: str) -> str | None:
    """The printable text an unpadded base64url segment encodes, or None."""
    if len(segment) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None
    return printable_text(raw)
