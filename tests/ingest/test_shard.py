"""Which frames each shard reads: the cheap test agrees with the decoded frame."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from toyaudit import synth
from toyaudit.ingest.decode import decode_frame
from toyaudit.ingest.pcapfile import Frame
from toyaudit.ingest.shard import Shard, conversation_shard, shard_frames

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


def test_conversation_shard_is_the_same_from_either_end() -> None:
    one, other = bytes([10, 0, 0, 2]), bytes([203, 0, 113, 7])

    for count in (2, 3, 4):
        for port in range(40000, 40100):
            assert conversation_shard(one, port, other, 443, count) == (
                conversation_shard(other, 443, one, port, count)
            )


@pytest.mark.parametrize("count", [2, 3])
def test_shard_frames_keeps_exactly_the_shards_conversations(count: int) -> None:
    frames = _frames()

    for index in range(count):
        kept = list(shard_frames(iter(frames), Shard(index, count)))
        known = {number for number, *_, mine in kept if mine}
        unknown = {number for number, *_, mine in kept if not mine}
        assert known
        for number, _, _, frame in frames:
            owned = _decoded_shard(frame, count) == index
            assert (number in known) == owned
            # Every shard learns names from DNS responses; only one reads them.
            response = decode_frame(1, frame)[2] == 53  # type: ignore[index]
            assert (number in unknown) == (response and not owned)


def test_shard_frames_spreads_conversations_over_shards() -> None:
    owners = {_decoded_shard(frame, 2) for *_, frame in _frames()}

    assert owners == {0, 1}


def _vlan(frame: bytes) -> bytes:
    return frame[:12] + b"\x81\x00\x00\x05" + frame[12:]


def _first_fragment(frame: bytes) -> bytes:
    flags = struct.pack("!H", 0x2000)  # more fragments follow
    return frame[:20] + flags + frame[22:]


def _arp() -> bytes:
    return b"\xff" * 6 + TOY.packed_mac + b"\x08\x06" + b"\x00" * 28


@pytest.mark.parametrize("odd", [_vlan, _first_fragment])
def test_shard_frames_passes_on_frames_it_cannot_place(
    odd: Callable[[bytes], bytes],
) -> None:
    frames: list[Frame] = [(1, 1, 0.0, odd(_tcp(40000, SERVERS[0], True)))]

    for index in range(3):
        [(*_, known)] = shard_frames(iter(frames), Shard(index, 3))
        assert known is False


def test_shard_frames_passes_on_frames_of_other_protocols() -> None:
    frames: list[Frame] = [(1, 1, 0.0, _arp()), (2, 201, 0.0, b"\x00" * 20)]

    for index in range(2):
        kept = list(shard_frames(iter(frames), Shard(index, 2)))
        assert [known for *_, known in kept] == [False, False]


def test_shard_frames_one_shard_knows_every_frame() -> None:
    frames = [(1, 1, 0.0, _arp()), *_frames()]

    kept = list(shard_frames(iter(frames), Shard(0, 1)))

    assert len(kept) == len(frames) and all(known for *_, known in kept)


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
