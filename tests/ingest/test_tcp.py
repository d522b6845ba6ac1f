"""Tests of TCP reassembly, driven by captures written with scapy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toyaudit.ingest.records import (
    Endpoint,
    HttpRequest,
    TlsClientHello,
    TlsServerHello,
)
from toyaudit.ingest.tcp import ACK, FIN, SYN, Connection, Reassembler
from toyaudit.synthmessages import (
    tls_application_data,
    tls_client_hello,
    tls_server_hello,
)

REQUEST = (
    b"POST /upload?child=1 HTTP/1.1\r\nHost: Api.Toy.Example:8080\r\n"
    b"Content-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz"
)
RESPONSE = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"


def _requests(observations: list[Any]) -> list[HttpRequest]:
    return [item for item in observations if isinstance(item, HttpRequest)]


def test_reassembly_joins_request_split_across_segments(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    conversation.send_pieces(REQUEST, 20)
    conversation.send(RESPONSE, from_client=False)
    conversation.close()

    observations, coverage = read_capture(conversation.packets)

    (request,) = _requests(observations)
    assert request.body == b"abcdefghijklmnopqrstuvwxyz"
    assert request.evidence.packets == (4, 5, 6, 7, 8, 9, 10)
    assert request.response is not None and request.response.body == b"ok"
    assert not request.truncated
    assert coverage.packets == 12 and coverage.problems == []


def test_reassembly_orders_out_of_order_and_retransmitted_segments(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    conversation.send_pieces(REQUEST, 30)
    first, second, third = conversation.packets[3:6]
    retransmitted = second.copy()
    retransmitted.load = b"X" * len(second.load)  # a later copy must not win
    conversation.packets[3:6] = [third, second, first, retransmitted, first]

    observations, _ = read_capture(conversation.packets)

    (request,) = _requests(observations)
    assert request.body == b"abcdefghijklmnopqrstuvwxyz"
    assert request.path == "/upload" and request.query == "child=1"


def test_reassembly_handles_overlapping_segments(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    start = conversation.seq[True]
    conversation.send(REQUEST[:50])
    conversation.seq[True] = start + 40  # resend 10 bytes with new ones after them
    conversation.send(REQUEST[40:])

    observations, _ = read_capture(conversation.packets)

    (request,) = _requests(observations)
    assert request.body == b"abcdefghijklmnopqrstuvwxyz"


def test_reassembly_reads_capture_starting_mid_stream(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    tail_of_earlier_body = b"ghijklmnop\r\n" * 3
    conversation = talk(client=("10.0.0.9", 43210), server=("10.0.0.1", 8080))
    conversation.send(tail_of_earlier_body + REQUEST)

    observations, _ = read_capture(conversation.packets)

    (request,) = _requests(observations)
    assert request.client == Endpoint("10.0.0.9", 43210)
    assert request.server == Endpoint("10.0.0.1", 8080)
    assert request.host == "api.toy.example"
    assert request.body == b"abcdefghijklmnopqrstuvwxyz"


def test_reassembly_marks_lost_segment_and_never_fills_it(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    conversation.send_pieces(REQUEST, 30)
    lost = conversation.packets.pop(6)  # the last 12 bytes of the body
    conversation.send(b"GET /next HTTP/1.1\r\nHost: toy.example\r\n\r\n")

    observations, coverage = read_capture(conversation.packets)

    first, second = _requests(observations)
    assert first.truncated
    assert bytes(lost.load) not in first.body
    assert first.body == REQUEST[REQUEST.index(b"\r\n\r\n") + 4 : 90]
    assert second.path == "/next" and not second.truncated
    assert any(
        f"1 holes in TCP streams ({len(REQUEST) - 90} bytes" in note
        for note in coverage.problems
    )


def test_reassembly_roles_follow_syn_even_with_low_client_port(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk(client=("10.0.0.2", 80), server=("10.0.0.3", 60000))
    conversation.handshake()
    conversation.send(b"\x00\x01binary protocol, not HTTP")
    conversation.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", from_client=False)

    observations, _ = read_capture(conversation.packets)

    # The server side sends a request line only after the client spoke in an
    # unknown protocol: content decides, and the requester is the client.
    (request,) = _requests(observations)
    assert request.client == Endpoint("10.0.0.3", 60000)


def test_reassembly_splits_tls_client_hello_across_segments(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    from scapy.layers.tls import extensions, handshake, record

    layers: Any = (record, handshake, extensions)  # scapy's TLS has no annotations
    ServerName, TLS_Ext_ServerName = layers[2].ServerName, layers[2].TLS_Ext_ServerName
    hello = bytes(
        layers[0].TLS(
            msg=[
                layers[1].TLSClientHello(
                    ciphers=[0x1301],
                    ext=[
                        TLS_Ext_ServerName(
                            servernames=[ServerName(servername=b"A.Example")]
                        )
                    ],
                )
            ]
        )
    )
    conversation = talk(server=("10.0.0.1", 443))
    conversation.handshake()
    conversation.send(hello[:30])
    conversation.send(hello[30:] + b"\x17\x03\x03\x00\x05" + b"secret")

    observations, _ = read_capture(conversation.packets)

    (client_hello,) = [
        item for item in observations if isinstance(item, TlsClientHello)
    ]
    assert client_hello.sni == "a.example"
    assert client_hello.cipher_suites == (0x1301,)
    assert client_hello.evidence.packets == (4, 5)
    assert client_hello.server == Endpoint("10.0.0.1", 443)


def test_reassembly_ignores_late_retransmission_after_close(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    request_packet = conversation.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    conversation.send(RESPONSE, from_client=False)
    conversation.close()
    conversation.packets.append(request_packet)

    observations, _ = read_capture(conversation.packets)

    assert len(_requests(observations)) == 1


def test_reassembly_reset_delivers_waiting_request(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk()
    conversation.handshake()
    conversation.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    conversation.send(b"", from_client=False, flags="R")

    observations, _ = read_capture(conversation.packets)

    (request,) = _requests(observations)
    assert request.path == "/a" and request.response is None


def test_reassembler_keeps_only_a_marker_for_ended_connections() -> None:
    reassembler = Reassembler("traffic.pcap")
    client, server = (bytes([10, 0, 0, 9]), 40000), (bytes([10, 0, 0, 1]), 80)
    request = b"GET /n HTTP/1.1\r\nHost: x\r\n\r\n"
    frame = 0

    def exchange(port: int) -> None:
        nonlocal frame
        source = (client[0], port)
        steps = [
            (source, server, 1000, SYN, b""),
            (server, source, 5000, SYN | ACK, b""),
            (source, server, 1001, ACK, request),
            (server, source, 5001, ACK, RESPONSE),
            (source, server, 1001 + len(request), FIN | ACK, b""),
            (server, source, 5001 + len(RESPONSE), FIN | ACK, b""),
        ]
        for sender, receiver, sequence, flags, payload in steps:
            frame += 1
            reassembler.segment(sender, receiver, sequence, flags, payload, frame)

    for port in range(40000, 40050):
        exchange(port)
    # A late copy of a request after the close is ignored; a new SYN on the
    # same ports starts a new connection.
    frame += 1
    reassembler.segment((client[0], 40000), server, 1001, ACK, request, frame)
    exchange(40000)

    requests = _requests(reassembler.ready)
    assert len(requests) == 51
    assert all(request.response is not None for request in requests)
    assert len(reassembler.connections) == 50
    assert not any(
        isinstance(kept, Connection) for kept in reassembler.connections.values()
    )


PROXY = ("10.0.0.1", 3128)


def _connect(host: str, extra: bytes = b"") -> bytes:
    return f"CONNECT {host} HTTP/1.1\r\nHost: {host}\r\n".encode() + extra + b"\r\n"


ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"


def _tunnel_observations(
    observations: list[Any],
) -> tuple[list[HttpRequest], list[TlsClientHello], list[TlsServerHello]]:
    return (
        _requests(observations),
        [item for item in observations if isinstance(item, TlsClientHello)],
        [item for item in observations if isinstance(item, TlsServerHello)],
    )


def test_reassembly_reads_tls_inside_a_connect_tunnel(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    hello = tls_client_hello("api.toy.example")
    conversation = talk(server=PROXY)
    conversation.handshake()
    conversation.send(_connect("api.toy.example:443"))
    conversation.send(ESTABLISHED, from_client=False)
    conversation.send(hello)
    conversation.send(tls_server_hello(hello) + tls_application_data(40), False)
    conversation.send(tls_application_data(80, seed=1))
    conversation.close()

    observations, coverage = read_capture(conversation.packets)

    (connect,), (client_hello,), (server_hello,) = _tunnel_observations(observations)
    assert connect.method == "CONNECT" and connect.host == "api.toy.example"
    assert connect.response is not None and connect.response.status == 200
    assert connect.evidence.packets == (4, 5)
    assert client_hello.sni == "api.toy.example"
    assert client_hello.server == Endpoint(*PROXY)
    assert client_hello.evidence.packets == (6,)
    assert server_hello.version == 0x0304 and server_hello.evidence.packets == (7,)
    assert coverage.problems == []


def test_reassembly_reads_a_hello_sent_before_the_proxy_answered(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    hello = tls_client_hello("cdn.toy.example")
    conversation = talk(server=PROXY)
    conversation.handshake()
    conversation.send(_connect("cdn.toy.example:443") + hello[:100])
    conversation.send(hello[100:])
    conversation.send(ESTABLISHED + tls_server_hello(hello), from_client=False)
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    (connect,), (client_hello,), (server_hello,) = _tunnel_observations(observations)
    assert connect.response is not None and connect.response.status == 200
    assert client_hello.sni == "cdn.toy.example"
    assert client_hello.evidence.packets == (4, 5)
    assert server_hello.evidence.packets == (6,)


def test_reassembly_reads_on_as_http_after_a_refused_connect(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    refusal = (
        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
        b'Proxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 6\r\n\r\ndenied'
    )
    hello = tls_client_hello("api.toy.example")
    conversation = talk(server=PROXY)
    conversation.handshake()
    conversation.send(_connect("api.toy.example:443"))
    conversation.send(refusal, from_client=False)
    conversation.send(
        _connect("api.toy.example:443", b"Proxy-Authorization: Basic dG95OnRveQ==\r\n")
    )
    conversation.send(ESTABLISHED, from_client=False)
    conversation.send(hello)
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    requests, (client_hello,), _ = _tunnel_observations(observations)
    statuses = [request.response.status for request in requests if request.response]
    assert [request.method for request in requests] == ["CONNECT", "CONNECT"]
    assert statuses == [407, 200]
    assert requests[0].response is not None
    assert requests[0].response.body == b"denied"
    assert client_hello.sni == "api.toy.example"


def test_reassembly_reads_plain_http_through_a_tunnel(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    conversation = talk(server=PROXY)
    conversation.handshake()
    conversation.send(_connect("api.toy.example:80"))
    conversation.send(ESTABLISHED, from_client=False)
    conversation.send(REQUEST)
    conversation.send(RESPONSE, from_client=False)
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    connect, upload = _requests(observations)
    assert connect.method == "CONNECT"
    assert upload.method == "POST" and upload.host == "api.toy.example"
    assert upload.body == b"abcdefghijklmnopqrstuvwxyz"
    assert upload.response is not None and upload.response.status == 201
    assert upload.evidence.packets == (6, 7)
