"""Tests of address and UUID forms."""

from __future__ import annotations

import pytest

from toyaudit.ingest.bluetooth.identifiers import (
    address_type,
    format_address,
    hci_address_type,
    uuid_from_bytes,
    uuid_from_text,
)
from toyaudit.ingest.records import BleAddressType


def test_identifiers_format_address_reverses_air_order() -> None:
    assert format_address(bytes.fromhex("563412eeffc0")) == "C0:FF:EE:12:34:56"


@pytest.mark.parametrize(
    ("top", "kind"),
    [
        (0xC0, BleAddressType.RANDOM_STATIC),
        (0x40, BleAddressType.RESOLVABLE_PRIVATE),
        (0x00, BleAddressType.NON_RESOLVABLE_PRIVATE),
        (0x80, BleAddressType.UNKNOWN),
    ],
)
def test_identifiers_random_subtype_from_top_bits(
    top: int, kind: BleAddressType
) -> None:
    raw = bytes([1, 2, 3, 4, 5, top | 0x15])

    assert address_type(True, raw) == kind
    assert address_type(False, raw) == BleAddressType.PUBLIC
    assert hci_address_type(1, raw) == kind


def test_identifiers_hci_identity_types() -> None:
    raw = bytes(6)

    assert hci_address_type(0, raw) == BleAddressType.PUBLIC
    assert hci_address_type(2, raw) == BleAddressType.PUBLIC
    assert hci_address_type(3, raw) == BleAddressType.RANDOM_STATIC
    assert hci_address_type(0xFF, raw) == BleAddressType.UNKNOWN


def test_identifiers_uuid_expansion() -> None:
    base = "-0000-1000-8000-00805f9b34fb"

    assert uuid_from_bytes(b"\xe0\xff") == "0000ffe0" + base
    assert uuid_from_bytes(b"\x78\x56\x34\x12") == "12345678" + base
    assert uuid_from_bytes(bytes(range(16))) == "0f0e0d0c-0b0a-0908-0706-050403020100"
    assert uuid_from_bytes(b"\x01\x02\x03") is None


def test_identifiers_uuid_from_text_forms() -> None:
    full = "0000ffe1-0000-1000-8000-00805f9b34fb"

    assert uuid_from_text("ffe1") == full
    assert uuid_from_text("0xFFE1") == full
    assert uuid_from_text(full.upper()) == full
    assert uuid_from_text("not-a-uuid") is None
    assert uuid_from_text("") is None
