"""Bluetooth addresses and UUIDs in the forms the observation records use.

Addresses travel least significant byte first on the air and over HCI; the
records show them the way people read them, most significant byte first,
upper-case, colon-separated. UUIDs shorter than 128 bits are expanded onto the
Bluetooth Base UUID (Core spec Vol 3 Part B 2.5.1).
"""

from __future__ import annotations

from toyaudit.ingest.records import BleAddressType

BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"
"""The Bluetooth Base UUID after its first 32 bits (Core Vol 3 Part B 2.5.1)."""

_RANDOM_SUBTYPES = {
    0b11: BleAddressType.RANDOM_STATIC,
    0b01: BleAddressType.RESOLVABLE_PRIVATE,
    0b00: BleAddressType.NON_RESOLVABLE_PRIVATE,
}
"""Top two bits of a random address → its kind (Core Vol 6 Part B 1.3.2)."""


def format_address(raw: bytes) -> str:
    """Render a 6-byte little-endian device address as ``AA:BB:CC:DD:EE:FF``."""
    return ":".join(f"{byte:02X}" for byte in reversed(raw[:6]))


def address_type(random: bool, raw: bytes) -> BleAddressType:
    """The kind of a device address, given the TxAdd/address-type bit.

    A random address says what it is in the two most significant bits of its
    most significant byte, which is the last byte on the air.
    """
    if not random:
        return BleAddressType.PUBLIC
    if len(raw) < 6:
        return BleAddressType.UNKNOWN
    return _RANDOM_SUBTYPES.get(raw[5] >> 6, BleAddressType.UNKNOWN)


def hci_address_type(code: int, raw: bytes) -> BleAddressType:
    """The kind of an address from an HCI address-type code (Vol 4 Part E 7.7.65.2).

    Codes 2 and 3 are identity addresses the controller resolved from a
    resolvable private address; the record names the identity address, so
    they map to public and static random.
    """
    if code == 0:
        return BleAddressType.PUBLIC
    if code == 1:
        return address_type(True, raw)
    if code == 2:
        return BleAddressType.PUBLIC
    if code == 3:
        return BleAddressType.RANDOM_STATIC
    return BleAddressType.UNKNOWN


def uuid_from_bytes(raw: bytes) -> str | None:
    """Expand a little-endian 16-, 32- or 128-bit UUID to its 128-bit string form.

    Returns None for any other length.
    """
    if len(raw) in (2, 4):
        return f"{int.from_bytes(raw, 'little'):08x}{BASE_UUID_SUFFIX}"
    if len(raw) == 16:
        text = raw[::-1].hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return None


def uuid_from_text(text: str) -> str | None:
    """Normalise a UUID written as 4 or 8 hex digits, or in full, to 128-bit form.

    Accepts an optional ``0x`` prefix; returns None when ``text`` is not a UUID.
    """
    cleaned = text.strip().lower().removeprefix("0x")
    digits = cleaned.replace("-", "")
    if not digits or any(char not in "0123456789abcdef" for char in digits):
        return None
    if len(digits) in (4, 8) and "-" not in cleaned:
        return f"{int(digits, 16):08x}{BASE_UUID_SUFFIX}"
    if len(digits) == 32:
        return (
            f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
        )
    return None
