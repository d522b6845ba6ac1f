"""Tests for toyaudit.synth: scapy must accept its pcap, frames and checksums."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from toyaudit import synth
from toyaudit.synthmessages import dns_query

TOY = synth.Host("02:1a:7d:5e:33:c1", "192.168.4.23")
SERVER = synth.Host("02:00:5e:c0:04:01", "203.0.113.10")
START = 1_795_168_800.0


def _read_frames(tmp_path: Path, frames: list[synth.TimedFrame]) -> Any:
    """Write ``frames`` with synth's PcapWriter and read them back with scapy."""
    path = tmp_path / "frames.pcap"
    with path.open("wb") as stream:
        synth.PcapWriter(stream).write_frames(frames)
    return rdpcap(str(path))


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
    query = dns_query(0x1234, "api.plushpal.example")
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


def test_same_inputs_give_the_same_pcap_bytes() -> None:
    def capture() -> bytes:
        stream = io.BytesIO()
        synth.PcapWriter(stream).write_frames(_conversation_frames())
        return stream.getvalue()

    assert capture() == capture()
