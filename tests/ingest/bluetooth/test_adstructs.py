"""Tests of AD structure parsing, with scapy's EIR layers as the oracle."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.bluetooth import (
    EIR_CompleteList16BitServiceUUIDs,
    EIR_CompleteList128BitServiceUUIDs,
    EIR_CompleteLocalName,
    EIR_Flags,
    EIR_Hdr,
    EIR_Manufacturer_Specific_Data,
    EIR_ServiceData16BitUUID,
    EIR_ShortenedLocalName,
    EIR_TX_Power_Level,
)

from toyaudit.ingest.bluetooth.adstructs import parse_ad_structures

BASE = "-0000-1000-8000-00805f9b34fb"


def _ad(*elements: object) -> bytes:
    return b"".join(bytes(EIR_Hdr() / element) for element in elements)


def test_adstructs_reads_every_field_scapy_wrote() -> None:
    payload = _ad(
        EIR_Flags(flags=0x06),
        EIR_CompleteLocalName(local_name=b"ToyBear"),
        EIR_CompleteList16BitServiceUUIDs(svc_uuids=[0xFFE0, 0x180F]),
        EIR_CompleteList128BitServiceUUIDs(
            svc_uuids=["00001530-1212-efde-1523-785feabcd123"]
        ),
        EIR_ServiceData16BitUUID(svc_uuid=0xFE59) / b"\x01\x02",
        EIR_Manufacturer_Specific_Data(company_identifier=0x004C) / b"\xaa\xbb",
        EIR_TX_Power_Level(level=-4),
    )

    fields = parse_ad_structures(payload)

    assert fields.flags == 0x06
    assert fields.name == "ToyBear"
    assert fields.service_uuids == [
        "0000ffe0" + BASE,
        "0000180f" + BASE,
        "00001530-1212-efde-1523-785feabcd123",
    ]
    assert fields.service_data == [("0000fe59" + BASE, b"\x01\x02")]
    assert fields.manufacturer_data == [(0x004C, b"\xaa\xbb")]
    assert fields.tx_power == -4
    assert not fields.truncated


def test_adstructs_complete_name_wins_over_shortened() -> None:
    fields = parse_ad_structures(
        _ad(
            EIR_ShortenedLocalName(local_name=b"Toy"),
            EIR_CompleteLocalName(local_name=b"Toy Bear"),
        )
    )

    assert fields.name == "Toy Bear"
    assert parse_ad_structures(_ad(EIR_ShortenedLocalName(local_name=b"T"))).name == "T"


def test_adstructs_cut_structure_keeps_earlier_ones() -> None:
    payload = _ad(EIR_CompleteLocalName(local_name=b"Bear")) + b"\x09\xff\x4c"

    fields = parse_ad_structures(payload)

    assert fields.name == "Bear"
    assert fields.truncated
    assert fields.manufacturer_data == []


def test_adstructs_zero_length_ends_the_data() -> None:
    payload = _ad(EIR_CompleteLocalName(local_name=b"Bear")) + b"\x00\x05\x09abcd"

    assert parse_ad_structures(payload).name == "Bear"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_adstructs_fuzz_never_raises(payload: bytes) -> None:
    fields = parse_ad_structures(payload)

    assert all(len(uuid) == 36 for uuid in fields.service_uuids)
