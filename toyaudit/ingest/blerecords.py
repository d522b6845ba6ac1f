"""The observation records of Bluetooth LE traffic.

Readers of btsnoop logs, HCI and link-layer captures, nRF Sniffer files and
the capture's own ``ble.jsonl`` (:mod:`toyaudit.ingest.bluetooth`) yield
these; :mod:`.records` gathers them with the network records into
:data:`~toyaudit.ingest.records.Observation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from toyaudit.ingest.evidence import Evidence


class BleAddressType(StrEnum):
    """Kinds of Bluetooth LE device address (Core spec Vol 6 Part B 1.3)."""

    PUBLIC = "public"
    RANDOM_STATIC = "random static"
    RESOLVABLE_PRIVATE = "resolvable private"
    NON_RESOLVABLE_PRIVATE = "non-resolvable private"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BleAdvertisement:
    """A Bluetooth LE advertisement (or scan response) broadcast by a device."""

    evidence: Evidence
    address: str
    """Advertiser address, upper-case colon form."""
    address_type: BleAddressType
    name: str | None = None
    manufacturer_data: tuple[tuple[int, bytes], ...] = ()
    """(company identifier, data) pairs."""
    service_data: tuple[tuple[str, bytes], ...] = ()
    """(service UUID, data) pairs."""
    service_uuids: tuple[str, ...] = ()
    """Service UUIDs, 128-bit lower-case string form."""
    connectable: bool | None = None
    rssi: int | None = None


@dataclass(frozen=True, slots=True)
class GattOperation:
    """One ATT operation on a characteristic: a read, write or notification."""

    evidence: Evidence
    device: str
    """Address of the peripheral (the toy), or a connection label if unknown."""
    operation: str
    """``read``, ``write``, ``write-command``, ``notify``, ``indicate`` or ``error``."""
    handle: int
    from_central: bool
    """True when the phone (central) sent it, False when the toy did."""
    uuid: str | None = None
    """Characteristic UUID, when the capture showed the discovery that maps it."""
    value: bytes = b""
    error_code: int | None = None
    """ATT error code for ``error`` (0x05 authentication, 0x0F encryption...)."""
    encrypted_link: bool = False
    """True when the link was encrypted at the time."""


class PairingMethod(StrEnum):
    """How two BLE devices authenticated when they paired."""

    JUST_WORKS = "just works"
    PASSKEY = "passkey entry"
    NUMERIC_COMPARISON = "numeric comparison"
    OUT_OF_BAND = "out of band"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BlePairing:
    """An SMP pairing exchange between the phone and the toy."""

    evidence: Evidence
    device: str
    method: PairingMethod
    secure_connections: bool
    """True for LE Secure Connections, False for LE legacy pairing."""
    mitm_protection: bool
    bonding: bool


@dataclass(frozen=True, slots=True)
class BleEncryption:
    """The start of link-layer encryption on a BLE connection."""

    evidence: Evidence
    device: str
