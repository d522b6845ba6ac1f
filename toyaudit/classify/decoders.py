"""Decoders: pull named, decoded text fields out of an observation.

Detectors and the persona search never look at raw bytes; they look at
:class:`Field` records that say where a value sits ("query parameter 'id'",
"JSON body field 'profile.name'"), under which name, and through which decoding
steps it was reached (url-decode, gzip, json, base64...). Decoding is bounded:
``max_depth`` nested decodings, ``max_body_bytes`` of body, ``max_fields``
fields per observation, so a hostile or huge capture cannot stall an audit.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote, unquote_plus

from toyaudit.ingest.content import decode_content
from toyaudit.ingest.records import (
    BleAdvertisement,
    DhcpMessage,
    DnsQuery,
    GattOperation,
    HttpRequest,
    MqttMessage,
    Observation,
    RawPayload,
    SsdpMessage,
    TlsClientHello,
    WebSocketMessage,
)

logger = logging.getLogger(__name__)

_BASE64_SHAPE = re.compile(r"[A-Za-z0-9+/_=-]+")
"""Characters of standard and URL-safe base64 (and padding) only."""
_HEX_SHAPE = re.compile(r"[0-9a-fA-F]+")
"""Hex digits only: a hash or an id, which base64 decoding would garble."""
_LAYOUT = str.maketrans("", "", "\r\n\t")
"""Line breaks and tabs, which text may hold though they are not printable."""


@dataclass(frozen=True, slots=True)
class DecodingRules:
    """Limits and keyword lists for decoding, from ``decoding:`` in the rules."""

    max_depth: int
    """Nested decodings (json inside base64 inside a query value...) to follow."""
    max_body_bytes: int
    """Bodies longer than this are only searched as text, not parsed."""
    max_fields: int
    """Fields taken from one observation; the rest are dropped with a debug note."""
    base64_min_length: int
    """Shortest value tried as base64."""
    skip_headers: frozenset[str]
    """Lower-case header names that never carry personal data (Accept, ...)."""
    ignored_values: frozenset[str]
    """Lower-case values a key-only match ignores (true, false, null, ...)."""


class Field(NamedTuple):
    """One decoded value of an observation, with its name and position.

    A named tuple rather than a dataclass: a telemetry batch holds hundreds of
    thousands of fields, and a tuple is several times cheaper to build.
    """

    part: str
    """query, path, header, cookie, body or dns-name."""
    key: str | None
    """Field name (dotted path for JSON), or None for path segments and text."""
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


Item = Field | JsonDocument
"""What :func:`raw_items` gives: a field, or a JSON document of fields."""


def observation_fields(
    observation: Observation, rules: DecodingRules, decoded: DecodedBody | None = None
) -> list[Field]:
    """Every decoded field of an observation, in a stable order.

    ``decoded`` is an HTTP request's body from :func:`body_bytes`, when the
    caller already decoded it (so a compressed body is inflated only once).
    """
    fields = [
        field
        for item in raw_items(observation, rules, decoded)
        for field in (item.fields() if isinstance(item, JsonDocument) else (item,))
    ]
    expanded = [inner for field in fields for inner in expand(field, rules, 0)]
    if len(expanded) > rules.max_fields:
        logger.debug("kept %d of %d fields", rules.max_fields, len(expanded))
    return expanded[: rules.max_fields]


def raw_items(
    observation: Observation, rules: DecodingRules, decoded: DecodedBody | None = None
) -> list[Item]:
    """The fields of each kind of observation, before nested decoding."""
    match observation:
        case HttpRequest():
            fields: list[Item] = []
            fields += _path_fields(observation.path)
            fields += _pair_fields(observation.query, "query", "query parameter", ())
            fields += _header_fields(observation.headers, rules)
            return fields + body_fields(observation, rules, decoded)
        case DnsQuery():
            return [_name_field("DNS name", observation.name)]
        case TlsClientHello():
            if observation.sni is None:
                return []
            return [_name_field("TLS server name", observation.sni)]
        case MqttMessage():
            return _mqtt_fields(observation, rules)
        case WebSocketMessage() if observation.from_client:
            return payload_fields(observation.payload, "WebSocket message", (), rules)
        case RawPayload() if observation.from_client and observation.payload:
            label = f"{observation.protocol.upper()} payload"
            return payload_fields(observation.payload, label, (), rules)
        case DhcpMessage():
            names = (
                ("DHCP host name", observation.host_name),
                ("DHCP vendor class", observation.vendor_class),
            )
            return [_name_field(label, value) for label, value in names if value]
        case SsdpMessage():
            return list(_header_fields(observation.headers, rules))
        case BleAdvertisement():
            return list(_advertisement_fields(observation))
        case GattOperation() if observation.value:
            label = f"GATT value (handle 0x{observation.handle:04x})"
            return payload_fields(observation.value, label, (), rules)
        case _:
            return []


def _name_field(label: str, value: str) -> Field:
    """A name that is broadcast or looked up: only the persona search reads it."""
    return Field("dns-name", None, label, (), value)


def _mqtt_fields(message: MqttMessage, rules: DecodingRules) -> list[Item]:
    fields: list[Item] = [
        Field("header", key, f"MQTT {key.replace('_', ' ')}", (), value)
        for key, value in (
            ("client_id", message.client_id),
            ("username", message.username),
            ("password", _printable_text(message.password or b"")),
            ("topic", message.topic),
        )
        if value
    ]
    return fields + payload_fields(message.payload, "MQTT payload", (), rules)


def _advertisement_fields(advertisement: BleAdvertisement) -> list[Field]:
    fields = []
    if advertisement.name:
        fields.append(_name_field("BLE advertised name", advertisement.name))
    for company, data in advertisement.manufacturer_data:
        text = _printable_text(data)
        if text:
            label = f"BLE manufacturer data (company 0x{company:04x})"
            fields.append(Field("body", None, label, (), text))
    return fields


def payload_fields(
    payload: bytes, label: str, decoding: tuple[str, ...], rules: DecodingRules
) -> list[Item]:
    """Fields of a textual payload outside HTTP: JSON fields or the text whole."""
    text = _printable_text(payload[: rules.max_body_bytes])
    if text is None or not text.strip():
        return []
    if len(payload) <= rules.max_body_bytes and text.lstrip()[:1] in ("{", "["):
        document = _parse_json(text)
        if document is not None:
            return [
                JsonDocument(
                    document, f"{label} JSON field", "body", (*decoding, "json")
                )
            ]
    return [Field("body", None, label, decoding, text)]


def _path_fields(path: str) -> list[Field]:
    segments = [segment for segment in path.split("/") if segment]
    fields = []
    for number, raw in enumerate(segments, start=1):
        value = unquote(raw)
        decoding = ("url-decode",) if value != raw else ()
        fields.append(Field("path", None, f"path segment {number}", decoding, value))
    return fields


def _pair_fields(
    text: str, part: str, label: str, decoding: tuple[str, ...]
) -> list[Field]:
    fields = []
    for piece in text.split("&"):
        if not piece:
            continue
        raw_name, _, raw_value = piece.partition("=")
        name, value = unquote_plus(raw_name), unquote_plus(raw_value)
        steps = (*decoding, "url-decode") if value != raw_value else decoding
        fields.append(Field(part, name, f"{label} '{name}'", steps, value))
    return fields


def _header_fields(
    headers: tuple[tuple[str, str], ...], rules: DecodingRules
) -> list[Field]:
    fields = []
    for name, value in headers:
        lower = name.lower()
        if lower in rules.skip_headers:
            continue
        if lower == "cookie":
            fields += _cookie_fields(value)
            continue
        fields.append(Field("header", lower, f"header '{name}'", (), value))
    return fields


def _cookie_fields(header: str) -> list[Field]:
    fields = []
    for piece in header.split(";"):
        name, separator, value = piece.strip().partition("=")
        if separator and name:
            fields.append(Field("cookie", name, f"cookie '{name}'", (), value))
    return fields


def content_type_of(request: HttpRequest) -> str:
    """The request's media type, lower-case, without parameters; "" if none."""
    for name, value in request.headers:
        if name.lower() == "content-type":
            return value.split(";")[0].strip().lower()
    return ""


