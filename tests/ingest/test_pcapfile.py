"""Tests of the pcap reader and of telling pcap from pcapng: scapy is the oracle.

What only pcapng files have (sections, interfaces, secrets) is tested in
:mod:`tests.ingest.test_pcapng`, whose block builders these tests share.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.utils import RawPcapReader, wrpcap

from tests.ingest.test_pcapng import (
    PACKETS,
    enhanced_block,
    interface_block,
    read_content,
    section_block,
)
from toyaudit.errors import IngestError
from toyaudit.ingest.pcapfile import read_frames
from toyaudit.ingest.records import Coverage


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

    frames, coverage = read_content(content)

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

    frames, coverage = read_content(content)

    assert len(frames) == 6
    assert coverage.problems == [
        f"traffic.pcap: truncated at byte {len(content)} inside frame 7; "
        "frames after it are lost"
    ]


def test_pcapfile_refuses_garbage() -> None:
    with pytest.raises(IngestError, match="traffic.pcap: not a pcap or pcapng file"):
        read_content(b"this is not a capture at all")
    with pytest.raises(IngestError, match="global header cut short"):
        read_content(b"\xd4\xc3\xb2\xa1\x02\x00")


def _pcap_sample(tmp_path: Path) -> bytes:
    path = tmp_path / "sample.pcap"
    wrpcap(str(path), PACKETS[:3])
    return path.read_bytes()


def _pcapng_sample(_tmp_path: Path) -> bytes:
    return (
        section_block("<")
        + interface_block("<", 1)
        + enhanced_block("<", 0, 0, b"x" * 100)
    )


@pytest.mark.parametrize("sample", [_pcap_sample, _pcapng_sample])
def test_pcapfile_reports_progress_to_the_end(
    tmp_path: Path, sample: Callable[[Path], bytes]
) -> None:
    content = sample(tmp_path)
    calls: list[tuple[str, int, int]] = []

    frames = list(
        read_frames(
            io.BytesIO(content),
            "t.capture",
            Coverage(),
            len(content),
            lambda *call: calls.append(call),
        )
    )

    assert frames
    assert calls[-1] == ("t.capture", len(content), len(content))
    done = [call[1] for call in calls]
    assert done == sorted(done) and all(0 <= value <= len(content) for value in done)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_pcapfile_survives_mutated_captures(data: st.DataObject) -> None:
    pcapng = bytearray(
        section_block("<")
        + interface_block("<", 1)
        + enhanced_block("<", 0, 5, b"a" * 30)
        + enhanced_block("<", 0, 6, b"b")
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
        frames, coverage = read_content(bytes(content))
    except IngestError as error:
        assert error.message.startswith("traffic.pcap: ")
        return
    assert coverage.packets >= len(frames)
    assert all(number >= 1 for number, *_ in frames)
