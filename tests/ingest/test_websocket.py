"""Tests of the WebSocket reader, on hand-built frames (RFC 6455 examples)."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.ingest.records import HttpRequest, WebSocketMessage
from toyaudit.ingest.streambuf import StreamBuffer
from toyaudit.ingest.websocket import (
    MAX_MESSAGE,
    Deflate,
    WebSocketReader,
    negotiated_deflate,
    unmask,
)

UPGRADE = (
    b"GET /chat?toy=42 HTTP/1.1\r\nHost: ws.toy.example\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


def _switching(extensions: str = "") -> bytes:
    header = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\n" + header.encode() + b"\r\n"
    )


def _frame(
    opcode: int,
    payload: bytes,
    fin: bool = True,
    mask: bool = False,
    rsv1: bool = False,
) -> bytes:
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    length = len(payload)
    if length < 126:
        header = bytes([first, length | (0x80 if mask else 0)])
    elif length < 1 << 16:
        header = bytes([first, 126 | (0x80 if mask else 0)]) + length.to_bytes(2, "big")
    else:
        header = bytes([first, 127 | (0x80 if mask else 0)]) + length.to_bytes(8, "big")
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + unmask(payload, key, 0)


class FakeSink:
    def __init__(self) -> None:
        self.messages: list[tuple[bool, bool, bytes]] = []

    def add_websocket(
        self, from_client: bool, text: bool, payload: bytes, frames: list[int]
    ) -> None:
        self.messages.append((from_client, text, payload))


def _read(
    stream: bytes,
    deflate: Deflate | None = None,
    piece: int = 3,
    from_client: bool = True,
) -> list[tuple[bool, bool, bytes]]:
    sink = FakeSink()
    reader = WebSocketReader(sink, from_client, deflate)
    buffer = StreamBuffer()
    for start in range(0, len(stream), piece):
        buffer.append(stream[start : start + piece], 1)
        reader.feed(buffer)
    reader.close()
    return sink.messages


def test_websocket_rfc6455_masked_and_fragmented_examples() -> None:
    # RFC 6455 §5.7: a masked "Hello", then "Hel" + "lo" with a ping between.
    masked = bytes.fromhex("818537fa213d7f9f4d5158")
    fragmented = (
        bytes.fromhex("010348656c") + bytes.fromhex("8900") + bytes.fromhex("80026c6f")
    )

    assert _read(masked + fragmented) == [
        (True, True, b"Hello"),
        (True, True, b"Hello"),
    ]


def test_websocket_upgrade_in_a_capture_reads_both_directions(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    conversation.send(UPGRADE)
    conversation.send(_switching(), from_client=False)
    conversation.send(_frame(1, b'{"child":"Emma"}', mask=True))
    conversation.send(_frame(2, b"\x00" * 300, mask=False), from_client=False)
    conversation.send(_frame(8, b"\x03\xe8", mask=True))
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    request = next(item for item in observations if isinstance(item, HttpRequest))
    assert request.response is not None and request.response.status == 101
    sent, received = [i for i in observations if isinstance(i, WebSocketMessage)]
    assert (sent.host, sent.path, sent.from_client, sent.text) == (
        "ws.toy.example",
        "/chat",
        True,
        True,
    )
    assert sent.payload == b'{"child":"Emma"}' and sent.evidence.packets == (6,)
    assert (received.from_client, received.text, received.payload) == (
        False,
        False,
        b"\x00" * 300,
    )


def test_websocket_refused_upgrade_keeps_reading_http(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    conversation.send(UPGRADE)
    conversation.send(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", from_client=False
    )
    conversation.send(b"GET /next HTTP/1.1\r\nHost: ws.toy.example\r\n\r\n")
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    paths = [item.path for item in observations if isinstance(item, HttpRequest)]
    assert paths == ["/chat", "/next"]


def test_websocket_permessage_deflate_with_context_takeover() -> None:
    deflate = negotiated_deflate("permessage-deflate; client_max_window_bits")
    compressor = zlib.compressobj(wbits=-15)
    frames = b""
    for text in (b"hello hello hello", b"hello again"):
        compressed = compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)
        frames += _frame(1, compressed[:-4], mask=True, rsv1=True)

    assert deflate == Deflate(False, False)
    assert [payload for _, _, payload in _read(frames, deflate)] == [
        b"hello hello hello",
        b"hello again",
    ]


def test_websocket_bomb_is_cut_at_the_message_limit() -> None:
    compressor = zlib.compressobj(wbits=-15)
    bomb = compressor.compress(b"\x00" * (4 * MAX_MESSAGE))
    bomb += compressor.flush(zlib.Z_SYNC_FLUSH)

    ((_, _, payload),) = _read(
        _frame(2, bomb[:-4], rsv1=True), Deflate(True, True), piece=4096
    )

    assert len(payload) == MAX_MESSAGE


def test_websocket_long_frame_is_bounded() -> None:
    ((_, _, payload),) = _read(_frame(2, b"z" * (MAX_MESSAGE + 70000)), piece=65536)

    assert payload == b"z" * MAX_MESSAGE


@settings(max_examples=300, deadline=None)
@given(stream=st.binary(max_size=400), deflate=st.booleans(), piece=st.integers(1, 50))
def test_websocket_survives_random_frames(
    stream: bytes, deflate: bool, piece: int
) -> None:
    messages = _read(stream, Deflate() if deflate else None, piece)

    assert all(len(payload) <= MAX_MESSAGE for _, _, payload in messages)
