"""Bluetooth LE checks: open characteristics, weak pairing, a trackable address.

* A characteristic read, or written without refusal, over a link that was
  not encrypted can be read or written by anyone in radio range: the toy
  asked for no pairing first (ETSI EN 303 645 provisions 5.5-4 and 5.6-1,
  and the "My Friend Cayla" precedent). The decoders mark each operation
  with whether its link was encrypted at the time, so an operation on an
  unencrypted link is one made before any pairing or encryption of that
  connection. A read response carries the value, so a read succeeded. A
  write request is answered with an Error Response when refused (Core spec
  Vol 3 Part F 3.4.1.1), so a write counts unless an error for the same
  characteristic of the same device was seen on an unencrypted link; a
  write command gets no answer at all, so whether the toy accepted one
  cannot be seen, and write commands are not counted.
* Just Works pairing authenticates nobody (Core spec Vol 3 Part H 2.3.5.1),
  and LE legacy pairing can be cracked by anyone who recorded it, since its
  key exchange is not Diffie-Hellman (Vol 3 Part H 2.3.5.2); LE Secure
  Connections with a passkey or numeric comparison is the good case.
* A public or random static address never changes, so a scanner can
  recognise the toy, and the child carrying it, wherever it goes; a
  resolvable private address changes every few minutes (Vol 6 Part B
  1.3.2). Scans see every nearby device, so only devices the capture also
  connected to, or whose advertisement carried personal data, are reported.
"""

from __future__ import annotations

from toyaudit.assess.checks.base import Observed, SecurityCheck, listing, times
from toyaudit.assess.checks.rule import CheckRule, Parameters
from toyaudit.assess.tally import IF_CONFIRMED, CheckTally, FailureTally
from toyaudit.ingest.bluetooth.identifiers import uuid_from_text
from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    BleEncryption,
    BlePairing,
    GattOperation,
    PairingMethod,
)

_WRITES = "write"
_READS = "read"


class CharacteristicAccessCheck(SecurityCheck):
    """Characteristics read (``read``) or written (``write``) without encryption.

    Parameter ``ignored_characteristics``: UUIDs (4-hex short form or full)
    of characteristics every device exposes openly by design, such as the
    GAP device name, which are not reported.
    """

    kinds = (GattOperation,)

    def __init__(self, rule: CheckRule, operation: str) -> None:
        super().__init__(rule)
        parameters = Parameters(rule)
        example = "ignored_characteristics: ['2a00', '2a01']"
        ignored = set()
        for text in parameters.texts("ignored_characteristics", example):
            uuid = uuid_from_text(text)
            if uuid is None:
                parameters.fail(
                    "ignored_characteristics",
                    f"has {text!r}, which is not a UUID",
                    f"write e.g. {example}",
                )
            ignored.add(uuid)
        self.ignored = frozenset(ignored)
        self.operation = operation

    def observe(self, observed: Observed, tally: CheckTally) -> None:
        """Record an unencrypted read or write; an error cancels the write."""
        operation = observed.observation
        if not isinstance(operation, GattOperation) or operation.encrypted_link:
            return
        if operation.uuid in self.ignored:
            return
        condition = "" if self.operation == _READS else f"0x{operation.handle:04x}"
        key = (self.id, operation.device, condition)
        if operation.operation == "error" and self.operation == _WRITES:
            tally.cancel(key)
        elif operation.operation == self.operation and (
            self.operation == _READS or operation.from_central
        ):
            detail = _characteristic(operation)
            tally.fail(key, operation.evidence, observed.order, [detail])

    def explain(self, failure: FailureTally) -> str:
        """Which characteristics."""
        if self.operation == _READS:
            done = "read"
        else:
            done = "written to (and the toy did not refuse)"
        return f"Without pairing or encryption, the capture {done} {listing(failure)}."


def _characteristic(operation: GattOperation) -> str:
    if operation.uuid is None:
        return f"the characteristic at handle 0x{operation.handle:04x}"
    return f"characteristic {operation.uuid} (handle 0x{operation.handle:04x})"


class JustWorksPairingCheck(SecurityCheck):
    """Pairings by one of the ``methods`` that authenticate nobody.

    Parameter ``methods``: pairing methods to report, from ``just works``,
    ``passkey entry``, ``numeric comparison``, ``out of band``, ``unknown``.
    """

    kinds = (BlePairing,)

    def __init__(self, rule: CheckRule) -> None:
        super().__init__(rule)
        parameters = Parameters(rule)
        choices = [method.value for method in PairingMethod]
        self.methods = frozenset(
            PairingMethod(method)
            for method in parameters.texts("methods", "methods: [just works]", choices)
        )

    def observe(self, observed: Observed, tally: CheckTally) -> None:
        """Record a pairing by a listed method."""
        pairing = observed.observation
        if isinstance(pairing, BlePairing) and pairing.method in self.methods:
            key = (self.id, pairing.device, "")
            tally.fail(key, pairing.evidence, observed.order, [_pairing(pairing)])

    def explain(self, failure: FailureTally) -> str:
        """Which pairings."""
        return (
            f"The toy paired without anyone confirming it: {listing(failure)}. "
            "Anyone nearby could have paired instead."
        )


class LegacyPairingCheck(SecurityCheck):
    """Pairings that used LE legacy pairing rather than LE Secure Connections."""

    kinds = (BlePairing,)

    def observe(self, observed: Observed, tally: CheckTally) -> None:
        """Record a legacy pairing."""
        pairing = observed.observation
        if isinstance(pairing, BlePairing) and not pairing.secure_connections:
            key = (self.id, pairing.device, "")
            tally.fail(key, pairing.evidence, observed.order, [_pairing(pairing)])

    def explain(self, failure: FailureTally) -> str:
        """Which pairings."""
        return (
            f"The toy paired with LE legacy pairing ({listing(failure)}): anyone "
            "who recorded the pairing can work out the key and read the link."
        )


def _pairing(pairing: BlePairing) -> str:
    kind = "LE Secure Connections" if pairing.secure_connections else "LE legacy"
    return f"{pairing.method.value}, {kind}"


class TrackableAddressCheck(SecurityCheck):
    """Advertisements from an address that never changes.

    Parameter ``address_types``: the address types to report, from
    ``public``, ``random static``, ``resolvable private``,
    ``non-resolvable private``, ``unknown``.
    """

    kinds = (BleAdvertisement, GattOperation, BlePairing, BleEncryption)

    def __init__(self, rule: CheckRule) -> None:
        super().__init__(rule)
        parameters = Parameters(rule)
        choices = [kind.value for kind in BleAddressType]
        example = "address_types: [public, random static]"
        self.address_types = frozenset(
            BleAddressType(kind)
            for kind in parameters.texts("address_types", example, choices)
        )

    def observe(self, observed: Observed, tally: CheckTally) -> None:
        """Record a fixed address; a connection or personal data confirms the toy."""
        observation = observed.observation
        if not isinstance(observation, BleAdvertisement):
            tally.confirm(self.id, observed.host)
            return
        if observed.matches:
            tally.confirm(self.id, observation.address)
        if observation.address_type in self.address_types:
            key = (self.id, observation.address, IF_CONFIRMED)
            detail = f"a {observation.address_type.value} address"
            tally.fail(key, observation.evidence, observed.order, [detail])

    def explain(self, failure: FailureTally) -> str:
        """Which kind of address, and how often it was seen."""
        return (
            f"The toy advertised {times(failure.occurrences)} with "
            f"{listing(failure)}, which stays the same from day to day."
        )