DecodedBody = tuple[bytes, tuple[str, ...]]
"""A request body with its content encoding undone, and the decoding steps."""


def body_bytes(request: HttpRequest, rules: DecodingRules) -> DecodedBody:
    """The body with its content encoding undone, within the body size limit.

    Uses ingest's bounded decoder (gzip, deflate, br, stacked codings). A body
    that does not decode at all is searched as sent, with no decoding step.
    """
    encoding = ""
    for name, value in request.headers:
        if name.lower() == "content-encoding":
            encoding = value.strip().lower()
    if encoding in ("", "identity") or not request.body:
        return request.body, ()
    decoded, problem = decode_content(request.body, encoding, rules.max_body_bytes)
    if problem is not None and (not decoded or decoded == request.body):
        logger.debug("body claims %s but does not decode: %s", encoding, problem)
        return request.body, ()
    return decoded, (encoding,)


def body_fields(
    request: HttpRequest, rules: DecodingRules, decoded: DecodedBody | None = None
) -> list[Item]:
    """Fields of a textual body: JSON fields, form fields or the text as a whole.

    ``decoded`` is the body from :func:`body_bytes` when the caller has it.
    """
    body, decoding = decoded if decoded is not None else body_bytes(request, rules)
    text = _printable_text(body[: rules.max_body_bytes])
    if text is None or not text.strip():
        return []
    content_type = content_type_of(request)
    if len(body) <= rules.max_body_bytes:
        if "json" in content_type or text.lstrip()[:1] in ("{", "["):
            document = _parse_json(text)
            if document is not None:
                return [
                    JsonDocument(
                        document, "JSON body field", "body", (*decoding, "json")
                    )
                ]
        # TODO: multipart/form-data is searched only as text, so a voice clip
        # uploaded as one part is missed unless it starts the body; parsing the
        # parts (email.parser with a size bound) would let content rules see it.
        if content_type == "application/x-www-form-urlencoded":
            return list(_pair_fields(text, "body", "form field", (*decoding, "form")))
    return [Field("body", None, "request body", decoding, text)]


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


