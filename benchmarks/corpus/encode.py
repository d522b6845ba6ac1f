"""The encodings toys apply to values and bodies, each recorded as a step.

Value transformations take a :class:`~.labels.Wire` and return a new one
whose ``steps`` start with the name of what was done, so a label always says
how its value travelled. Spellings a classifier might report (the URL-encoded
or base64 text) are kept as ``forms``; container encodings (JSON, gzip,
multipart, protobuf, JWT) are recorded by the message builder as ``outer``
steps instead, since their text is the whole message, not this value.

Everything is deterministic: gzip gets a zero modification time, JWTs a fixed
signing key, multipart boundaries come from the caller's seeded generator.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import json
import struct
import zlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, quote_plus

import brotli  # type: ignore[import-untyped]

from benchmarks.corpus.book import Wire

_JWT_KEY = b"corpus-signing-key-not-a-secret"
"""HMAC key of the corpus's JWTs: fixed so that tokens are reproducible."""


def plain(value: str) -> Wire:
    """A value sent exactly as typed."""
    return Wire(value, value)


def _wrap(inner: Wire, step: str, text: str) -> Wire:
    """``inner`` encoded once more; its previous text becomes another form.

    An encoding that leaves the text as it was ("Mirabel" URL-encoded) is
    not recorded as a step.
    """
    if text == inner.text:
        return inner
    forms = (*inner.forms, inner.text) if inner.text != inner.value else inner.forms
    return Wire(text, inner.value, (step, *inner.steps), forms)


def url(inner: Wire) -> Wire:
    """Percent-encoded as in a path or query (RFC 3986), spaces as %20."""
    return _wrap(inner, "url-encode", quote(inner.text, safe=""))


def form(inner: Wire) -> Wire:
    """Encoded as in an HTML form or query (spaces as '+')."""
    return _wrap(inner, "url-encode", quote_plus(inner.text, safe=""))


def b64(inner: Wire) -> Wire:
    """Standard base64 with padding (RFC 4648 section 4)."""
    text = base64.b64encode(inner.text.encode()).decode("ascii")
    return _wrap(inner, "base64", text)


def b64url(inner: Wire) -> Wire:
    """URL-safe base64 without padding (RFC 4648 section 5), as JWTs use it."""
    text = base64.urlsafe_b64encode(inner.text.encode()).decode("ascii")
    return _wrap(inner, "base64url", text.rstrip("="))


def hexed(inner: Wire) -> Wire:
    """The UTF-8 bytes as lower-case hex, as firmware prints a Wi-Fi name."""
    return _wrap(inner, "hex", inner.text.encode().hex())


def upper(inner: Wire) -> Wire:
    """Upper-cased before sending; the case-folded value is what is found."""
    text = inner.text.upper()
    return Wire(text, text, ("upper-case", *inner.steps), inner.forms)


def lower(inner: Wire) -> Wire:
    """Lower-cased before sending."""
    text = inner.text.lower()
    return Wire(text, text, ("lower-case", *inner.steps), inner.forms)


def padded(inner: Wire) -> Wire:
    """Sent with the surrounding spaces a form field kept (a match trims them)."""
    return Wire(f"  {inner.text} ", inner.value, ("untrimmed", *inner.steps))


def embedded(value: str, text: str) -> Wire:
    """A value inside a longer text (a toy renamed "Mirabel's Pebble")."""
    return Wire(text, value, ("in-text",))


def digest(algorithm: str, normalised: str) -> Wire:
    """The hex digest of an already normalised value (md5, sha1 or sha256)."""
    hasher = hashlib.new(algorithm, normalised.encode(), usedforsecurity=False)
    text = hasher.hexdigest()
    return Wire(text, text, (algorithm,))


def respelled(value: str, step: str) -> Wire:
    """Another notation of the same datum (a MAC with dots, a date day-first)."""
    return Wire(value, value, (step,))


def mac_notations(mac: str) -> dict[str, str]:
    """A MAC address in every common notation, by notation name."""
    digits = mac.replace(":", "").lower()
    octets = [digits[index : index + 2] for index in range(0, 12, 2)]
    return {
        "mac-colons": ":".join(octets),
        "mac-colons-upper": ":".join(octets).upper(),
        "mac-dashes": "-".join(octets).upper(),
        "mac-bare": digits,
        "mac-bare-upper": digits.upper(),
        "mac-dotted": ".".join(digits[index : index + 4] for index in (0, 4, 8)),
    }


