"""Tests of the pcap/pcapng file reader: scapy writes, scapy is the oracle."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter, RawPcapReader, wrpcap

from toyaudit.errors import IngestError
from toyaudit.ingest.pcapfile import read_frames
from toyaudit.ingest.records import Coverage

PACKETS = [
    Ether() / IP(dst=f"10.0.0.{index}") / UDP(dport=53) / (b"x" * index)
    for index in range(1, 8)
]


def _read(content: bytes) -> tuple[list[tuple[int, int, float, bytes]], Coverage]:
    coverage = Coverage()
    frames = list(
        read_frames(io.BytesIO(content), "traffic.pcap", coverage, len(content))
    )
    return frames, coverage


@pytest.mark.parametrize(
    ("options", "magic"),
    [
        ({}, None),
        ({"nano": True}, b"\x4d\x3c\xb2\xa1"),
        ({"endianness": ">"}, b"\xa1\xb2\xc3\xd4"),
        ({"endianness": ">", "nano": True}, b"\xa1\xb2\x3c\x4d"),
    ],
)
def test_pcapfile_reads_every_pcap_variant_like_scapy(
    tmp_path: Path, options: dict[str, object], magic: bytes | None
) -> None:
    path = tmp_path / "traffic.pcap"
    for index, packet in enumerate(PACKETS):
        packet.time = 1700000000 + index + 0.25
    wrpcap(str(path), PACKETS, **options)
    content = path.read_bytes()
    if magic is not None:
        assert content[:4] == magic

    frames, coverage = _read(content)

    with RawPcapReader(str(path)) as oracle:
        expected = [bytes(raw) for raw, _meta in oracle]
    assert [frame for _n, _l, _t, frame in frames] == expected
    assert [number for number, *_ in frames] == list(range(1, 8))
    assert {linktype for _n, linktype, _t, _f in frames} == {1}
    assert frames[2][2] == pytest.approx(1700000002.25)
    assert coverage.packets == 7 and coverage.problems == []


def test_pcapfile_truncated_pcap_keeps_earlier_frames(tmp_path: Path) -> None:
    path = tmp_path / "traffic.pcap"
    wrpcap(str(path), PACKETS)
    content = path.read_bytes()[:-5]

    frames, coverage = _read(content)

    assert len(frames) == 6
    assert coverage.problems == [
        f"traffic.pcap: truncated at byte {len(content)} inside frame 7; "
        "frames after it are lost"
    ]


def test_pcapfile_refuses_garbage() -> None:
    with pytest.raises(IngestError, match="traffic.pcap: not a pcap or pcapng file"):
        _read(b"this is not a capture at all")
    with pytest.raises(IngestError, match="global header cut short"):
        _read(b"\xd4\xc3\xb2\xa1\x02\x00")


def test_pcapfile_reads_scapy_pcapng_like_scapy(tmp_path: Path) -> None:
    path = tmp_path / "traffic.pcapng"
    writer = PcapNgWriter(str(path))
    for packet in PACKETS:
        writer.write(packet)
    writer.close()

    frames, coverage = _read(path.read_bytes())

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


def _section(order: str) -> bytes:
    magic = struct.pack(order + "I", 0x1A2B3C4D)
    return _block(order, 0x0A0D0D0A, magic + struct.pack(order + "HHq", 1, 0, -1))


def _interface(order: str, linktype: int, tsresol: int | None = None) -> bytes:
    options = b""
    if tsresol is not None:
        options = (
            struct.pack(order + "HH", 9, 1) + bytes([tsresol, 0, 0, 0]) + b"\x00" * 4
        )
    return _block(order, 1, struct.pack(order + "HHI", linktype, 0, 0) + options)


def _enhanced(order: str, interface: int, stamp: int, frame: bytes) -> bytes:
    header = struct.pack(
        order + "IIIII",
        interface,
        stamp >> 32,
        stamp & 0xFFFFFFFF,
        len(frame),
        len(frame),
    )
    return _block(order, 6, header + frame)


def test_pcapfile_pcapng_two_sections_two_interfaces_both_byte_orders() -> None:
    first = _section("<") + _interface("<", 1) + _interface("<", 101, tsresol=9)
    first += _enhanced("<", 0, 1_500_000, b"ethernet")
    first += _block("<", 4, b"name resolution block, skipped")
    first += _enhanced("<", 1, 2_000_000_000, b"raw ip")
    second = _section(">") + _interface(">", 113)
    second += _block(">", 3, struct.pack(">I", 6) + b"simple")
    second += _enhanced(">", 0, 0, b"cooked")

    frames, coverage = _read(first + second)

    assert [(number, linktype, frame) for number, linktype, _t, frame in frames] == [
        (1, 1, b"ethernet"),
        (2, 101, b"raw ip"),
        (3, 113, b"simple"),
        (4, 113, b"cooked"),
    ]
    assert frames[0][2] == pytest.approx(1.5) and frames[1][2] == pytest.approx(2.0)
    assert coverage.problems == [] and coverage.packets == 4


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapfile_pcapng_adds_the_interface_timestamp_offset(order: str) -> None:
    # pcapng §4.2: if_tsresol (9) then if_tsoffset (14), seconds to add.
    options = struct.pack(order + "HH", 9, 1) + bytes([3, 0, 0, 0])
    options += struct.pack(order + "HHq", 14, 8, 1_764_000_000)
    options += struct.pack(order + "HH", 0, 0)
    interface = _block(order, 1, struct.pack(order + "HHI", 1, 0, 0) + options)
    content = _section(order) + interface + _enhanced(order, 0, 2_500, b"frame")

    [(_number, _linktype, stamp, _frame)], _ = _read(content)

    assert stamp == pytest.approx(1_764_000_002.5)


def test_pcapfile_pcapng_absurd_block_length_stops_with_note() -> None:
    content = _section("<") + _interface("<", 1) + _enhanced("<", 0, 0, b"kept")
    broken_at = len(content)
    content += struct.pack("<II", 6, 70 << 20) + b"\x00" * 64

    frames, coverage = _read(content)

    assert [frame for *_, frame in frames] == [b"kept"]
    assert coverage.problems == [
        f"traffic.pcap: block at byte {broken_at} claims an impossible length "
        f"{70 << 20}; frames after frame 1 are lost"
    ]


def test_pcapfile_pcapng_undescribed_interface_is_counted_and_noted() -> None:
    content = _section("<") + _interface("<", 1) + _enhanced("<", 3, 0, b"lost")

    frames, coverage = _read(content)

    assert frames == [] and coverage.packets == 1
    assert "frame 1 at byte" in coverage.problems[0]
    assert "interface 3 was never described" in coverage.problems[0]


def test_pcapfile_reports_progress_to_the_end() -> None:
    content = _section("<") + _interface("<", 1) + _enhanced("<", 0, 0, b"x" * 100)
    calls: list[tuple[str, int, int]] = []

    list(
        read_frames(
            io.BytesIO(content),
            "t.pcapng",
            Coverage(),
            len(content),
            lambda *call: calls.append(call),
        )
    )

    assert calls[-1] == ("t.pcapng", len(content), len(content))


def _pcap_sample(tmp_path: Path) -> bytes:
    path = tmp_path / "sample.pcap"
    wrpcap(str(path), PACKETS[:3])
    return path.read_bytes()


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_pcapfile_survives_mutated_captures(data: st.DataObject) -> None:
    pcapng = bytearray(
        _section("<")
        + _interface("<", 1)
        + _enhanced("<", 0, 5, b"a" * 30)
        + _enhanced("<", 0, 6, b"b")
    )
    pcap = bytearray(
        b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00"
        + b"\x00" * 8
        + b"\xff\xff\x00\x00\x01\x00\x00\x00"
    )
    pcap += struct.pack("<IIII", 1, 2, 4, 4) + b"abcd"
    content = data.draw(st.sampled_from([pcapng, pcap]))
    for _ in range(data.draw(st.integers(0, 5))):
        position = data.draw(st.integers(0, len(content) - 1))
        content[position] = data.draw(st.integers(0, 255))
    content = content[: data.draw(st.integers(0, len(content)))] + data.draw(
        st.binary(max_size=40)
    )

    try:
        frames, coverage = _read(bytes(content))
    except IngestError as error:
        assert error.message.startswith("traffic.pcap: ")
        return
    assert coverage.packets >= len(frames)
    assert all(number >= 1 for number, *_ in frames)


def _secrets_block(order: str, secrets_type: int, secrets: bytes) -> bytes:
    header = struct.pack(order + "II", secrets_type, len(secrets))
    return _block(order, 10, header + secrets)


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapfile_pcapng_hands_decryption_secrets_to_the_callback(order: str) -> None:
    key_log = b"CLIENT_RANDOM " + b"ab" * 32 + b" " + b"cd" * 48 + b"\n"
    content = _section(order) + _interface(order, 1)
    content += _secrets_block(order, 0x544C534B, key_log)
    content += _enhanced(order, 0, 0, b"after the secrets")
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


def test_pcapfile_pcapng_short_decryption_secrets_block_is_noted() -> None:
    content = _section("<") + _interface("<", 1)
    broken_at = len(content)
    content += _block("<", 10, struct.pack("<II", 0x544C534B, 400) + b"short")
    content += _enhanced("<", 0, 0, b"still read")
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


def test_pcapfile_pcapng_without_callback_skips_decryption_secrets() -> None:
    content = _section("<") + _interface("<", 1)
    content += _secrets_block("<", 0x544C534B, b"CLIENT_RANDOM x y\n")
    content += _enhanced("<", 0, 0, b"frame")

    frames, coverage = _read(content)

    assert [frame for *_, frame in frames] == [b"frame"]
    assert coverage.problems == []
