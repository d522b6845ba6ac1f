"""Tests of the TLS record reader: ServerHello, certificates, JA4, the record hook."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.tls import extensions, handshake, record

from toyaudit import synth
from toyaudit.ingest import read_evidence
from toyaudit.ingest.decode import decode_frame
from toyaudit.ingest.ja4 import ja4_fingerprint
from toyaudit.ingest.records import (
    Coverage,
    Endpoint,
    Observation,
    TlsClientHello,
    TlsServerHello,
)
from toyaudit.ingest.streambuf import StreamBuffer
from toyaudit.ingest.tcp import Reassembler
from toyaudit.ingest.tls import ClientHello, ServerHello, parse_client_hello
from toyaudit.ingest.tlsstream import TlsReader, TlsRecord, TlsRecordConsumer
from toyaudit.synthmessages import (
    tls_application_data,
    tls_client_hello,
    tls_server_hello,
)

TLS: Any = record.TLS
TLSServerHello: Any = handshake.TLSServerHello
ProtocolName: Any = extensions.ProtocolName
TLS_Ext_ALPN: Any = extensions.TLS_Ext_ALPN

SERVER = ("10.0.0.1", 443)


def _vector(size: int, body: bytes) -> bytes:
    return len(body).to_bytes(size, "big") + body


def _record(content_type: int, body: bytes) -> bytes:
    return struct.pack("!BHH", content_type, 0x0303, len(body)) + body


def _handshake(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + _vector(3, body)


def _certificate_message(certificates: list[bytes]) -> bytes:
    entries = b"".join(_vector(3, der) for der in certificates)
    return _handshake(11, _vector(3, entries))


def _tls12_server_flight(certificates: list[bytes]) -> bytes:
    hello = TLSServerHello(
        version=0x0303,
        cipher=0xC02F,
        ext=[TLS_Ext_ALPN(protocols=[ProtocolName(protocol=b"http/1.1")])],
    )
    messages = bytes(hello) + _certificate_message(certificates) + _handshake(14, b"")
    # Split the handshake messages over two records, as servers do for long chains.
    return _record(22, messages[:90]) + _record(22, messages[90:])


class FakeSink:
    """Collects what a TLS reader delivers."""

    def __init__(self, consumer: TlsRecordConsumer | None = None) -> None:
        self.consumer = consumer
        self.client_hellos: list[ClientHello] = []
        self.server_hellos: list[tuple[ServerHello, tuple[bytes, ...], list[int]]] = []

    def add_client_hello(self, hello: ClientHello, frames: list[int]) -> None:
        self.client_hellos.append(hello)

    def add_server_hello(
        self, hello: ServerHello, certificates: tuple[bytes, ...], frames: list[int]
    ) -> None:
        self.server_hellos.append((hello, certificates, list(frames)))

    def tls_consumer(self) -> TlsRecordConsumer | None:
        return self.consumer


class RecordingConsumer:
    """A stand-in for the decryption engine: remembers every record."""

    def __init__(self) -> None:
        self.records: list[tuple[bool, TlsRecord]] = []
        self.closed: list[bool] = []

    def record(self, from_client: bool, record: TlsRecord) -> None:
        self.records.append((from_client, record))

    def gap(self, from_client: bool) -> None:
        raise AssertionError("no bytes are lost in these tests")

    def close(self, from_client: bool) -> None:
        self.closed.append(from_client)


def _feed(reader: TlsReader, stream: bytes, piece: int = 7) -> None:
    buffer = StreamBuffer()
    for frame, start in enumerate(range(0, len(stream), piece), start=1):
        buffer.append(stream[start : start + piece], frame)
        reader.feed(buffer)
        if not reader.alive:
            return


def test_tlsstream_reads_tls12_server_hello_and_certificates() -> None:
    certificates = [b"\x30\x82leaf-der" + b"L" * 300, b"\x30\x82ca-der" + b"C" * 200]
    sink = FakeSink()
    reader = TlsReader(sink, from_client=False)

    _feed(reader, _tls12_server_flight(certificates) + _record(20, b"\x01"))

    ((hello, chain, frames),) = sink.server_hellos
    assert hello == ServerHello(0x0303, 0xC02F, "http/1.1", retry=False)
    assert chain == tuple(certificates)
    assert frames[0] == 1 and len(frames) > 10
    assert not reader.alive  # no consumer: the rest of the stream is dropped


def test_tlsstream_tls13_server_hello_in_a_capture(
    read_capture: Any, talk: Callable[..., Any]
) -> None:
    client_hello = tls_client_hello("cloud.toy.example", alpn=("h2",))
    conversation = talk(server=SERVER)
    conversation.handshake()
    conversation.send(client_hello)
    conversation.send(tls_server_hello(client_hello), from_client=False)
    conversation.send(tls_application_data(100), from_client=False)
    conversation.close()

    observations, _ = read_capture(conversation.packets)

    hello, server_hello = observations
    assert isinstance(hello, TlsClientHello) and hello.ja4.startswith("t13d0806h2_")
    assert isinstance(server_hello, TlsServerHello)
    assert (server_hello.version, server_hello.cipher_suite) == (0x0304, 0x1301)
    assert server_hello.certificates == () and server_hello.evidence.packets == (5,)
    assert server_hello.client == Endpoint("10.0.0.2", 50000)


def test_tlsstream_skips_hello_retry_request() -> None:
    retry_random = bytes.fromhex(
        "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
    )
    versions = struct.pack("!HHH", 43, 2, 0x0304)
    retry = (
        b"\x03\x03" + retry_random + b"\x00" + b"\x13\x02\x00" + _vector(2, versions)
    )
    real = b"\x03\x03" + b"R" * 32 + b"\x00" + b"\x13\x01\x00" + _vector(2, versions)
    sink = FakeSink()
    reader = TlsReader(sink, from_client=False)

    _feed(reader, _record(22, _handshake(2, retry)) + _record(22, _handshake(2, real)))

    ((hello, _, _),) = sink.server_hellos
    assert hello.cipher_suite == 0x1301 and not hello.retry


def test_tlsstream_passes_every_record_to_the_consumer() -> None:
    client_hello = tls_client_hello("cloud.toy.example")
    stream = client_hello + _record(20, b"\x01") + tls_application_data(40000)
    consumer = RecordingConsumer()
    sink = FakeSink(consumer)
    reader = TlsReader(sink, from_client=True)

    _feed(reader, stream, piece=1000)
    reader.close()

    kinds = [record.content_type for _, record in consumer.records]
    assert kinds == [22, 20, 23, 23, 23]
    assert (
        b"".join(
            struct.pack("!BHH", r.content_type, r.version, len(r.fragment)) + r.fragment
            for _, r in consumer.records
        )
        == stream
    )
    assert consumer.closed == [True] and len(sink.client_hellos) == 1


def test_tlsstream_reassembler_factory_gets_both_directions(tmp_path: Any) -> None:
    made: list[tuple[Endpoint, Endpoint, RecordingConsumer]] = []

    def factory(
        client: Endpoint, server: Endpoint, emit: Callable[[Observation], None]
    ) -> TlsRecordConsumer:
        consumer = RecordingConsumer()
        made.append((client, server, consumer))
        return consumer

    client = synth.Host("02:00:00:00:00:02", "10.0.0.2")
    server = synth.Host("02:00:00:00:00:01", "10.0.0.1")
    conversation = synth.TcpConversation((client, 50000), (server, 443), 1.0)
    client_hello = tls_client_hello("a.example")
    frames = conversation.open() + conversation.send(True, client_hello)
    frames += conversation.send(False, tls_server_hello(client_hello))
    frames += conversation.send(True, tls_application_data(10))
    frames += conversation.close()
    reassembler = Reassembler("t.pcap", tls_consumer_factory=factory)

    for number, timed in enumerate(frames, start=1):
        segment = decode_frame(1, timed.frame)
        assert segment is not None
        reassembler.segment(
            (segment[1], segment[2]),
            (segment[3], segment[4]),
            segment[5],
            segment[7],
            segment[8],
            number,
        )
    reassembler.close_all()

    ((client_end, server_end, consumer),) = made
    assert (client_end.port, server_end.port) == (50000, 443)
    assert [(side, r.content_type) for side, r in consumer.records] == [
        (True, 22),
        (False, 22),
        (False, 20),
        (True, 23),
    ]
    assert sorted(consumer.closed) == [False, True]


def test_ja4_matches_the_published_chrome_example() -> None:
    grease = 0x1A1A
    ciphers = [
        grease,
        0x1301,
        0x1302,
        0x1303,
        0xC02B,
        0xC02F,
        0xC02C,
        0xC030,
        0xCCA9,
        0xCCA8,
        0xC013,
        0xC014,
        0x009C,
        0x009D,
        0x002F,
        0x0035,
    ]
    algorithms = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    order = [
        grease,
        0x0000,
        0x0017,
        0xFF01,
        0x000A,
        0x000B,
        0x0023,
        0x0010,
        0x0005,
        0x000D,
        0x0012,
        0x0033,
        0x002D,
        0x002B,
        0x001B,
        0x0015,
        0x4469,
        0x3A3A,
    ]
    bodies = {
        0x0000: _vector(2, b"\x00" + _vector(2, b"www.example.com")),
        0x0010: _vector(2, _vector(1, b"h2") + _vector(1, b"http/1.1")),
        0x000D: _vector(2, b"".join(value.to_bytes(2, "big") for value in algorithms)),
        0x002B: _vector(1, b"\x2a\x2a\x03\x04\x03\x03"),
    }
    extension_bytes = b"".join(
        kind.to_bytes(2, "big") + _vector(2, bodies.get(kind, b"")) for kind in order
    )
    body = (
        b"\x03\x03"
        + b"r" * 32
        + _vector(1, b"")
        + _vector(2, b"".join(value.to_bytes(2, "big") for value in ciphers))
        + b"\x01\x00"
        + _vector(2, extension_bytes)
    )

    hello = parse_client_hello(body)

    assert hello is not None
    assert ja4_fingerprint(hello) == "t13d1516h2_8daaf6152771_e5627efa2ab1"


def test_ja4_without_sni_alpn_or_extensions() -> None:
    hello = ClientHello(0x0303, (0x002F, 0x0A0A), None, (), ())
    cipher_hash = hashlib.sha256(b"002f").hexdigest()[:12]

    assert ja4_fingerprint(hello) == f"t12i010000_{cipher_hash}_000000000000"


def test_tlsstream_capture_reads_client_and_server_side(tmp_path: Any) -> None:
    path = tmp_path / "tls.pcap"
    client = synth.Host("02:00:00:00:00:02", "10.0.0.2")
    server = synth.Host("02:00:00:00:00:01", "10.0.0.1")
    conversation = synth.TcpConversation((client, 50000), (server, 8883), 1.0, mss=50)
    client_hello = tls_client_hello("mqtt.toy.example")
    with path.open("wb") as stream:
        writer = synth.PcapWriter(stream)
        writer.write_frames(conversation.open())
        writer.write_frames(conversation.send(True, client_hello))
        writer.write_frames(
            conversation.send(False, _tls12_server_flight([b"D" * 500]))
        )
        writer.write_frames(conversation.close())

    observations = list(read_evidence(path, "tls.pcap", Coverage()))

    hello, server_hello = observations
    assert isinstance(hello, TlsClientHello) and hello.sni == "mqtt.toy.example"
    assert isinstance(server_hello, TlsServerHello)
    assert server_hello.certificates == (b"D" * 500,)
    assert server_hello.alpn == "http/1.1" and server_hello.version == 0x0303


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_tlsstream_survives_mutated_server_flights(data: st.DataObject) -> None:
    flight = bytearray(_tls12_server_flight([b"cert" * 20]))
    for _ in range(data.draw(st.integers(0, 8))):
        position = data.draw(st.integers(0, len(flight) - 1))
        flight[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(flight)))
    sink = FakeSink()
    reader = TlsReader(sink, from_client=data.draw(st.booleans()))

    _feed(reader, bytes(flight[:cut]), piece=data.draw(st.integers(1, 64)))
    reader.close()

    assert len(sink.server_hellos) <= 1
    for _hello, chain, _frames in sink.server_hellos:
        assert sum(len(der) for der in chain) <= len(flight)


def _client_hello_message(server_name: bytes) -> bytes:
    """A ClientHello handshake message offering two suites and naming a server."""
    names = _vector(2, b"\x00" + _vector(2, server_name))  # RFC 6066 §3
    extension = struct.pack("!H", 0) + _vector(2, names)
    body = (
        b"\x03\x03"
        + b"c" * 32
        + _vector(1, b"")
        + _vector(2, struct.pack("!HH", 0x1301, 0xC02F))
        + _vector(1, b"\x00")
        + _vector(2, extension)
    )
    return _handshake(1, body)


def test_tlsstream_gathers_client_hello_split_across_records() -> None:
    message = _client_hello_message(b"Cloud.Toy.Example.")
    sink = FakeSink()
    reader = TlsReader(sink, from_client=True)
    buffer = StreamBuffer()

    buffer.append(_record(22, message[:20]), 1)
    reader.feed(buffer)
    waiting = list(sink.client_hellos)
    buffer.append(_record(22, message[20:]), 2)
    reader.feed(buffer)

    assert waiting == []
    (hello,) = sink.client_hellos
    assert hello.sni == "cloud.toy.example"
    assert hello.cipher_suites == (0x1301, 0xC02F)


def test_tlsstream_reads_no_client_hello_after_other_bytes() -> None:
    hello = _record(22, _client_hello_message(b"a.example"))
    not_a_record = b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"
    application_data = _record(23, b"ab")

    for stream in (not_a_record + hello, application_data + hello):
        sink = FakeSink()
        reader = TlsReader(sink, from_client=True)
        _feed(reader, stream)

        assert sink.client_hellos == [] and not reader.alive