def date_notations(day: dt.date) -> dict[str, str]:
    """A date in the notations apps use, by notation name.

    Month and weekday names are English (C's ``%b`` and ``%a``), as apps
    and servers write them whatever the phone's language.
    """
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    # Midnight on a phone set to UTC+1, sent as UTC: the evening before.
    shifted = midnight - dt.timedelta(hours=1)
    return {
        "date-iso": day.isoformat(),
        "date-day-first": day.strftime("%d/%m/%Y"),
        "date-month-first": day.strftime("%m/%d/%Y"),
        "date-dotted": day.strftime("%d.%m.%Y"),
        "date-dotted-year-first": day.strftime("%Y.%m.%d"),
        "date-compact": day.strftime("%Y%m%d"),
        "date-long": f"{day.strftime('%B')} {day.day}, {day.year}",
        "date-long-no-comma": day.strftime("%b %d %Y"),
        "date-js-string": day.strftime("%a %b %d %Y"),
        "date-month-name-dashed": day.strftime("%d-%b-%Y"),
        "date-month-name-slashed": day.strftime("%d/%b/%Y"),
        "date-iso-time": f"{day.isoformat()}T00:00:00Z",
        "date-iso-time-ms": f"{day.isoformat()}T00:00:00.000Z",
        "date-sql-time": f"{day.isoformat()} 00:00:00",
        "date-iso-time-utc+1": shifted.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "date-epoch-ms": str(int(midnight.timestamp()) * 1000),
    }


def phone_notations(phone: str) -> dict[str, str]:
    """A UK mobile number (``+44 7700 900123``) grouped the ways people write it."""
    code, national = phone.removeprefix("+").split(" ", 1)
    digits = national.replace(" ", "")
    head, tail = digits[:4], digits[4:]
    return {
        "phone-dashed": f"+{code}-{head}-{tail[:3]}-{tail[3:]}",
        "phone-dotted": f"+{code}.{head}.{tail}",
        "phone-national-bracketed": f"(0{head}) {tail}",
        "phone-national-dashed": f"0{head}-{tail[:3]}-{tail[3:]}",
    }


def compact_json(document: Any) -> str:
    """JSON without spaces, as most toy firmware writes it."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def json_bytes(document: Any) -> bytes:
    """:func:`compact_json` as UTF-8 bytes, ready to be a body."""
    return compact_json(document).encode("utf-8")


def gzip_bytes(body: bytes) -> bytes:
    """gzip with a zero timestamp, so the bytes never change (RFC 1952)."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def deflate_bytes(body: bytes) -> bytes:
    """zlib-wrapped deflate, as RFC 9110 section 8.4.1.2 defines 'deflate'."""
    return zlib.compress(body, 6)


def brotli_bytes(body: bytes) -> bytes:
    """Brotli (RFC 7932), the 'br' content coding."""
    compressed: bytes = brotli.compress(body, quality=5)
    return compressed


def jwt(claims: dict[str, Any], kid: str = "k1") -> str:
    """An HS256 JSON Web Token (RFC 7519) carrying ``claims``."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}

    def part(document: dict[str, Any]) -> bytes:
        """One base64url segment of the token, unpadded."""
        raw = base64.urlsafe_b64encode(json_bytes(document))
        return raw.rstrip(b"=")

    signing_input = part(header) + b"." + part(claims)
    signature = hmac.new(_JWT_KEY, signing_input, hashlib.sha256).digest()
    tail = base64.urlsafe_b64encode(signature).rstrip(b"=")
    return (signing_input + b"." + tail).decode("ascii")


ProtoValue = str | bytes | int | float | list["ProtoField"]
ProtoField = tuple[int, ProtoValue]


def protobuf(fields: Sequence[ProtoField]) -> bytes:
    """Protocol Buffers wire format without a schema (protobuf.dev encoding).

    Strings and bytes are length-delimited (wire type 2), nested lists are
    embedded messages, ints are varints (type 0), floats are doubles (type 1).
    """
    out = bytearray()
    for number, value in fields:
        if isinstance(value, bool):
            raise TypeError("booleans are sent as ints in the corpus")
        if isinstance(value, int):
            out += _varint(number << 3) + _varint(value & (2**64 - 1))
        elif isinstance(value, float):
            out += _varint(number << 3 | 1) + struct.pack("<d", value)
        else:
            raw = value.encode() if isinstance(value, str) else value
            if isinstance(raw, list):
                raw = protobuf(raw)
            out += _varint(number << 3 | 2) + _varint(len(raw)) + raw
    return bytes(out)


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        number, low = divmod(number, 128)
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


MultipartPart = tuple[str, str | None, str | None, bytes]
"""(field name, file name or None, content type or None, content)."""


def multipart(boundary: str, parts: Sequence[MultipartPart]) -> bytes:
    """A multipart/form-data body (RFC 7578) with the given boundary."""
    out = b""
    for name, filename, content_type, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\n"
        out += head.encode() + b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def luhn_digit(digits: str) -> str:
    """The Luhn check digit that makes ``digits`` + it valid (IMEI, ISO/IEC 7812)."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str(-total % 10)
