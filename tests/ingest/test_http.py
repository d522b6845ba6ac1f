"""Tests of the HTTP/1.x readers, on captures and directly on stream bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.ingest import http
from toyaudit.ingest.records import HttpRequest
from toyaudit.ingest.streambuf import Headers, StreamBuffer
from toyaudit.ingest.tls import ClientHello


class FakeSink:
    """Collects what the readers deliver, as a connection would."""

    def __init__(self) -> None:
        self.requests: list[tuple[tuple[str, str, Headers], bytes, bool]] = []
        self.responses: list[tuple[tuple[int, Headers], bytes]] = []

    def add_request(
        self,
        head: tuple[str, str, Headers],
        body: bytes,
        frames: list[int],
        truncated: bool,
    ) -> None:
        self.requests.append((head, body, truncated))

    def add_response(
        self, head: tuple[int, Headers], body: bytes, frames: list[int]
    ) -> None:
        self.responses.append((head, body))

    def response_method(self) -> str | None:
        return None

    def add_client_hello(self, hello: ClientHello, frames: list[int]) -> None:
        raise AssertionError("HTTP readers never deliver a ClientHello")


def _requests(observations: list[Any]) -> list[HttpRequest]:
    return [item for item in observations if isinstance(item, HttpRequest)]


def test_http_matches_pipelined_requests_to_responses_in_order(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    conversation.send(
        b"GET /one HTTP/1.1\r\nHost: toy.example\r\n\r\n"
        b"GET /two?x=1&y=2 HTTP/1.1\r\nHost: toy.example\r\n\r\n"
    )
    conversation.send(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\ntwo",
        from_client=False,
    )
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    first, second = _requests(observations)
    assert (first.path, second.path, second.query) == ("/one", "/two", "x=1&y=2")
    assert first.response is not None and first.response.status == 200
    assert first.response.body == b"one"
    assert second.response is not None and second.response.status == 404
    assert second.evidence.packets == (4, 5)


def test_http_dechunks_request_body_across_segments(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    message = (
        b"POST /v1/profile HTTP/1.1\r\nHost: toy.example\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        b"5\r\nhello\r\nb;ext=1\r\n, Lily Doe!\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    conversation.send_pieces(message, 7)
    conversation.send(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        False,
    )

    observations, _ = read_capture(conversation.packets)

    (request,) = _requests(observations)
    assert request.body == b"hello, Lily Doe!"
    assert ("Content-Encoding", "gzip") in request.headers
    assert request.response is not None and request.response.body == b"ok"
    assert not request.truncated


def test_http_marks_body_cut_by_end_of_capture_truncated(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    conversation.send(b"PUT /x HTTP/1.0\r\nContent-Length: 100\r\n\r\nonly part")

    observations, _ = read_capture(conversation.packets)

    (request,) = _requests(observations)
    assert request.truncated and request.body == b"only part"
    assert request.host == "93.184.216.34"  # no Host header: the server's address


def test_http_skips_interim_response_and_reads_body_until_close(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    conversation.send(b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi")
    conversation.send(b"HTTP/1.1 100 Continue\r\n\r\n", from_client=False)
    conversation.send(b"HTTP/1.0 200 OK\r\n\r\nstreamed ", from_client=False)
    conversation.send(b"until close", from_client=False)
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    (request,) = _requests(observations)
    assert request.response is not None
    assert request.response.status == 200
    assert request.response.body == b"streamed until close"


def test_http_head_response_has_no_body() -> None:
    class HeadSink(FakeSink):
        def response_method(self) -> str | None:
            return "HEAD"

    sink = HeadSink()
    reader = http.ResponseReader(sink)
    buffer = StreamBuffer()
    buffer.append(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", 1)
    buffer.append(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", 2)

    reader.feed(buffer)

    assert [head[0] for head, _ in sink.responses] == [200, 200]


def test_http_absolute_form_target_gives_host_and_path() -> None:
    authority, path, query = http.split_target("http://Proxy.Example:3128/p/q?k=v")

    assert (authority, path, query) == ("Proxy.Example:3128", "/p/q", "k=v")
    assert http.host_without_port("Proxy.Example:3128") == "proxy.example"
    assert http.host_without_port("[2001:DB8::1]:80") == "2001:db8::1"


def test_http_detect_waits_for_a_whole_request_line() -> None:
    assert http.detect(b"GE", mid_stream=False) is None
    assert http.detect(b"GET / HTTP/1.1\r\n", mid_stream=False) == http.REQUEST
    assert (
        http.detect(b"HTTP/1.1 204 No Content\r\n", mid_stream=False) == http.RESPONSE
    )
    assert http.detect(b"\x16\x03\x01\x02\x00\x01", mid_stream=False) == http.OTHER


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        st.one_of(
            st.binary(max_size=64),
            st.sampled_from(
                [
                    b"GET / HTTP/1.1\r\n",
                    b"HTTP/1.1 200 OK\r\n",
                    b"Content-Length: 5\r\n",
                    b"Transfer-Encoding: chunked\r\n",
                    b"\r\n",
                    b"ffffffff\r\n",
                    b"0\r\n\r\n",
                ]
            ),
        ),
        max_size=12,
    ),
    gap_at=st.integers(min_value=-1, max_value=12),
)
def test_http_readers_survive_arbitrary_bytes(pieces: list[bytes], gap_at: int) -> None:
    for reader_class in (http.RequestReader, http.ResponseReader):
        sink = FakeSink()
        reader = reader_class(sink)
        buffer = StreamBuffer()
        for index, piece in enumerate(pieces):
            if index == gap_at:
                reader.gap()
                buffer.skip_to(buffer.base + len(buffer.data) + 10)
            buffer.append(piece, index + 1)
            reader.feed(buffer)
        reader.close()
        for _head, body, _truncated in sink.requests:
            assert len(body) <= http.MAX_BODY


def test_http_head_chunked_trailers_close_and_raw_encoding(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    import gzip

    compressed = gzip.compress(b'{"child": "Emma"}')
    conversation = talk()
    conversation.handshake()
    conversation.send(
        b"HEAD /a HTTP/1.1\r\nHost: toy\r\n\r\n"
        b"GET /b HTTP/1.1\r\nHost: toy\r\n\r\n"
        b"GET /c HTTP/1.1\r\nHost: toy\r\n\r\n"
    )
    conversation.send(
        b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Encoding: gzip\r\n\r\n"
        + f"{len(compressed):x}\r\n".encode()
        + compressed
        + b"\r\n0\r\nX-Checksum: 1\r\n\r\n"
        b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nuntil the end",
        from_client=False,
    )
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    head, chunked, closing = _requests(observations)
    assert head.response is not None and head.response.body == b""
    assert chunked.response is not None and chunked.response.body == compressed
    assert ("Content-Encoding", "gzip") in chunked.response.headers
    assert closing.response is not None
    assert closing.response.body == b"until the end"
