"""Tests of raw payload classification, for TCP streams and UDP flows."""

from __future__ import annotations

import gzip
import random
import struct
import zlib
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from toyaudit.ingest.payload import SAMPLE_LIMIT, classify_payload, entropy
from toyaudit.ingest.records import PayloadKind, RawPayload


def _noise(size: int, seed: int = 7) -> bytes:
    """Bytes that look random (like ciphertext), the same on every run.

    Truly random bytes would now and then begin with a media signature (an
    MPEG frame sync is 12 bits) and make the test flaky.
    """
    return random.Random(seed).randbytes(size)  # noqa: S311 - test data


WAVE = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40
MAGIC_CASES = [
    (gzip.compress(b"x" * 100), PayloadKind.COMPRESSED, "application/gzip"),
    (zlib.compress(b"x" * 100), PayloadKind.COMPRESSED, "application/zlib"),
    (b"PK\x03\x04rest", PayloadKind.COMPRESSED, "application/zip"),
    (b"\x28\xb5\x2f\xfdrest", PayloadKind.COMPRESSED, "application/zstd"),
    (WAVE, PayloadKind.MEDIA, "audio/wav"),
    (b"OggS\x00\x02", PayloadKind.MEDIA, "audio/ogg"),
    (b"ID3\x04\x00", PayloadKind.MEDIA, "audio/mpeg"),
    (b"\xff\xfb\x90\x64" + b"\x00" * 10, PayloadKind.MEDIA, "audio/mpeg"),
    (b"\xff\xf1\x50\x80" + b"\x00" * 10, PayloadKind.MEDIA, "audio/aac"),
    (b"fLaC\x00", PayloadKind.MEDIA, "audio/flac"),
    (b"#!AMR\n", PayloadKind.MEDIA, "audio/amr"),
    (b"\x00\x00\x00\x20ftypM4A \x00", PayloadKind.MEDIA, "audio/mp4"),
    (b"\x00\x00\x00\x20ftypheic\x00", PayloadKind.MEDIA, "image/heic"),
    (b"\x00\x00\x00\x20ftypisom\x00", PayloadKind.MEDIA, "video/mp4"),
    (b"\x1a\x45\xdf\xa3\x01", PayloadKind.MEDIA, "video/webm"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", PayloadKind.MEDIA, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00", PayloadKind.MEDIA, "image/png"),
    (b"GIF89a\x01\x00", PayloadKind.MEDIA, "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", PayloadKind.MEDIA, "image/webp"),
]


def test_payload_classifies_magic_bytes() -> None:
    for sample, kind, media in MAGIC_CASES:
        assert classify_payload(sample) == (kind, media), media


def test_payload_classifies_text_ciphertext_and_binary() -> None:
    assert classify_payload(b'{"child": "Emma", "age": 7}\n' * 10) == (
        PayloadKind.PLAINTEXT,
        None,
    )
    assert classify_payload("Grüße, Émilie".encode() * 20)[0] == PayloadKind.PLAINTEXT
    assert classify_payload(_noise(4096)) == (PayloadKind.ENCRYPTED, None)
    assert classify_payload(_noise(200))[0] == PayloadKind.ENCRYPTED
    assert classify_payload(struct.pack("!100H", *range(100))) == (
        PayloadKind.BINARY,
        None,
    )
    assert classify_payload(b"") == (PayloadKind.BINARY, None)


def test_payload_raw_tcp_stream_is_sampled_and_bounded(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk(server=("10.0.0.1", 7000))
    conversation.handshake()
    conversation.send_pieces(b"HELLO toy=42 name=Emma\n" * 4000, 1400)
    conversation.send(_noise(3000), from_client=False)
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    sent, received = sorted(
        (item for item in observations if isinstance(item, RawPayload)),
        key=lambda item: not item.from_client,
    )
    assert (sent.kind, sent.protocol, sent.size) == (
        PayloadKind.PLAINTEXT,
        "tcp",
        23 * 4000,
    )
    assert len(sent.payload) == SAMPLE_LIMIT and sent.payload.startswith(b"HELLO")
    assert received.kind == PayloadKind.ENCRYPTED and received.payload == b""
    assert received.size == 3000 and sent.server.port == 7000


def test_payload_udp_flows_are_aggregated_and_rtp_recognised(read_capture: Any) -> None:
    rtp = [
        struct.pack("!BBHII", 0x80, 0, sequence, sequence * 160, 0xBEEF)
        + _noise(160, seed=sequence)
        for sequence in range(450)
    ]
    packets = [
        Ether()
        / IP(src="10.0.0.2", dst="10.0.0.1")
        / UDP(sport=5004, dport=5004)
        / body
        for body in rtp
    ]
    packets.append(
        Ether()
        / IP(src="10.0.0.2", dst="10.0.0.1")
        / UDP(sport=1234, dport=9999)
        / b"\x00\x01binary"
    )

    observations, _ = read_capture(packets)

    voice = [
        item
        for item in observations
        if isinstance(item, RawPayload) and item.client.port == 5004
    ]
    other = [
        item
        for item in observations
        if isinstance(item, RawPayload) and item.client.port == 1234
    ]
    assert len(voice) == 2  # 450 * 172 bytes: one report per 64 KiB window
    assert sum(item.size for item in voice) == 450 * 172
    assert {(item.kind, item.media_type) for item in voice} == {
        (PayloadKind.MEDIA, "audio/rtp")
    }
    assert len(voice[0].evidence.packets) == 64
    assert [(item.kind, item.size) for item in other] == [(PayloadKind.BINARY, 8)]


@settings(max_examples=300, deadline=None)
@given(sample=st.binary(max_size=2000))
def test_payload_classifier_survives_random_bytes(sample: bytes) -> None:
    kind, media = classify_payload(sample)

    assert kind in PayloadKind and (media is None or "/" in media)
    if sample:
        assert 0 <= entropy(sample) <= 8
