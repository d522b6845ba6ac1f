"""Which frames each shard reads: the cheap placement agrees with decoding."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from toyaudit import synth
from toyaudit.ingest import read_evidence
from toyaudit.ingest.decode import decode_frame
from toyaudit.ingest.pcapfile import Frame
from toyaudit.ingest.records import Coverage, Observation
from toyaudit.ingest.shard import ConversationOwners, Shard, conversation_shard

TOY = synth.Host("02:00:00:00:00:02", "10.0.0.2")
SERVERS = [synth.Host("02:00:00:00:00:01", f"203.0.113.{last}") for last in (7, 8)]


def _tcp(client_port: int, server: synth.Host, from_client: bool) -> bytes:
    ends = (TOY, server) if from_client else (server, TOY)
    ports = (client_port, 443) if from_client else (443, client_port)
    header = synth.TcpHeader(*ports, 1, 1, synth.TCP_ACK)
    return synth.tcp_frame(*ends, header, b"payload")


def _udp(client_port: int, server: synth.Host, from_client: bool) -> bytes:
    ends = (TOY, server) if from_client else (server, TOY)
    ports = (client_port, 53) if from_client else (53, client_port)
    return synth.udp_frame(*ends, ports, b"datagram")


def _frames() -> list[Frame]:
    frames = []
    for port in range(40000, 40040):
        for server in SERVERS:
            for from_client in (True, False):
                frames.append(_tcp(port, server, from_client))
                frames.append(_udp(port, server, from_client))
    return [(number, 1, 0.0, frame) for number, frame in enumerate(frames, start=1)]


def _decoded_shard(frame: bytes, count: int) -> int:
    segment = decode_frame(1, frame)
    assert segment is not None
    return conversation_shard(*segment[1:5], count)


def _read(frames: list[bytes], tmp_path: Path, shard: Shard) -> list[Observation]:
    capture = tmp_path / "traffic.pcap"
    if not capture.exists():
        with capture.open("wb") as stream:
            synth.PcapWriter(stream).write_frames(
                synth.TimedFrame(1.0 + number, frame)
                for number, frame in enumerate(frames)
            )
    return list(read_evidence(capture, "traffic.pcap", Coverage(), shard=shard))


def _frame_numbers(observations: list[Observation]) -> list[int]:
    return sorted(
        number
        for observation in observations
        for number in observation.evidence.packets
    )


def test_conversation_shard_is_the_same_from_either_end() -> None:
    one, other = bytes([10, 0, 0, 2]), bytes([203, 0, 113, 7])

    for count in (2, 3, 4):
        for port in range(40000, 40100):
            assert conversation_shard(one, port, other, 443, count) == (
                conversation_shard(other, 443, one, port, count)
            )


@pytest.mark.parametrize("count", [2, 3])
def test_conversation_owners_place_common_frames_as_decoding_does(count: int) -> None:
    for index in range(count):
        owners = ConversationOwners(Shard(index, count))
        for *_, frame in _frames():
            mine = owners.place(frame[26:38])
            assert mine == (_decoded_shard(frame, count) == index)
            assert owners.memo[frame[26:38]] is mine


def test_conversation_owners_spread_conversations_over_shards() -> None:
    owners = {_decoded_shard(frame, 2) for *_, frame in _frames()}

    assert owners == {0, 1}


@pytest.mark.parametrize("count", [2, 3])
def test_shards_read_exactly_their_conversations(tmp_path: Path, count: int) -> None:
    frames = [frame for *_, frame in _frames()]
    whole = _read(frames, tmp_path, Shard(0, 1))

    read: list[int] = []
    for index in range(count):
        observations = _read(frames, tmp_path, Shard(index, count))
        for number in _frame_numbers(observations):
            assert _decoded_shard(frames[number - 1], count) == index
        read += _frame_numbers(observations)

    assert sorted(read) == _frame_numbers(whole) and len(whole) >= len(frames) // 2


def _vlan(frame: bytes) -> bytes:
    return frame[:12] + b"\x81\x00\x00\x05" + frame[12:]


def _first_fragment(frame: bytes) -> bytes:
    flags = struct.pack("!H", 0x2000)  # more fragments follow
    return frame[:20] + flags + frame[22:]


def _arp() -> bytes:
    return b"\xff" * 6 + TOY.packed_mac + b"\x08\x06" + b"\x00" * 28


def test_shards_place_tagged_frames_by_their_decoded_conversation(
    tmp_path: Path,
) -> None:
    frames = [_vlan(_tcp(40000 + port, SERVERS[0], True)) for port in range(12)]

    for index in range(3):
        observations = _read(frames, tmp_path, Shard(index, 3))
        for number in _frame_numbers(observations):
            segment = decode_frame(1, frames[number - 1])
            assert segment is not None
            assert conversation_shard(*segment[1:5], 3) == index


def test_shards_read_unplaceable_frames_in_the_first_shard_only(
    tmp_path: Path,
) -> None:
    frames = [_arp(), _first_fragment(_tcp(40000, SERVERS[0], True))]

    for index in range(2):
        coverage = Coverage()
        capture = tmp_path / "odd.pcap"
        with capture.open("wb") as stream:
            synth.PcapWriter(stream).write_frames(
                synth.TimedFrame(1.0, frame) for frame in frames
            )
        assert (
            list(read_evidence(capture, "odd.pcap", coverage, shard=Shard(index, 2)))
            == []
        )
        assert coverage.packets == 2


def test_shard_refuses_an_index_outside_its_count() -> None:
    with pytest.raises(ValueError, match="shard 3 of 3"):
        Shard(3, 3)


def test_shard_owns_every_count_th_position() -> None:
    shard = Shard(1, 3)

    assert [position for position in range(9) if shard.owns_position(position)] == [
        1,
        4,
        7,
    ]


@pytest.mark.parametrize("count", [1, 2])
def test_shards_count_frames_cut_inside_their_headers(
    tmp_path: Path, count: int
) -> None:
    whole = _tcp(40000, SERVERS[0], True)
    frames = [whole[:cut] for cut in (15, 20, 24, 37, 40, 47)] + [whole]

    read = []
    for index in range(count):
        read += _read(frames, tmp_path, Shard(index, count))

    assert _frame_numbers(read) == [len(frames)]
