"""Tests of the per-file Bluetooth decoder across every link type."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.ingest.bluetooth import BLUETOOTH_LINKTYPES, BluetoothDecoder


def test_decoder_notes_unsupported_variants(read_frames: Any) -> None:
    ppi_with_wifi = bytes([0, 0, 8, 0]) + (105).to_bytes(4, "little") + bytes(30)

    observations, coverage = read_frames([ppi_with_wifi], 192)

    assert observations == []
    assert coverage.problems == [
        "ble.pcap: 1 Bluetooth frames of link type 192 skipped (unsupported "
        "variant), the first at frame 1"
    ]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(BLUETOOTH_LINKTYPES)), st.binary(max_size=80)),
        max_size=15,
    )
)
def test_decoder_fuzz_never_raises(frames: list[tuple[int, bytes]]) -> None:
    decoder = BluetoothDecoder("fuzz.pcap")
    for number, (linktype, frame) in enumerate(frames, start=1):
        list(decoder.frame(number, linktype, 0.0, frame))
    decoder.finish()
