"""What decoding makes of an observation: fields, JSON documents and blobs.

Detectors and the persona search never look at raw bytes. They look at
:class:`Field` records, each a decoded text value with its name, its place
("JSON body field 'profile.name'") and the decoding steps that reached it
(url-decode, gzip, json, base64...). A :class:`JsonDocument` is a parsed
document whose leaves the classifier walks itself, and a :class:`Blob` is
binary content (an upload, a binary message) that only the content detectors
read, by its declared type and its magic bytes.

Decoding is bounded (:class:`DecodingRules`). When a decoder stops at a limit,
the fields it gave end their decoding chain with a step such as
``limit:max_depth``, so a finding says that what it shows may not be all.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import NamedTuple

logger = logging.getLogger(__name__)

_LAYOUT = str.maketrans("", "", "\r\n\t")
"""Line breaks and tabs, which text may hold though they are not printable."""
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\r\n\t"
"""The bytes of printable ASCII text and its layout: what most bodies hold."""

_TEXT_TYPES = ("json", "xml", "x-www-form-urlencoded")
"""Endings of declared media types that are text (``application/ld+json``)."""

BLOB_HEAD = 64 << 10
"""Bytes of a blob kept for the content detectors, which read magic bytes
near the start; its :attr:`Blob.size` is the whole size."""


def limit_step(limit: str) -> str:
    """The decoding step that records a decoder stopped at ``limit``.

    ``limit`` is the name of the setting, e.g. ``max_depth``; the step reads
    ``limit:max_depth``.
    """
    return f"limit:{limit}"


@dataclass(frozen=True, slots=True)
class DecodingRules:
    """Limits and keyword lists for decoding, from ``decoding:`` in the rules."""

    max_depth: int
    """Nested decodings (json inside base64 inside a query value...) to follow."""
    max_body_bytes: int
    """Bodies longer than this are only searched as text, not parsed; also
    the most bytes a compressed value or body is inflated to."""
    max_fields: int
    """Fields taken from one observation; the rest are dropped with a debug note."""
    base64_min_length: int
    """Shortest value tried as base64."""
    skip_headers: frozenset[str]
    """Lower-case header names that never carry personal data (Accept, ...)."""
    ignored_values: frozenset[str]
    """Lower-case values a key-only match ignores (true, false, null, ...)."""
    max_parts: int = 64
    """Parts of one multipart body that are read; later parts are not."""
    max_nesting: int = 8
    """Messages nested in messages followed when reading protobuf."""


class Field(NamedTuple):
    """One decoded value of an observation, with its name and position.

    A named tuple rather than a dataclass: a telemetry batch holds hundreds of
    thousands of fields, and a tuple is several times cheaper to build.
    """

    part: str
    """query, path, header, cookie, body or dns-name."""
    key: str | None
    """Field name (dotted path for JSON; for a path segment, the collection
    word before it), or None for a text and unnamed path segments."""
    location: str
    """Human-readable position, e.g. "JSON body field 'profile.name'"."""
    decoding: tuple[str, ...]
    value: str
    shape: str | None = None
    """The location with list indices dropped ("JSON body field 'kids[].name'"),
    shared by the same field of every element of a list; None when the
    location has no index."""

    @property
    def place(self) -> str:
        """Where the field sits, indices aside: :attr:`shape` or the location."""
        return self.shape if self.shape is not None else self.location


class Blob(NamedTuple):
    """Binary content that only the content detectors read.

    An uploaded recording, a multipart file part, a binary WebSocket message,
    base64 bytes inside a JSON field: what it is shows in its declared
    content type or its first bytes, not in any text.
    """

    location: str
    """Human-readable position, e.g. "multipart part 'voice'"."""
    content_type: str
    """Declared media type, lower-case, without parameters; "" when none."""
    head: bytes
    """The first :data:`BLOB_HEAD` bytes (all of them when shorter)."""
    size: int
    """Size of the whole content in bytes."""
    decoding: tuple[str, ...]
    upload: bool = False
    """True for an HTTP request body or one of its multipart parts: a request
    that sends a file, whose magic bytes any content rule may recognise.
    Elsewhere (a binary message, bytes inside a field) only magic of at least
    three fixed bytes counts, since shorter signatures (the 12-bit MPEG frame
    sync) match about one random or encrypted message in two thousand."""


@dataclass(frozen=True, slots=True)
class JsonDocument:
    """A parsed JSON document of an observation, not yet flattened into fields.

    The classifier walks it itself, so that the hundreds of thousands of
    leaves of a telemetry batch need not each become a :class:`Field` first.
    """

    document: object
    label: str
    """Location prefix of its fields, e.g. "JSON body field"."""
    part: str
    decoding: tuple[str, ...]

    def fields(self) -> list[Field]:
        """Its leaves as fields (:func:`json_fields`)."""
        return json_fields(self.document, self.label, self.part, self.decoding)


Item = Field | JsonDocument | Blob
"""What decoding an observation gives: fields, JSON documents and blobs."""


def blob(
    location: str,
    content_type: str,
    content: bytes,
    decoding: tuple[str, ...],
    upload: bool = False,
) -> Blob:
    """A :class:`Blob` of ``content``, keeping only its head."""
    head = content[:BLOB_HEAD]
    return Blob(location, content_type, head, len(content), decoding, upload)


def textual_type(content_type: str) -> bool:
    """Whether a declared media type is text: JSON, XML, forms, ``text/*``."""
    return content_type.startswith("text/") or content_type.endswith(_TEXT_TYPES)


def json_fields(
    document: object, label: str, part: str, decoding: tuple[str, ...], prefix: str = ""
) -> list[Field]:
    """Flatten a parsed JSON document into fields keyed by dotted paths.

    Lists get an index (``kids[0].name``), and the field's :attr:`Field.shape`
    the same path without it (``kids[].name``). Booleans and nulls carry no
    personal data and are skipped. Walks with an explicit stack, so deep
    nesting cannot exhaust Python's recursion limit.
    """
    fields: list[Field] = []
    append = fields.append
    stack: list[tuple[str, str, object]] = [(prefix, prefix, document)]
    pop, extend = stack.pop, stack.extend
    while stack:
        path, shape, node = pop()
        if type(node) is str:
            if path:
                location = f"{label} '{path}'"
                shaped = None if shape == path else f"{label} '{shape}'"
                append(Field(part, path, location, decoding, node, shaped))
        elif isinstance(node, dict):
            if path:
                children = [
                    (f"{path}.{key}", f"{shape}.{key}", value)
                    for key, value in node.items()
                ]
            else:
                children = [(str(key), str(key), value) for key, value in node.items()]
            children.reverse()
            extend(children)
        elif isinstance(node, list):
            inner = f"{shape}[]"
            items = [
                (f"{path}[{index}]", inner, value) for index, value in enumerate(node)
            ]
            items.reverse()
            extend(items)
    return fields


def parse_json(text: str) -> object | None:
    """The parsed document, or None when ``text`` is not JSON.

    Numbers stay as written: "51.501340" keeps its six decimals.
    """
    try:
        return json.loads(text, parse_float=str, parse_int=str)  # type: ignore[no-any-return]
    except (ValueError, RecursionError):
        return None


def printable_text(raw: bytes) -> str | None:
    """``raw`` as text when it is UTF-8 of printable characters (and layout).

    ASCII is checked on the bytes, by deleting every printable byte and
    seeing whether anything is left: six times as fast as
    :meth:`str.isprintable`, and a JSON body is checked once per request.
    """
    if raw.isascii():
        return None if raw.translate(None, _PRINTABLE_ASCII) else raw.decode("ascii")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.isprintable() or text.translate(_LAYOUT).isprintable():
        return text
    return None
