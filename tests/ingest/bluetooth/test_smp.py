"""Tests of the pairing method decision (Core Vol 3 Part H 2.3.5.1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.bluetooth import SM_Hdr, SM_Pairing_Request, SM_Pairing_Response

from toyaudit.ingest.bluetooth.smp import PairingTracker
from toyaudit.ingest.records import Evidence, PairingMethod

DISPLAY_ONLY, DISPLAY_YES_NO, KEYBOARD_ONLY, NO_IO, KEYBOARD_DISPLAY = range(5)
BONDING, MITM, SC = 0x01, 0x04, 0x08


def _pair(
    request: tuple[int, int, int], response: tuple[int, int, int]
) -> tuple[PairingMethod, bool, bool, bool]:
    """Run (io, oob, authentication) of both sides through a tracker."""
    tracker = PairingTracker("toy")
    io, oob, auth = request
    built = SM_Hdr() / SM_Pairing_Request(iocap=io, oob=oob, authentication=auth)
    assert tracker.pdu(bytes(built), Evidence("f", (1,))) is None
    io, oob, auth = response
    built = SM_Hdr() / SM_Pairing_Response(iocap=io, oob=oob, authentication=auth)
    pairing = tracker.pdu(bytes(built), Evidence("f", (2,)))
    assert pairing is not None
    assert pairing.evidence.packets == (1, 2)
    return (
        pairing.method,
        pairing.secure_connections,
        pairing.mitm_protection,
        pairing.bonding,
    )


def test_smp_no_mitm_is_just_works_legacy() -> None:
    result = _pair((KEYBOARD_DISPLAY, 0, BONDING), (NO_IO, 0, BONDING))

    assert result == (PairingMethod.JUST_WORKS, False, False, True)


def test_smp_legacy_passkey_when_initiator_asks_sc_but_responder_does_not() -> None:
    result = _pair(
        (KEYBOARD_DISPLAY, 0, BONDING | MITM | SC), (DISPLAY_ONLY, 0, BONDING | MITM)
    )

    assert result == (PairingMethod.PASSKEY, False, True, True)


def test_smp_secure_connections_numeric_comparison() -> None:
    result = _pair(
        (DISPLAY_YES_NO, 0, MITM | SC), (KEYBOARD_DISPLAY, 0, BONDING | MITM | SC)
    )

    assert result == (PairingMethod.NUMERIC_COMPARISON, True, True, False)


def test_smp_same_capabilities_legacy_is_just_works() -> None:
    result = _pair((DISPLAY_YES_NO, 0, MITM), (DISPLAY_YES_NO, 0, MITM))

    assert result[0] == PairingMethod.JUST_WORKS


def test_smp_no_input_output_toy_is_just_works_even_with_mitm_and_sc() -> None:
    result = _pair((KEYBOARD_DISPLAY, 0, MITM | SC), (NO_IO, 0, MITM | SC))

    assert result[:3] == (PairingMethod.JUST_WORKS, True, False)


@pytest.mark.parametrize(
    ("request_oob", "response_oob", "auth", "method"),
    [
        (1, 1, 0, PairingMethod.OUT_OF_BAND),
        (1, 0, 0, PairingMethod.JUST_WORKS),
        (1, 0, SC, PairingMethod.OUT_OF_BAND),
    ],
)
def test_smp_out_of_band_rules(
    request_oob: int, response_oob: int, auth: int, method: PairingMethod
) -> None:
    result = _pair((NO_IO, request_oob, auth), (NO_IO, response_oob, auth))

    assert result[0] == method


def test_smp_reserved_io_capability_is_unknown() -> None:
    assert _pair((7, 0, MITM), (NO_IO, 0, 0))[0] == PairingMethod.UNKNOWN


def test_smp_response_without_request_is_counted() -> None:
    tracker = PairingTracker("toy")
    response = bytes(SM_Hdr() / SM_Pairing_Response())

    assert tracker.pdu(response, Evidence("f", (1,))) is None
    assert tracker.unanswered_responses == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=12), max_size=6))
def test_smp_fuzz_never_raises(pdus: list[bytes]) -> None:
    tracker = PairingTracker("toy")
    for number, pdu in enumerate(pdus, start=1):
        tracker.pdu(pdu, Evidence("f", (number,)))
