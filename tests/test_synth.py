"""Tests for toyaudit.synth: scapy and the standard library must accept its bytes."""

from __future__ import annotations

import http.client
import io
import struct
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.dns import DNS
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.main import load_layer
from scapy.utils import rdpcap

from toyaudit import synth

load_layer("tls")
load_layer("http")
from scapy.layers.http import HTTPRequest  # noqa: E402
from scapy.layers.tls.record import TLS  # noqa: E402

TOY = synth.Host("02:1a:7d:5e:33:c1", "192.168.4.23")
SERVER = synth.Host("02:00:5e:c0:04:01", "203.0.113.10")
START = 1_795_168_800.0


def _read_frames(tmp_path: Path, frames: list[synth.TimedFrame]) -> Any:
    """Write ``frames`` with synth's PcapWriter and read them back with scapy."""
    path = tmp_path / "frames.pcap"
    with path.open("wb") as stream:
        synth.PcapWriter(stream).write_frames(frames)
    return rdpcap(str(path))


def _tls(record_bytes: bytes) -> Any:
    """Dissect TLS records with scapy (whose TLS class is unannotated)."""
    return TLS(record_bytes)  # type: ignore[no-untyped-call]


def _conversation_frames(mss: int = 1460) -> list[synth.TimedFrame]:
    conversation = synth.TcpConversation((TOY, 49731), (SERVER, 80), START, mss=mss)
    frames = conversation.open()
    frames += conversation.send(True, b"A" * 3000)
    frames += conversation.send(False, b"B" * 10)
    return frames + conversation.close()


def _checksums(packet: Any) -> tuple[int, int]:
    """The IPv4 and transport checksums of ``packet``, as stored."""
    transport = packet[TCP] if TCP in packet else packet[UDP]
    return packet[IP].chksum, transport.chksum


def _recomputed_checksums(packet: Any) -> tuple[int, int]:
    """The same checksums as scapy computes them from scratch."""
    clone = Ether(bytes(packet))
    del clone[IP].chksum
    del (clone[TCP] if TCP in clone else clone[UDP]).chksum
    return _checksums(Ether(bytes(clone)))


def test_internet_checksum_matches_rfc1071_example() -> None:
    # RFC 1071 section 3: these words sum to 0xddf2, so the checksum is 0x220d.
    assert synth.internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_pcap_writer_writes_classic_header_and_microseconds() -> None:
    stream = io.BytesIO()
    writer = synth.PcapWriter(stream)
    writer.write(START + 0.000123, b"\x01\x02\x03")
    header = struct.unpack("<IHHiIII", stream.getvalue()[:24])
    record = struct.unpack("<IIII", stream.getvalue()[24:40])
    assert header == (0xA1B2C3D4, 2, 4, 0, 0, 65535, synth.LINKTYPE_ETHERNET)
    assert record == (int(START), 123, 3, 3)
    assert stream.getvalue()[40:] == b"\x01\x02\x03"


def test_tcp_conversation_checksums_match_scapy(tmp_path: Path) -> None:
    packets = _read_frames(tmp_path, _conversation_frames())
    assert len(packets) == 12  # 3 handshake, 3 + 1 + 1 + 1 data and ACKs, 3 close
    for packet in packets:
        assert _checksums(packet) == _recomputed_checksums(packet)


def test_udp_frame_checksums_match_scapy(tmp_path: Path) -> None:
    query = synth.dns_query(0x1234, "api.plushpal.example")
    frame = synth.udp_frame(TOY, SERVER, (50311, 53), query, ident=7)
    packets = _read_frames(tmp_path, [synth.TimedFrame(START, frame)])
    assert packets[0][IP].id == 7
    assert _checksums(packets[0]) == _recomputed_checksums(packets[0])


def test_tcp_conversation_seq_and_ack_are_consistent(tmp_path: Path) -> None:
    packets = _read_frames(tmp_path, _conversation_frames(mss=1000))
    syn, syn_ack, ack = packets[0][TCP], packets[1][TCP], packets[2][TCP]
    assert (syn.flags, syn_ack.flags, ack.flags) == ("S", "SA", "A")
    assert syn_ack.ack == syn.seq + 1 and ack.ack == syn_ack.seq + 1
    expected_seq = {TOY.ip: syn.seq + 1, SERVER.ip: syn_ack.seq + 1}
    received = {TOY.ip: b"", SERVER.ip: b""}
    for packet in packets[2:]:
        segment, sender = packet[TCP], packet[IP].src
        receiver = SERVER.ip if sender == TOY.ip else TOY.ip
        assert segment.seq == expected_seq[sender]
        assert segment.ack == expected_seq[receiver]
        payload = bytes(segment.payload)
        assert len(payload) <= 1000
        received[sender] += payload
        expected_seq[sender] += len(payload) + (1 if "F" in segment.flags else 0)
    assert received == {TOY.ip: b"A" * 3000, SERVER.ip: b"B" * 10}


def test_tcp_conversation_timestamps_advance_by_step(tmp_path: Path) -> None:
    packets = _read_frames(tmp_path, _conversation_frames())
    offsets = [round((float(packet.time) - START) * 1000) for packet in packets]
    assert offsets == list(range(len(packets)))