def _parse_json(text: str) -> object | None:
    try:
        # Numbers stay as written: "51.501340" keeps its six decimals.
        return json.loads(text, parse_float=str, parse_int=str)  # type: ignore[no-any-return]
    except (ValueError, RecursionError):
        return None


def expand(field: Field, rules: DecodingRules, depth: int) -> list[Field]:
    """A field with what decoding its value reveals, bounded by ``max_depth``.

    A value holding JSON is replaced by its fields (the text would repeat
    them); a value that looks like base64 of text is kept and followed by
    its decoded text, since either may be what a detector recognises.
    """
    if depth >= rules.max_depth:
        return [field]
    stripped = field.value.strip()
    if stripped[:1] in ("{", "[") and len(stripped) <= rules.max_body_bytes:
        document = _parse_json(stripped)
        if document is not None:
            label = f"{field.location}, JSON field"
            inner = json_fields(document, label, field.part, (*field.decoding, "json"))
            if field.key is not None:
                inner = [item._replace(key=f"{field.key}.{item.key}") for item in inner]
            return [
                deeper for item in inner for deeper in expand(item, rules, depth + 1)
            ]
    decoded = _base64_text(stripped, rules)
    if decoded is None:
        return [field]
    inner_field = field._replace(decoding=(*field.decoding, "base64"), value=decoded)
    return [field, *expand(inner_field, rules, depth + 1)]


def might_decode(value: str, rules: DecodingRules) -> bool:
    """Whether :func:`expand` would find anything inside this value."""
    if rules.max_depth <= 0 or value.isdigit():
        return False  # digits alone are hex to the base64 check below
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        return True
    return _base64_text(stripped, rules) is not None


def _base64_text(value: str, rules: DecodingRules) -> str | None:
    """The text a value encodes when it looks like base64 of printable text."""
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
            raw = base64.urlsafe_b64decode(padded)
        else:
            raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _printable_text(raw)


def _printable_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.isprintable() or text.translate(_LAYOUT).isprintable():
        return text
    return None
