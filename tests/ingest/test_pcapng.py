"""Tests of the pcapng reader: scapy writes where it can, hand-built blocks elsewhere.

The block builders and :func:`read_content` serve the pcap/pcapng tests of
:mod:`tests.ingest.test_pcapfile` too.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter, RawPcapReader

from toyaudit.ingest.pcapfile import read_frames
from toyaudit.ingest.records import Coverage

PACKETS = [
    Ether() / IP(dst=f"10.0.0.{index}") / UDP(dport=53) / (b"x" * index)
    for index in range(1, 8)
]


def read_content(
    content: bytes,
) -> tuple[list[tuple[int, int, float, bytes]], Coverage]:
    """Read ``content`` as the file traffic.pcap; its frames and coverage."""
    coverage = Coverage()
    frames = list(
        read_frames(io.BytesIO(content), "traffic.pcap", coverage, len(content))
    )
    return frames, coverage


def test_pcapng_reads_scapy_pcapng_like_scapy(tmp_path: Path) -> None:
    path = tmp_path / "traffic.pcapng"
    writer = PcapNgWriter(str(path))
    for packet in PACKETS:
        writer.write(packet)
    writer.close()

    frames, coverage = read_content(path.read_bytes())

    with RawPcapReader(str(path)) as oracle:
        expected = [bytes(raw) for raw, _meta in oracle]
    assert [frame for *_, frame in frames] == expected
    assert coverage.packets == 7


def _block(order: str, block_type: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    length = len(body) + 12
    return (
        struct.pack(order + "II", block_type, length)
        + body
        + struct.pack(order + "I", length)
    )


def section_block(order: str) -> bytes:
    """A Section Header Block in byte order ``order``, section length unknown."""
    magic = struct.pack(order + "I", 0x1A2B3C4D)
    return _block(order, 0x0A0D0D0A, magic + struct.pack(order + "HHq", 1, 0, -1))


def interface_block(order: str, linktype: int, tsresol: int | None = None) -> bytes:
    """An Interface Description Block, with an ``if_tsresol`` option if given."""
    options = b""
    if tsresol is not None:
        options = (
            struct.pack(order + "HH", 9, 1) + bytes([tsresol, 0, 0, 0]) + b"\x00" * 4
        )
    return _block(order, 1, struct.pack(order + "HHI", linktype, 0, 0) + options)


def enhanced_block(order: str, interface: int, stamp: int, frame: bytes) -> bytes:
    """An Enhanced Packet Block holding all of ``frame``, stamped ``stamp`` units."""
    header = struct.pack(
        order + "IIIII",
        interface,
        stamp >> 32,
        stamp & 0xFFFFFFFF,
        len(frame),
        len(frame),
    )
    return _block(order, 6, header + frame)


def test_pcapng_two_sections_two_interfaces_both_byte_orders() -> None:
    first = (
        section_block("<")
        + interface_block("<", 1)
        + interface_block("<", 101, tsresol=9)
    )
    first += enhanced_block("<", 0, 1_500_000, b"ethernet")
    first += _block("<", 4, b"name resolution block, skipped")
    first += enhanced_block("<", 1, 2_000_000_000, b"raw ip")
    second = section_block(">") + interface_block(">", 113)
    second += _block(">", 3, struct.pack(">I", 6) + b"simple")
    second += enhanced_block(">", 0, 0, b"cooked")

    frames, coverage = read_content(first + second)

    assert [(number, linktype, frame) for number, linktype, _t, frame in frames] == [
        (1, 1, b"ethernet"),
        (2, 101, b"raw ip"),
        (3, 113, b"simple"),
        (4, 113, b"cooked"),
    ]
    assert frames[0][2] == pytest.approx(1.5) and frames[1][2] == pytest.approx(2.0)
    assert coverage.problems == [] and coverage.packets == 4


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_adds_the_interface_timestamp_offset(order: str) -> None:
    # pcapng §4.2: if_tsresol (9) then if_tsoffset (14), seconds to add.
    options = struct.pack(order + "HH", 9, 1) + bytes([3, 0, 0, 0])
    options += struct.pack(order + "HHq", 14, 8, 1_764_000_000)
    options += struct.pack(order + "HH", 0, 0)
    interface = _block(order, 1, struct.pack(order + "HHI", 1, 0, 0) + options)
    content = (
        section_block(order) + interface + enhanced_block(order, 0, 2_500, b"frame")
    )

    [(_number, _linktype, stamp, _frame)], _ = read_content(content)

    assert stamp == pytest.approx(1_764_000_002.5)


def test_pcapng_absurd_block_length_stops_with_note() -> None:
    content = (
        section_block("<")
        + interface_block("<", 1)
        + enhanced_block("<", 0, 0, b"kept")
    )
    broken_at = len(content)
    content += struct.pack("<II", 6, 70 << 20) + b"\x00" * 64

    frames, coverage = read_content(content)

    assert [frame for *_, frame in frames] == [b"kept"]
    assert coverage.problems == [
        f"traffic.pcap: block at byte {broken_at} claims an impossible length "
        f"{70 << 20}; frames after frame 1 are lost"
    ]


def test_pcapng_undescribed_interface_is_counted_and_noted() -> None:
    content = (
        section_block("<")
        + interface_block("<", 1)
        + enhanced_block("<", 3, 0, b"lost")
    )

    frames, coverage = read_content(content)

    assert frames == [] and coverage.packets == 1
    assert "frame 1 at byte" in coverage.problems[0]
    assert "interface 3 was never described" in coverage.problems[0]


def _secrets_block(order: str, secrets_type: int, secrets: bytes) -> bytes:
    header = struct.pack(order + "II", secrets_type, len(secrets))
    return _block(order, 10, header + secrets)


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_hands_decryption_secrets_to_the_callback(order: str) -> None:
    key_log = b"CLIENT_RANDOM " + b"ab" * 32 + b" " + b"cd" * 48 + b"\n"
    content = section_block(order) + interface_block(order, 1)
    content += _secrets_block(order, 0x544C534B, key_log)
    content += enhanced_block(order, 0, 0, b"after the secrets")
    received: list[tuple[int, bytes, int]] = []
    seen: list[tuple[int, int, float, bytes]] = []
    coverage = Coverage()
    frames = read_frames(
        io.BytesIO(content),
        "traffic.pcapng",
        coverage,
        len(content),
        secrets=lambda kind, secrets: received.append((kind, secrets, len(seen))),
    )

    for frame in frames:
        seen.append(frame)

    assert received == [(0x544C534B, key_log, 0)]
    assert [frame for *_, frame in seen] == [b"after the secrets"]
    assert coverage.problems == [] and coverage.packets == 1


def test_pcapng_short_decryption_secrets_block_is_noted() -> None:
    content = section_block("<") + interface_block("<", 1)
    broken_at = len(content)
    content += _block("<", 10, struct.pack("<II", 0x544C534B, 400) + b"short")
    content += enhanced_block("<", 0, 0, b"still read")
    received: list[bytes] = []
    coverage = Coverage()

    frames = list(
        read_frames(
            io.BytesIO(content),
            "t.pcapng",
            coverage,
            len(content),
            secrets=lambda _kind, secrets: received.append(secrets),
        )
    )

    assert received == []
    assert [frame for *_, frame in frames] == [b"still read"]
    assert coverage.problems == [
        f"t.pcapng: decryption secrets block at byte {broken_at} is shorter than "
        "the secrets it announces; its secrets are not used"
    ]


def test_pcapng_without_callback_skips_decryption_secrets() -> None:
    content = section_block("<") + interface_block("<", 1)
    content += _secrets_block("<", 0x544C534B, b"CLIENT_RANDOM x y\n")
    content += enhanced_block("<", 0, 0, b"frame")

    frames, coverage = read_content(content)

    assert [frame for *_, frame in frames] == [b"frame"]
    assert coverage.problems == []
