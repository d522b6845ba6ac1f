"""Decoders: what each observation splits into, and the limits on decoding."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import replace

from toyaudit.classify import RuleSet
from toyaudit.classify.decoders import body_bytes, body_items, raw_items
from toyaudit.classify.fields import Blob, Field, JsonDocument, json_fields
from toyaudit.classify.nested import expand
from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    Endpoint,
    Evidence,
    HttpRequest,
    PayloadKind,
    RawPayload,
    Transport,
    WebSocketMessage,
)


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
    depth = shipped_rules.decoding.max_depth
    assert len(expanded) == depth + 1
    assert expanded[-1].decoding == ("base64",) * depth + ("limit:max_depth",)


def test_decoders_json_lists_are_indexed_and_literals_skipped() -> None:
    document = json.loads('{"kids": [{"name": "Mia", "on": true, "x": null}]}')
    [field] = json_fields(document, "JSON body field", "body", ("json",))
    assert (field.key, field.location) == (
        "kids[0].name",
        "JSON body field 'kids[0].name'",
    )


_TOY = Endpoint("192.168.1.20", 50111)
_SERVER = Endpoint("203.0.113.7", 5004)
_EVIDENCE = Evidence("traffic.pcap", (7,))
_BOUNDARY = "b0undary"


def _request(headers: tuple[tuple[str, str], ...], body: bytes) -> HttpRequest:
    return HttpRequest(
        _EVIDENCE, _TOY, _SERVER, Transport.TLS, "POST", "api.toyco.example",
        "/upload", "", headers, body,
    )  # fmt: skip


def _multipart(parts: list[tuple[str, str, bytes]]) -> bytes:
    """A multipart/form-data body of (name, extra header lines, content) parts."""
    body = b""
    for name, extra, content in parts:
        head = f'Content-Disposition: form-data; name="{name}"{extra}\r\n'
        body += f"--{_BOUNDARY}\r\n{head}\r\n".encode() + content + b"\r\n"
    return body + f"--{_BOUNDARY}--\r\n".encode()


_FORM_DATA = (("Content-Type", f"multipart/form-data; boundary={_BOUNDARY}"),)


def test_decoders_multipart_parts_are_blobs_fields_and_documents(
    shipped_rules: RuleSet,
) -> None:
    body = _multipart(
        [
            ("kid", "", b"Mia"),
            ("meta", "\r\nContent-Type: application/json", b'{"age": "7"}'),
            ("voice", '; filename="a.wav"\r\nContent-Type: audio/wav', b"RIFF\x00"),
        ]
    )

    items = body_items(_request(_FORM_DATA, body), shipped_rules.decoding)

    field, document, blob = items
    assert field == Field("body", "kid", "multipart part 'kid'", ("multipart",), "Mia")
    assert isinstance(document, JsonDocument)
    assert (document.label, document.decoding) == (
        "multipart part 'meta', JSON field",
        ("multipart", "json"),
    )
    assert blob == Blob(
        "multipart part 'voice'", "audio/wav", b"RIFF\x00", 5, ("multipart",), True
    )


def test_decoders_multipart_part_limit_is_on_every_item(
    shipped_rules: RuleSet,
) -> None:
    rules = replace(shipped_rules.decoding, max_parts=2)
    body = _multipart([(f"p{number}", "", b"Mia") for number in range(4)])

    items = body_items(_request(_FORM_DATA, body), rules)

    assert [item.location for item in items if isinstance(item, Field)] == [
        "multipart part 'p0'",
        "multipart part 'p1'",
    ]
    assert all(
        item.decoding == ("multipart", "limit:max_parts")
        for item in items
        if isinstance(item, Field)
    )


def test_decoders_binary_body_is_a_blob_and_protobuf_fields(
    shipped_rules: RuleSet,
) -> None:
    headers = (("Content-Type", "application/x-protobuf"),)
    body = b"\x0a\x0aTB22910047\x10\x05"

    blob, field = body_items(_request(headers, body), shipped_rules.decoding)

    assert isinstance(blob, Blob) and blob.content_type == "application/x-protobuf"
    assert field == Field(
        "body", "1", "request body, protobuf field '1'", ("protobuf",), "TB22910047"
    )


def test_decoders_body_past_the_size_limit_says_so(shipped_rules: RuleSet) -> None:
    rules = replace(shipped_rules.decoding, max_body_bytes=64)
    body = json.dumps({"name": "Mia", "pad": "x" * 100}).encode()

    _, field = body_items(_request((), body), rules)

    assert isinstance(field, Field)
    assert (field.location, field.decoding) == (
        "request body",
        ("limit:max_body_bytes",),
    )
    assert len(field.value) == 64


def test_decoders_gzip_body_cut_by_the_guard_says_so(shipped_rules: RuleSet) -> None:
    headers = (("Content-Encoding", "gzip"),)
    request = _request(headers, gzip.compress(b"a" * (3 << 20)))

    body, decoding = body_bytes(request, shipped_rules.decoding)

    assert decoding == ("gzip", "limit:max_body_bytes")
    assert len(body) == shipped_rules.decoding.max_body_bytes


def _websocket(from_client: bool, payload: bytes) -> WebSocketMessage:
    return WebSocketMessage(
        _EVIDENCE, _TOY, _SERVER, Transport.TLS, "ws.toyco.example", "/voice",
        from_client, False, payload,
    )  # fmt: skip


def test_decoders_binary_message_is_a_blob_only_when_the_toy_sent_it(
    shipped_rules: RuleSet,
) -> None:
    clip = b"OggS\x00\x02" + bytes(range(256))
    rules = shipped_rules.decoding

    [sent] = raw_items(_websocket(True, clip), rules)
    received = raw_items(_websocket(False, clip), rules)

    assert sent == Blob("WebSocket message", "", clip, len(clip), ())
    assert received == []


def _udp_media(client: Endpoint, server: Endpoint) -> RawPayload:
    return RawPayload(
        _EVIDENCE, client, server, "udp", True, PayloadKind.MEDIA, 48000,
        media_type="audio/rtp",
    )  # fmt: skip


def test_decoders_udp_media_counts_only_on_its_way_out_of_the_home(
    shipped_rules: RuleSet,
) -> None:
    rules = shipped_rules.decoding
    phone = Endpoint("192.168.1.30", 40000)

    [outgoing] = raw_items(_udp_media(_TOY, _SERVER), rules)

    assert outgoing == Blob("UDP payload", "audio/rtp", b"", 48000, ())
    assert raw_items(_udp_media(_SERVER, _TOY), rules) == []
    assert raw_items(_udp_media(phone, _TOY), rules) == []


def test_decoders_binary_manufacturer_data_is_hex_for_the_persona(
    shipped_rules: RuleSet,
) -> None:
    advertisement = BleAdvertisement(
        _EVIDENCE, "C0:FF:EE:12:34:56", BleAddressType.PUBLIC,
        manufacturer_data=((0x0059, bytes.fromhex("0201a4cf123b9e01")),),
    )  # fmt: skip

    [field] = raw_items(advertisement, shipped_rules.decoding)

    assert field == Field(
        "dns-name", None, "BLE manufacturer data (company 0x0059)",
        ("raw-bytes",), "02:01:a4:cf:12:3b:9e:01",
    )  # fmt: skip
