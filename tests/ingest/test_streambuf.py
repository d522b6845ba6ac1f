"""Tests of the stream buffer: frames and start times of the messages taken."""

from __future__ import annotations

from toyaudit.ingest.streambuf import MAX_STARTS, StreamBuffer


def test_streambuf_take_names_frames_and_times_the_first() -> None:
    buffer = StreamBuffer()
    buffer.append(b"GET / HT", 4, 100.0)
    buffer.append(b"TP/1.1\r\n", 5, 101.5)
    frames: list[int] = []

    piece = buffer.take(12, frames)

    assert piece == b"GET / HTTP/1"
    assert frames == [4, 5]
    assert buffer.sent_at(frames) == 100.0


def test_streambuf_times_a_message_starting_inside_a_frame() -> None:
    buffer = StreamBuffer()
    buffer.append(b"onetwo", 7, 10.0)
    buffer.append(b"three", 8, 11.0)
    buffer.take(3, [])
    second: list[int] = []

    buffer.take(8, second)

    assert second == [7, 8] and buffer.sent_at(second) == 10.0


def test_streambuf_times_only_the_start_of_a_message() -> None:
    buffer = StreamBuffer()
    buffer.append(b"head", 1, 1.0)
    buffer.append(b"body", 2, 2.0)
    frames: list[int] = []

    buffer.take(4, frames)
    buffer.take(4, frames)

    assert frames == [1, 2] and buffer.starts == {1: 1.0}


def test_streambuf_keeps_start_times_across_a_gap() -> None:
    buffer = StreamBuffer()
    buffer.append(b"partial", 3, 30.0)
    frames: list[int] = []
    buffer.take(4, frames)

    buffer.skip_to(100)

    assert buffer.sent_at(frames) == 30.0


def test_streambuf_without_capture_times_knows_no_start() -> None:
    buffer = StreamBuffer()
    buffer.append(b"abc", 1)
    frames: list[int] = []

    buffer.take(3, frames)

    assert buffer.sent_at(frames) is None and buffer.sent_at([]) is None


def test_streambuf_forgets_the_oldest_start_times_first() -> None:
    buffer = StreamBuffer()
    for frame in range(1, MAX_STARTS + 11):
        buffer.append(b"m", frame, float(frame))
        buffer.take(1, [])

    assert len(buffer.starts) == MAX_STARTS
    assert buffer.sent_at([1]) is None
    assert buffer.sent_at([MAX_STARTS + 10]) == float(MAX_STARTS + 10)


def test_streambuf_falls_back_to_the_first_frame_that_started_a_message() -> None:
    buffer = StreamBuffer()
    buffer.append(b"retry", 5, 50.0)
    buffer.append(b"hello", 6, 60.0)
    buffer.take(5, [])
    hello: list[int] = []
    buffer.take(5, hello)

    # A handshake restarted after a retry keeps the retry's last frame first.
    assert buffer.sent_at([4, *hello]) == 60.0
