"""Tests of one TCP direction: sequence tracking, the out-of-order store, holes.

Each test builds a real :class:`~toyaudit.ingest.tcp.Connection`, which makes
its two :class:`Direction` objects, and hands segments straight to the
client's (or the server's) direction, in the order a capture could show
them. What the direction delivered is read back from the observations its
readers produced, and from its own sequence state. Whole captures read
end to end are in ``test_tcp.py``.
"""

from __future__ import annotations

from typing import Any

from scapy.layers.tls import handshake, record

from toyaudit.ingest.records import HttpRequest, Observation, TlsClientHello
from toyaudit.ingest.tcp import SYN, Connection, Reassembler
from toyaudit.ingest.tcpdirection import (
    CLASSIFY,
    CLOSED,
    DROP,
    MASK,
    MAX_OUT_OF_ORDER,
    PARSE,
    Direction,
)

# scapy's TLS classes carry no annotations; typed as Any for mypy --strict.
TLS: Any = record.TLS
TLSClientHello: Any = handshake.TLSClientHello

CLIENT = (bytes([10, 0, 0, 1]), 50000)
SERVER = (bytes([10, 0, 0, 2]), 80)
ISN = 1000
"""The client's initial sequence number: its first payload byte is ISN + 1."""
FIRST = ISN + 1

HEAD = b"POST /upload HTTP/1.1\r\nHost: toy.example\r\nContent-Length: 60\r\n\r\n"
BODY = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
REQUEST = HEAD + BODY


def _connection() -> tuple[Reassembler, Connection]:
    """A connection whose client (side 0) opened it with a SYN, as tcp.py makes it."""
    reassembler = Reassembler("traffic.pcap")
    return reassembler, Connection(reassembler, (*CLIENT, *SERVER), 0, SYN)


def _client(syn: bool = True) -> tuple[Reassembler, Connection, Direction]:
    """The client's direction, its stream started by a SYN unless ``syn`` is False."""
    reassembler, connection = _connection()
    direction = connection.directions[0]
    if syn:
        direction.syn(ISN)
    return reassembler, connection, direction


def _requests(connection: Connection) -> list[HttpRequest]:
    """Close the connection and return the requests it delivered."""
    connection.close()
    ready: list[Observation] = connection.reassembler.ready
    return [item for item in ready if isinstance(item, HttpRequest)]


def test_direction_delivers_in_order_segments_to_its_reader() -> None:
    _, connection, direction = _client()

    for frame, start in enumerate(range(0, len(REQUEST), 50), start=11):
        piece = REQUEST[start : start + 50]
        direction.segment(FIRST + start, piece, frame, 0, 100.0 + frame)

    assert direction.state == PARSE and not direction.mid_stream
    assert direction.next_offset == len(REQUEST)
    assert direction.next_seq == FIRST + len(REQUEST)
    (request,) = _requests(connection)
    assert request.body == BODY and not request.truncated
    assert request.evidence.packets == (11, 12, 13)
    assert request.evidence.time == 111.0


def test_direction_holds_early_segments_until_the_gap_fills() -> None:
    _, connection, direction = _client()
    pieces = [REQUEST[:40], REQUEST[40:80], REQUEST[80:]]

    direction.segment(FIRST + 80, pieces[2], 3, 0, 3.0)
    direction.segment(FIRST + 40, pieces[1], 2, 0, 2.0)
    held = (direction.next_offset, direction.pending_bytes, direction.state)
    direction.segment(FIRST, pieces[0], 1, 0, 1.0)

    assert held == (0, len(REQUEST) - 40, CLASSIFY)
    assert direction.pending == {} and direction.pending_bytes == 0
    assert direction.next_offset == len(REQUEST)
    (request,) = _requests(connection)
    assert request.body == BODY
    assert request.evidence.packets == (1, 2, 3)
    assert request.evidence.time == 1.0


def test_direction_keeps_the_first_copy_of_held_and_delivered_bytes() -> None:
    _, connection, direction = _client()

    def send(start: int, payload: bytes, frame: int) -> None:
        direction.segment(FIRST + start, payload, frame, 0, None)

    send(40, REQUEST[40:60], 1)  # held behind the missing first 40 bytes
    send(40, b"X" * 20 + REQUEST[60:80], 2)  # a longer copy: only its tail is new
    send(50, b"Y" * 20, 3)  # overlaps bytes already held
    send(0, REQUEST[:30], 4)
    send(30, REQUEST[30:40], 5)  # fills the gap: everything held drains
    drained = (direction.next_offset, direction.pending_bytes)
    send(0, b"Z" * 30, 6)  # a retransmission of bytes already delivered
    send(80, REQUEST[80:], 7)

    assert drained == (80, 0)
    assert direction.next_offset == len(REQUEST)
    (request,) = _requests(connection)
    assert request.body == BODY
    assert 3 not in request.evidence.packets and 6 not in request.evidence.packets


def test_direction_skips_a_lost_segment_and_never_fills_it() -> None:
    reassembler, connection, direction = _client()
    following = b"GET /next HTTP/1.1\r\nHost: toy.example\r\n\r\n"
    lost = range(len(HEAD) + 20, len(REQUEST))  # the body's last 40 bytes

    direction.segment(FIRST, REQUEST[: lost.start], 1, 0, 1.0)
    direction.segment(FIRST + lost.stop, following, 3, 0, 3.0)
    direction.finish()

    assert (reassembler.holes, reassembler.lost_bytes) == (1, len(lost))
    assert reassembler.first_hole_frame == 3
    assert direction.next_offset == len(REQUEST + following)
    assert direction.state == CLOSED and direction.mid_stream
    cut, after = _requests(connection)
    assert cut.truncated and cut.body == BODY[:20]
    # Reading resumed at the held segment's first byte, with nothing put
    # in the hole's place, and the request there keeps its own capture time.
    assert after.path == "/next" and not after.truncated
    assert after.evidence.packets == (3,) and after.evidence.time == 3.0


