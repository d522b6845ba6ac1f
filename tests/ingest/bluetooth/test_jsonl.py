"""Tests of ble.jsonl, the BLE log toyaudit capture writes (docs/ble-jsonl.md)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.errors import IngestError
from toyaudit.ingest.bluetooth.jsonl import read_ble_jsonl
from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    Coverage,
    GattOperation,
)

SESSION = {"type": "session", "tool": "toyaudit", "format": 1}
ADVERT = {
    "type": "advertisement",
    "time": 1767225601.5,
    "address": "c0:ff:ee:12:34:56",
    "address_type": "random",
    "name": "ToyBear",
    "manufacturer_data": {"0x0059": "0102"},
    "service_data": {"ffe0": "aa"},
    "service_uuids": ["ffe0"],
    "rssi": -60,
    "connectable": True,
}
GATT = {
    "type": "gatt",
    "time": 1767225610.0,
    "device": "C0:FF:EE:12:34:56",
    "operation": "read",
    "handle": 11,
    "uuid": "0000ffe1-0000-1000-8000-00805f9b34fb",
    "value": "4368696c64",
    "error_code": None,
    "paired": False,
}


def _lines(*records: object) -> str:
    return "".join(
        (record if isinstance(record, str) else json.dumps(record)) + "\n"
        for record in records
    )


def test_jsonl_reads_advertisement_and_gatt(read_bytes: Any) -> None:
    content = _lines(SESSION, ADVERT, GATT).encode()

    (advert, read), coverage = read_bytes(content, name="ble.jsonl")

    assert isinstance(advert, BleAdvertisement)
    assert advert.address == "C0:FF:EE:12:34:56"
    assert advert.address_type == BleAddressType.RANDOM_STATIC
    assert advert.manufacturer_data == ((0x0059, b"\x01\x02"),)
    assert advert.service_data == (("0000ffe0-0000-1000-8000-00805f9b34fb", b"\xaa"),)
    assert advert.service_uuids == ("0000ffe0-0000-1000-8000-00805f9b34fb",)
    assert (advert.rssi, advert.connectable) == (-60, True)
    assert advert.evidence.packets == (2,) and advert.evidence.time == 1767225601.5
    assert isinstance(read, GattOperation)
    assert (read.operation, read.handle, read.value, read.from_central) == (
        "read",
        11,
        b"Child",
        False,
    )
    assert read.evidence.packets == (3,)
    assert coverage.files_read == ["ble.jsonl"] and coverage.problems == []


def test_jsonl_malformed_lines_are_noted_and_skipped(read_bytes: Any) -> None:
    content = _lines(
        SESSION,
        "{not json",
        {**GATT, "handle": "eleven"},
        {**ADVERT, "manufacturer_data": {"0x004c": "zz"}},
        [1, 2],
        {"type": "scan-summary"},
        {**GATT, "operation": "write", "error_code": 5},
    ).encode()

    (write,), coverage = read_bytes(content, name="ble.jsonl")

    assert write.evidence.packets == (7,) and write.from_central is True
    assert [note.split(":")[1].strip() for note in coverage.problems[:4]] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
    ]
    assert coverage.problems[4] == (
        "ble.jsonl: 1 lines of type 'scan-summary' are not read by this version"
    )


def test_jsonl_detected_by_content_under_another_name(read_bytes: Any) -> None:
    content = _lines(SESSION, ADVERT).encode()

    (advert,), _ = read_bytes(content, name="bluetooth.log")

    assert advert.name == "ToyBear"


def test_jsonl_without_session_line_is_read_with_a_note(read_bytes: Any) -> None:
    (advert,), coverage = read_bytes(_lines(ADVERT).encode(), name="ble.jsonl")

    assert advert.name == "ToyBear"
    assert "before any session line" in coverage.problems[0]


def test_jsonl_refuses_newer_format() -> None:
    content = _lines({**SESSION, "format": 2}).encode()

    with pytest.raises(IngestError) as raised:
        list(read_ble_jsonl(io.BytesIO(content), "ble.jsonl", Coverage()))

    assert raised.value.message.startswith("ble.jsonl:1: ble.jsonl format 2")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.dictionaries(
                st.sampled_from(sorted({*ADVERT, *GATT})),
                st.one_of(st.none(), st.integers(), st.text(max_size=8), st.booleans()),
                max_size=8,
            ).map(lambda record: json.dumps(record).encode()),
        ),
        max_size=10,
    )
)
def test_jsonl_fuzz_never_raises(lines: list[bytes]) -> None:
    content = json.dumps(SESSION).encode() + b"\n" + b"\n".join(lines)

    list(read_ble_jsonl(io.BytesIO(content), "ble.jsonl", Coverage()))
