"""Advertising data: the AD structures inside advertisements and scan responses.

Advertising data is a run of structures, each a length byte, a type byte and
``length - 1`` bytes of value (Core spec Vol 3 Part C 11, types in the Core
Specification Supplement Part A). A zero length ends the data early; a
structure that claims more bytes than remain is cut and ends the parse, the
structures before it are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from toyaudit.ingest.bluetooth.identifiers import uuid_from_bytes
from toyaudit.ingest.records import BleAddressType, BleAdvertisement, Evidence

logger = logging.getLogger(__name__)

_FLAGS = 0x01
_UUID_LISTS = {0x02: 2, 0x03: 2, 0x04: 4, 0x05: 4, 0x06: 16, 0x07: 16}
"""AD type → UUID width in bytes (Supplement Part A 1.1: incomplete, complete)."""
_SHORT_NAME = 0x08
_COMPLETE_NAME = 0x09
_TX_POWER = 0x0A
_SERVICE_DATA = {0x16: 2, 0x20: 4, 0x21: 16}
"""AD type → width of the UUID that starts the service data (Supplement A 1.11)."""
_MANUFACTURER_DATA = 0xFF


@dataclass(slots=True)
class AdFields:
    """What the AD structures of one advertisement say, in parse order."""

    flags: int | None = None
    short_name: str | None = None
    complete_name: str | None = None
    tx_power: int | None = None
    service_uuids: list[str] = field(default_factory=list)
    service_data: list[tuple[str, bytes]] = field(default_factory=list)
    manufacturer_data: list[tuple[int, bytes]] = field(default_factory=list)
    truncated: bool = False
    """True when a structure ran past the end of the data."""

    @property
    def name(self) -> str | None:
        """The complete local name, or the shortened one when that is all."""
        return self.complete_name if self.complete_name is not None else self.short_name


def parse_ad_structures(payload: bytes) -> AdFields:
    """Parse the AD structures of advertising or scan response data."""
    fields = AdFields()
    position = 0
    while position < len(payload):
        length = payload[position]
        if length == 0:
            break
        end = position + 1 + length
        if end > len(payload):
            fields.truncated = True
            break
        _read_structure(fields, payload[position + 1], payload[position + 2 : end])
        position = end
    return fields


def _read_structure(fields: AdFields, ad_type: int, value: bytes) -> None:
    """Store one AD structure's value in ``fields``."""
    if ad_type in _UUID_LISTS:
        width = _UUID_LISTS[ad_type]
        for start in range(0, len(value) - width + 1, width):
            uuid = uuid_from_bytes(value[start : start + width])
            if uuid is not None and uuid not in fields.service_uuids:
                fields.service_uuids.append(uuid)
    elif ad_type in _SERVICE_DATA:
        width = _SERVICE_DATA[ad_type]
        uuid = uuid_from_bytes(value[:width])
        if uuid is not None and len(value) >= width:
            fields.service_data.append((uuid, value[width:]))
    elif ad_type == _MANUFACTURER_DATA and len(value) >= 2:
        # The company identifier is the first two octets, little-endian
        # (Supplement Part A 1.4).
        company = int.from_bytes(value[:2], "little")
        fields.manufacturer_data.append((company, value[2:]))
    elif ad_type in (_SHORT_NAME, _COMPLETE_NAME):
        name = value.decode("utf-8", errors="replace")
        if ad_type == _COMPLETE_NAME:
            fields.complete_name = name
        else:
            fields.short_name = name
    elif ad_type == _FLAGS and value:
        fields.flags = value[0]
    elif ad_type == _TX_POWER and len(value) == 1:
        fields.tx_power = int.from_bytes(value, "little", signed=True)


def advertisement(
    evidence: Evidence,
    address: str,
    kind: BleAddressType,
    payload: bytes,
    connectable: bool | None,
    rssi: int | None,
) -> BleAdvertisement:
    """Build the record of one advertisement from its advertising data."""
    fields = parse_ad_structures(payload)
    if fields.truncated:
        logger.debug("%s: AD structure cut short", evidence.describe())
    return BleAdvertisement(
        evidence=evidence,
        address=address,
        address_type=kind,
        name=fields.name,
        manufacturer_data=tuple(fields.manufacturer_data),
        service_data=tuple(fields.service_data),
        service_uuids=tuple(fields.service_uuids),
        connectable=connectable,
        rssi=rssi,
    )
