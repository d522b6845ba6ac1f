"""Security Manager Protocol: which pairing method a phone and a toy used.

Only the Pairing Request (from the initiator, the central) and the Pairing
Response (from the responder) travel in the clear and say what matters: IO
capabilities, OOB flags and the AuthReq bits (Core spec Vol 3 Part H 3.5.1
and 3.5.2). The method follows from both (Vol 3 Part H 2.3.5.1). What comes
after (confirm values, keys) is not read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from toyaudit.ingest.records import BlePairing, Evidence, PairingMethod

logger = logging.getLogger(__name__)

PAIRING_REQUEST = 0x01
PAIRING_RESPONSE = 0x02

_JW = PairingMethod.JUST_WORKS
_PK = PairingMethod.PASSKEY
_NC = PairingMethod.NUMERIC_COMPARISON

# IO capabilities (Vol 3 Part H 3.5.1 table 3.4): 0 DisplayOnly,
# 1 DisplayYesNo, 2 KeyboardOnly, 3 NoInputNoOutput, 4 KeyboardDisplay.
# Rows are the initiator, columns the responder (Vol 3 Part H 2.3.5.1
# table 2.8). Where LE legacy and LE Secure Connections differ, the legacy
# table has passkey entry and the SC one numeric comparison.
_LEGACY_METHODS = (
    (_JW, _JW, _PK, _JW, _PK),
    (_JW, _JW, _PK, _JW, _PK),
    (_PK, _PK, _PK, _JW, _PK),
    (_JW, _JW, _JW, _JW, _JW),
    (_PK, _PK, _PK, _JW, _PK),
)
_SECURE_METHODS = (
    (_JW, _JW, _PK, _JW, _PK),
    (_JW, _NC, _PK, _JW, _NC),
    (_PK, _PK, _PK, _JW, _PK),
    (_JW, _JW, _JW, _JW, _JW),
    (_PK, _NC, _PK, _JW, _NC),
)

_AUTHENTICATED = (PairingMethod.PASSKEY, _NC, PairingMethod.OUT_OF_BAND)


@dataclass(frozen=True, slots=True)
class PairingFeatures:
    """One side's Pairing Request or Response (Vol 3 Part H 3.5.1, 3.5.2)."""

    io_capability: int
    oob: bool
    """OOB data flag: this side has the peer's out-of-band data."""
    bonding: bool
    """AuthReq bonding flags are 01 (Bonding)."""
    mitm: bool
    secure_connections: bool

    @classmethod
    def parse(cls, pdu: bytes) -> PairingFeatures | None:
        """Read the features of a Pairing Request or Response PDU, opcode first."""
        if len(pdu) < 7:
            return None
        auth_req = pdu[3]
        return cls(
            io_capability=pdu[1],
            oob=pdu[2] == 0x01,
            bonding=auth_req & 0x03 == 0x01,
            mitm=bool(auth_req & 0x04),
            secure_connections=bool(auth_req & 0x08),
        )


def pairing_method(
    initiator: PairingFeatures, responder: PairingFeatures
) -> tuple[PairingMethod, bool]:
    """The method two sides pair with, and whether it is LE Secure Connections."""
    # 1. LE Secure Connections only when both sides set the SC bit (2.3.5.1).
    secure = initiator.secure_connections and responder.secure_connections

    # 2. OOB: legacy needs both OOB flags, SC either one.
    if (initiator.oob and responder.oob) or (
        secure and (initiator.oob or responder.oob)
    ):
        return PairingMethod.OUT_OF_BAND, secure

    # 3. Neither side asks for MITM protection: Just Works.
    if not (initiator.mitm or responder.mitm):
        return _JW, secure

    # 4. Otherwise the IO capabilities decide; reserved values are unknown.
    if initiator.io_capability > 4 or responder.io_capability > 4:
        return PairingMethod.UNKNOWN, secure
    table = _SECURE_METHODS if secure else _LEGACY_METHODS
    return table[initiator.io_capability][responder.io_capability], secure


class PairingTracker:
    """Pairs up the Pairing Request and Response seen on one connection."""

    __slots__ = (
        "device",
        "request",
        "request_frames",
        "request_time",
        "unanswered_responses",
    )

    def __init__(self, device: str) -> None:
        self.device = device
        self.request: PairingFeatures | None = None
        self.request_frames: tuple[int, ...] = ()
        self.request_time: float | None = None
        self.unanswered_responses = 0
        """Pairing Responses seen without their request (method unknown)."""

    def pdu(self, pdu: bytes, evidence: Evidence) -> BlePairing | None:
        """Take one SMP PDU; return the pairing once both halves are seen."""
        if not pdu or pdu[0] not in (PAIRING_REQUEST, PAIRING_RESPONSE):
            return None
        features = PairingFeatures.parse(pdu)
        if features is None:
            logger.debug("%s: SMP pairing PDU too short", evidence.describe())
            return None
        if pdu[0] == PAIRING_REQUEST:
            self.request = features
            self.request_frames = evidence.packets
            self.request_time = evidence.time
            return None
        if self.request is None:
            self.unanswered_responses += 1
            return None
        method, secure = pairing_method(self.request, features)
        pairing = BlePairing(
            evidence=Evidence(
                evidence.file,
                self.request_frames + evidence.packets,
                time=self.request_time,
            ),
            device=self.device,
            method=method,
            secure_connections=secure,
            mitm_protection=method in _AUTHENTICATED,
            bonding=self.request.bonding and features.bonding,
        )
        self.request = None
        return pairing