def test_dns_query_and_response_carry_the_name(tmp_path: Path) -> None:
    name = "voice.plushpal.example"
    query = synth.udp_frame(TOY, SERVER, (50312, 53), synth.dns_query(9, name))
    answer_bytes = synth.dns_response(9, name, ["203.0.113.20", "203.0.113.21"])
    answer = synth.udp_frame(SERVER, TOY, (53, 50312), answer_bytes)
    timed = [synth.TimedFrame(START, query), synth.TimedFrame(START + 0.01, answer)]
    packets = _read_frames(tmp_path, timed)
    asked, answered = packets[0][DNS], packets[1][DNS]
    assert (asked.id, asked.qr, asked.qd[0].qname) == (9, 0, b"voice.plushpal.example.")
    assert (answered.id, answered.qr, answered.ancount) == (9, 1, 2)
    assert [answered.an[index].rdata for index in range(2)] == [
        "203.0.113.20",
        "203.0.113.21",
    ]
    assert answered.an[0].rrname == b"voice.plushpal.example."


def test_dns_query_rejects_an_overlong_label() -> None:
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        synth.dns_query(1, "x" * 64 + ".example")


def test_tls_client_hello_parses_with_sni_versions_and_alpn() -> None:
    hello_bytes = synth.tls_client_hello("voice.plushpal.example", ("h2", "http/1.1"))
    record = _tls(hello_bytes)
    assert record.type == 22 and record.len == len(hello_bytes) - 5
    hello = record.msg[0]
    extensions = {type(extension).__name__: extension for extension in hello.ext}
    server_names = extensions["TLS_Ext_ServerName"].servernames
    assert [entry.servername for entry in server_names] == [b"voice.plushpal.example"]
    versions = extensions["TLS_Ext_SupportedVersion_CH"].versions
    assert versions == [synth.TLS1_3, synth.TLS1_2]
    assert extensions["TLS_Ext_ALPN"].protocols[1].protocol == b"http/1.1"
    key_share = extensions["TLS_Ext_KeyShare_CH"].client_shares[0]
    assert (key_share.group, len(key_share.key_exchange)) == (0x001D, 32)
    assert 0x1301 in hello.ciphers and len(hello.sid) == 32


def test_tls_client_hello_is_deterministic_per_seed() -> None:
    first = synth.tls_client_hello("api.plushpal.example", seed=5)
    assert first == synth.tls_client_hello("api.plushpal.example", seed=5)
    assert first != synth.tls_client_hello("api.plushpal.example", seed=6)


def test_tls_server_hello_echoes_the_client_session_id() -> None:
    client_hello = synth.tls_client_hello("api.plushpal.example", seed=1)
    records = _tls(synth.tls_server_hello(client_hello, seed=2))
    server_hello = records.msg[0]
    assert server_hello.sid == _tls(client_hello).msg[0].sid
    assert server_hello.cipher == 0x1301
    assert records.payload.type == 20  # ChangeCipherSpec follows


def test_tls_application_data_splits_into_records() -> None:
    records = synth.tls_application_data(40_000, seed=3)
    lengths = []
    offset = 0
    while offset < len(records):
        kind, version, length = struct.unpack("!BHH", records[offset : offset + 5])
        assert (kind, version) == (23, synth.TLS1_2)
        lengths.append(length)
        offset += 5 + length
    assert lengths == [16384 + 17, 16384 + 17, 40_000 - 2 * 16384 + 17]


def test_http_request_is_well_formed() -> None:
    body = b'{"child_name":"Mirabel Quince"}'
    headers = {"Content-Type": "application/json"}
    request_bytes = synth.http_request(
        "POST", "api.plushpal.example", "/v1/p", headers, body
    )
    head, _, rest = request_bytes.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/p HTTP/1.1"
    assert lines[1] == b"Host: api.plushpal.example"
    assert rest == body
    parsed = HTTPRequest(request_bytes)
    assert parsed.Content_Length == str(len(body)).encode()


def test_http_response_parses_with_the_standard_library() -> None:
    response_bytes = synth.http_response(201, {"Content-Type": "text/plain"}, b"made")

    class _FakeSocket:
        def makefile(self, mode: str) -> io.BytesIO:
            return io.BytesIO(response_bytes)

    response = http.client.HTTPResponse(_FakeSocket())  # type: ignore[arg-type]
    response.begin()
    assert (response.status, response.reason) == (201, "Created")
    assert response.getheader("Content-Type") == "text/plain"
    assert response.read() == b"made"


def test_http_response_without_body_still_states_its_length() -> None:
    assert b"Content-Length: 0\r\n" in synth.http_response(200)
    assert b"Content-Length" not in synth.http_response(204)


def test_http_request_rejects_a_header_with_a_line_break() -> None:
    with pytest.raises(ValueError, match="line break"):
        synth.http_request("GET", "a.example", "/", {"X-Evil": "a\r\nInjected: 1"})


def test_same_inputs_give_the_same_pcap_bytes() -> None:
    def capture() -> bytes:
        stream = io.BytesIO()
        synth.PcapWriter(stream).write_frames(_conversation_frames())
        return stream.getvalue()

    assert capture() == capture()