def test_direction_skips_the_hole_once_the_out_of_order_store_is_full() -> None:
    reassembler, _, direction = _client()
    head = b"POST /voice HTTP/1.1\r\nContent-Length: 9000000\r\n\r\n"
    lost = 5
    piece = 1 << 16
    direction.segment(FIRST, head, 1, 0, None)
    start = len(head) + lost

    for frame in range(2, 2 + MAX_OUT_OF_ORDER // piece):
        direction.segment(FIRST + start, b"v" * piece, frame, 0, None)
        start += piece
    at_the_bound = (reassembler.holes, direction.pending_bytes)
    direction.segment(FIRST + start, b"v", 99, 0, None)

    assert at_the_bound == (0, MAX_OUT_OF_ORDER)
    assert (reassembler.holes, reassembler.lost_bytes) == (1, lost)
    assert reassembler.first_hole_frame == 2
    assert direction.pending_bytes == 0 and direction.pending == {}
    assert direction.next_offset == start + 1


def test_direction_without_syn_starts_at_the_first_segment_seen() -> None:
    _, connection, direction = _client(syn=False)
    first_seen = 7_777_777

    direction.segment(first_seen, REQUEST, 5, 0, None)
    direction.segment(first_seen - 30, b"E" * 30, 4, 0, None)  # sent before that

    assert direction.mid_stream
    assert direction.next_offset == len(REQUEST) and direction.pending == {}
    assert direction.next_seq == first_seen + len(REQUEST)
    (request,) = _requests(connection)
    assert request.body == BODY and request.evidence.packets == (5,)


def test_direction_follows_sequence_numbers_across_the_32_bit_wrap() -> None:
    _, connection, direction = _client(syn=False)
    direction.syn(MASK - 9)  # the tenth payload byte has sequence number 0

    direction.segment(40 - 9, REQUEST[40:], 2, 0, None)  # past the wrap: held
    held = direction.pending_bytes
    direction.segment(MASK - 8, REQUEST[:40], 1, 0, None)

    assert held == len(REQUEST) - 40
    assert direction.next_seq == (MASK - 8 + len(REQUEST)) & MASK
    (request,) = _requests(connection)
    assert request.body == BODY


def test_direction_fin_ends_the_stream_once_every_byte_before_it_arrived() -> None:
    _, connection = _connection()
    client, server = connection.directions
    client.syn(ISN)
    client.segment(FIRST, b"GET / HTTP/1.1\r\nHost: toy.example\r\n\r\n", 4, 0, None)
    server.syn(5000)
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY

    server.segment(5001 + 40, answer[40:], 6, 0, None)
    server.segment(5001 + len(answer), b"", 7, 1, None)  # FIN before the gap filled
    waiting = (server.state, server.fin_offset)
    server.segment(5001, answer[:40], 5, 0, None)

    assert waiting[0] != CLOSED and waiting[1] == len(answer)
    assert server.state == CLOSED
    (request,) = _requests(connection)
    assert request.response is not None and request.response.body == BODY


def test_direction_drops_what_follows_once_its_reader_is_done() -> None:
    reassembler, _, direction = _client()
    hello = bytes(TLS(msg=[TLSClientHello(ciphers=[0x1301])]))
    application_data = b"\x17\x03\x03\x00\x04" + b"data"

    # Held behind a gap when the reader finishes: dropped, not counted as lost.
    direction.segment(FIRST + len(hello) + 10, application_data, 3, 0, None)
    held = direction.pending_bytes
    direction.segment(FIRST, hello, 1, 0, None)

    assert held == len(application_data) and direction.state == DROP
    assert direction.pending == {} and direction.pending_bytes == 0
    assert direction.buffer.data == bytearray() and reassembler.holes == 0
    (client_hello,) = reassembler.ready
    assert isinstance(client_hello, TlsClientHello)
    assert client_hello.cipher_suites == (0x1301,)
    assert client_hello.evidence.packets == (1,)


def test_direction_keeps_nothing_it_is_given_after_dropping_or_closing() -> None:
    reassembler, _, direction = _client()
    hello = bytes(TLS(msg=[TLSClientHello(ciphers=[0x1301])]))
    direction.segment(FIRST, hello, 1, 0, None)
    assert direction.state == DROP
    after_hello = FIRST + len(hello)

    # Called directly, not through Connection.segment, which checks first.
    direction.segment(after_hello + 100, b"\x17\x03\x03\x00\x01x", 2, 0, None)
    direction.segment(after_hello, b"\x17\x03\x03\x00\x01y", 3, 0, None)
    assert direction.pending == {} and direction.pending_bytes == 0
    assert direction.buffer.data == bytearray()
    assert direction.next_offset == len(hello) and reassembler.holes == 0

    direction.finish()
    assert direction.state == CLOSED
    direction.segment(after_hello, b"late", 4, 1, None)
    assert direction.next_offset == len(hello) and direction.pending == {}
