"""Tests of L2CAP reassembly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.ingest.bluetooth.l2cap import MAX_KEPT, MAX_OPEN, Reassembler


def test_l2cap_joins_start_and_continuations() -> None:
    reassembler = Reassembler()
    frame = b"\x0a\x00\x04\x00" + bytes(range(10))

    assert reassembler.start("k", frame[:6], 1) is None
    assert reassembler.continuation("k", frame[6:9], 2) is None
    whole = reassembler.continuation("k", frame[9:], 3)

    assert whole is not None
    assert (whole.channel, whole.payload, whole.frames) == (
        4,
        bytes(range(10)),
        (1, 2, 3),
    )


def test_l2cap_keeps_directions_apart() -> None:
    reassembler = Reassembler()
    reassembler.start(("c", True), b"\x04\x00\x04\x00ab", 1)
    reassembler.start(("c", False), b"\x02\x00\x06\x00x", 2)

    toy = reassembler.continuation(("c", False), b"y", 3)
    phone = reassembler.continuation(("c", True), b"cd", 4)

    assert toy is not None and toy.payload == b"xy"
    assert phone is not None and phone.payload == b"abcd"


def test_l2cap_counts_orphans_and_cut_frames() -> None:
    reassembler = Reassembler()

    assert reassembler.continuation("k", b"lost", 1) is None
    reassembler.start("k", b"\x08\x00\x04\x00ab", 2)
    restarted = reassembler.start("k", b"\x01\x00\x04\x00z", 3)

    assert restarted is not None and restarted.payload == b"z"
    assert (reassembler.orphans, reassembler.cut, reassembler.first_loss) == (1, 1, 1)


def test_l2cap_bounds_memory() -> None:
    reassembler = Reassembler()
    for key in range(MAX_OPEN + 10):
        reassembler.start(key, b"\xff\xff\x04\x00" + bytes(MAX_KEPT), key)

    assert len(reassembler.open) <= MAX_OPEN
    assert all(
        len(partial.payload) <= MAX_KEPT for partial in reassembler.open.values()
    )


def test_l2cap_other_channels_are_counted_not_kept() -> None:
    reassembler = Reassembler()

    whole = reassembler.start("k", b"\x03\x00\x40\x00abc", 1)

    assert whole is not None and whole.channel == 0x40 and whole.payload == b""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=40)), max_size=20))
def test_l2cap_fuzz_never_raises(fragments: list[tuple[bool, bytes]]) -> None:
    reassembler = Reassembler()
    for number, (start, fragment) in enumerate(fragments, start=1):
        if start:
            reassembler.start("k", fragment, number)
        else:
            reassembler.continuation("k", fragment, number)
