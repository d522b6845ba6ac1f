"""Decoders: pull named, decoded fields and blobs out of an observation.

Detectors and the persona search never look at raw bytes; they look at
:class:`Field` records that say where a value sits ("query parameter 'id'",
"JSON body field 'profile.name'"), under which name, and through which decoding
steps it was reached (url-decode, gzip, json, multipart, protobuf...). Content
detectors look at :class:`Blob` records instead: a request body, a multipart
file part, a binary message, with its declared type and first bytes.

Only what the toy (or its app) *sends* is read as content: a recording or
picture it uploads is the child's, while stories, songs and avatars it
downloads are not, so server-to-toy messages give no blobs.

This module splits each kind of observation into its parts; what a value
holds inside (JSON in a string, a JWT, base64) is :mod:`.nested`'s work, done
when the field is searched. Decoding is bounded (:class:`DecodingRules`), and
a body or payload cut at a limit says so in its decoding steps.
"""

from __future__ import annotations

import ipaddress
import logging

from toyaudit.classify.fields import (
    BLOB_HEAD,
    Blob,
    DecodingRules,
    Field,
    Item,
    JsonDocument,
    blob,
    json_fields,
    limit_step,
    parse_json,
    printable_text,
    textual_type,
)
from toyaudit.classify.httpfields import header_fields, pair_fields, path_fields
from toyaudit.classify.keyvalue import key_value_pairs
from toyaudit.classify.multipart import boundary_of, split_parts
from toyaudit.classify.nested import Where, binary_fields, inflate_limit
from toyaudit.ingest.content import decode_content
from toyaudit.ingest.records import (
    BleAdvertisement,
    DhcpMessage,
    DnsQuery,
    GattOperation,
    HttpRequest,
    MqttMessage,
    Observation,
    PayloadKind,
    RawPayload,
    SsdpMessage,
    TlsClientHello,
    WebSocketMessage,
)

__all__ = [
    "Blob",
    "DecodedBody",
    "DecodingRules",
    "Field",
    "Item",
    "JsonDocument",
    "body_bytes",
    "body_items",
    "content_type_of",
    "json_fields",
    "payload_items",
    "raw_items",
]

logger = logging.getLogger(__name__)

_FORM = "application/x-www-form-urlencoded"
_BODY = "request body"
_HOME_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
        "fc00::/7", "fe80::/10",
    )
)  # fmt: skip
"""Private and link-local ranges (RFC 1918, RFC 3927, RFC 4193, RFC 4291):
where the toy and the phone sit, as opposed to the servers they talk to."""


def raw_items(
    observation: Observation, rules: DecodingRules, decoded: DecodedBody | None = None
) -> list[Item]:
    """The fields and blobs of each kind of observation, before nested decoding.

    ``decoded`` is an HTTP request's body from :func:`body_bytes`, when the
    caller already decoded it (so a compressed body is inflated only once).
    """
    match observation:
        case HttpRequest():
            fields: list[Item] = []
            fields += path_fields(observation.path)
            fields += pair_fields(observation.query, "query", "query parameter", ())
            fields += header_fields(observation.headers, rules)
            return fields + body_items(observation, rules, decoded)
        case DnsQuery():
            return [_name_field("DNS name", observation.name)]
        case TlsClientHello():
            if observation.sni is None:
                return []
            return [_name_field("TLS server name", observation.sni)]
        case MqttMessage():
            return _mqtt_fields(observation, rules)
        case WebSocketMessage() if observation.from_client:
            return payload_items(observation.payload, "WebSocket message", rules, True)
        case RawPayload() if observation.from_client:
            return _raw_payload_items(observation, rules)
        case DhcpMessage():
            names = (
                ("DHCP host name", observation.host_name),
                ("DHCP vendor class", observation.vendor_class),
            )
            return [_name_field(label, value) for label, value in names if value]
        case SsdpMessage():
            return list(header_fields(observation.headers, rules))
        case BleAdvertisement():
            return list(_advertisement_fields(observation))
        case GattOperation() if observation.value:
            label = f"GATT value (handle 0x{observation.handle:04x})"
            sent_by_toy = not observation.from_central
            return payload_items(observation.value, label, rules, sent_by_toy)
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
            ("password", printable_text(message.password or b"")),
            ("topic", message.topic),
        )
        if value
    ]
    payload = payload_items(message.payload, "MQTT payload", rules, message.from_client)
    return fields + payload


def _raw_payload_items(payload: RawPayload, rules: DecodingRules) -> list[Item]:
    """A TCP or UDP payload the toy sent: its text, or the media ingest saw.

    Ingest keeps the bytes of plaintext payloads only; for media it keeps the
    type its magic bytes gave, which the content detectors read.
    """
    label = f"{payload.protocol.upper()} payload"
    if payload.kind is PayloadKind.MEDIA and payload.media_type:
        if not _leaves_home(payload):
            return []
        return [Blob(label, payload.media_type, b"", payload.size, ())]
    if not payload.payload:
        return []
    return payload_items(payload.payload, label, rules, True)


def _leaves_home(payload: RawPayload) -> bool:
    """Whether a payload went from the home network out, so the toy sent it.

    TCP says who opened the connection, but ingest reports every UDP flow
    direction as sent by its "client", the sender, so for UDP the addresses
    decide: a stream from a server to the toy (a story, a call's far end) is
    downloaded, not the child's. UDP media between two home devices is left
    out too, since either may be the toy.
    """
    if payload.protocol != "udp":
        return True
    return _at_home(payload.client.ip) and not _at_home(payload.server.ip)


def _at_home(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in _HOME_NETWORKS)


def _advertisement_fields(advertisement: BleAdvertisement) -> list[Field]:
    fields = []
    if advertisement.name:
        fields.append(_name_field("BLE advertised name", advertisement.name))
    for company, data in advertisement.manufacturer_data:
        label = f"BLE manufacturer data (company 0x{company:04x})"
        text = printable_text(data)
        if text:
            fields.append(Field("body", None, label, (), text))
        elif data:
            # Raw bytes, read by the persona search alone: as colon-separated
            # hex a MAC address sent as six bytes is found like a typed one.
            fields.append(Field("dns-name", None, label, ("raw-bytes",), data.hex(":")))
    return fields


def payload_items(
    payload: bytes, label: str, rules: DecodingRules, sent_by_toy: bool
) -> list[Item]:
    """Items of a payload outside HTTP: JSON fields, the text, or binary.

    Binary is read as compressed bytes or protobuf, and, when ``sent_by_toy``,
    is a blob for the content detectors too.
    """
    text = printable_text(payload[: rules.max_body_bytes])
    if text is None:
        items: list[Item] = []
        if sent_by_toy:
            items.append(blob(label, "", payload, ()))
        if len(payload) <= rules.max_body_bytes:
            items += binary_fields(payload, Where("body", None, label), (), rules)
        return items
    if not text.strip():
        return []
    if len(payload) > rules.max_body_bytes:
        return [Field("body", None, label, (limit_step("max_body_bytes"),), text)]
    where = Where("body", None, label)
    return _text_items(text, "", where, (), f"{label} JSON field")


def content_type_of(request: HttpRequest) -> str:
    """The request's media type, lower-case, without parameters; "" if none."""
    return _content_type_header(request).split(";")[0].strip().lower()


def _content_type_header(request: HttpRequest) -> str:
    for name, value in request.headers:
        if name.lower() == "content-type":
            return value
    return ""


DecodedBody = tuple[bytes, tuple[str, ...]]
"""A request body with its content encoding undone, and the decoding steps."""


def body_bytes(request: HttpRequest, rules: DecodingRules) -> DecodedBody:
    """The body with its content encoding undone, within the body size limit.

    Uses ingest's bounded decoder (gzip, deflate, br, stacked codings). A body
    that does not decode at all is searched as sent, with no decoding step;
    one cut by the size or ratio guard ends its steps with the limit.
    """
    encoding = ""
    for name, value in request.headers:
        if name.lower() == "content-encoding":
            encoding = value.strip().lower()
    if encoding in ("", "identity") or not request.body:
        return request.body, ()
    limit = rules.max_body_bytes
    decoded, problem = decode_content(request.body, encoding, limit)
    if problem is not None and (not decoded or decoded == request.body):
        logger.debug("body claims %s but does not decode: %s", encoding, problem)
        return request.body, ()
    stopped = inflate_limit(problem, decoded, limit)
    if stopped is not None:
        return decoded, (encoding, limit_step(stopped))
    return decoded, (encoding,)


def body_items(
    request: HttpRequest, rules: DecodingRules, decoded: DecodedBody | None = None
) -> list[Item]:
    """Items of a body: the body as a blob, then its fields.

    Fields are JSON fields, form fields, multipart parts, protobuf fields or
    the text as a whole. ``decoded`` is the body from :func:`body_bytes` when
    the caller has it.
    """
    body, decoding = decoded if decoded is not None else body_bytes(request, rules)
    if not body:
        return []
    header = _content_type_header(request)
    content_type = header.split(";")[0].strip().lower()
    if content_type.startswith("multipart/"):
        parts = _multipart_items(body, header, decoding, rules)
        if parts is not None:
            return parts
    items: list[Item] = [blob(_BODY, content_type, body, decoding, upload=True)]
    if len(body) > rules.max_body_bytes:
        text = printable_text(body[: rules.max_body_bytes])
        if text is not None and text.strip():
            steps = decoding
            if limit_step("max_body_bytes") not in steps:
                steps = (*steps, limit_step("max_body_bytes"))
            items.append(Field("body", None, _BODY, steps, text))
        return items
    text = printable_text(body)
    if text is None:
        return items + binary_fields(body, Where("body", None, _BODY), decoding, rules)
    if not text.strip():
        return items
    where = Where("body", None, _BODY)
    return items + _text_items(text, content_type, where, decoding, "JSON body field")


def _text_items(
    text: str,
    content_type: str,
    where: Where,
    decoding: tuple[str, ...],
    json_label: str,
) -> list[Item]:
    """A text as a JSON document, form fields, named values, or one field.

    Named values are ``KEY:value;KEY:value`` records (:mod:`.keyvalue`).
    """
    if "json" in content_type or text.lstrip()[:1] in ("{", "["):
        document = parse_json(text)
        if document is not None:
            return [JsonDocument(document, json_label, where.part, (*decoding, "json"))]
    if content_type == _FORM:
        return list(pair_fields(text, where.part, "form field", (*decoding, "form")))
    pairs = key_value_pairs(text)
    if pairs is not None:
        steps = (*decoding, "key-value")
        return [
            Field(where.part, name if where.key is None else f"{where.key}.{name}",
                  f"{where.location} field '{name}'", steps, value)
            for name, value in pairs
            if value
        ]  # fmt: skip
    return [Field(where.part, where.key, where.location, decoding, text)]


def _multipart_items(
    body: bytes, header: str, decoding: tuple[str, ...], rules: DecodingRules
) -> list[Item] | None:
    """One blob per file, binary or media part, and the fields of text parts.

    None when the body has no boundary to split it by. A part's declared
    type and first bytes are its own, so an upload of a voice message and a
    selfie gives two blobs. Parts past ``max_parts`` are not read, and every
    item of such a body says so; so does a part cut at ``max_body_bytes``.
    """
    boundary = boundary_of(header)
    if boundary is None:
        return None
    split = split_parts(body, boundary, rules.max_parts, rules.max_body_bytes)
    if split is None:
        return None
    steps = (*decoding, "multipart")
    if split.limit is not None:
        steps = (*steps, limit_step(split.limit))
    items: list[Item] = []
    for part in split.parts:
        location = f"multipart part '{part.name}'"
        cut = part.size > len(part.content)
        part_steps = (*steps, limit_step("max_body_bytes")) if cut else steps
        text = printable_text(part.content)
        declared = part.content_type and not textual_type(part.content_type)
        if part.filename is not None or declared or text is None:
            head = part.content[:BLOB_HEAD]
            items.append(
                Blob(location, part.content_type, head, part.size, part_steps, True)
            )
        where = Where("body", part.name or None, location)
        if text is None:
            items += binary_fields(part.content, where, part_steps, rules)
        elif text.strip():
            label = f"{location}, JSON field"
            items += _text_items(text, part.content_type, where, part_steps, label)
    return items
