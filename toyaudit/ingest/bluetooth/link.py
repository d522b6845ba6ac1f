"""One Bluetooth LE connection, as both the HCI and the link-layer readers see it.

A :class:`Link` holds what outlives a single packet: which device is at the
other end, whether the link is encrypted, the ATT and SMP state. Both
readers hand it whole L2CAP frames; it turns those on the ATT channel into
GATT operations and those on the SMP channel into pairings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from toyaudit.ingest.bluetooth.att import AttInterpreter
from toyaudit.ingest.bluetooth.l2cap import ATT_CID, SMP_CID, L2capFrame
from toyaudit.ingest.bluetooth.smp import PairingTracker
from toyaudit.ingest.records import (
    BleEncryption,
    BluetoothObservation,
    Evidence,
)

logger = logging.getLogger(__name__)

MAX_DEVICES = 1024
"""Devices whose attribute tables are remembered, to bound memory."""


class HandleTables:
    """Attribute handle → UUID maps, one per device, shared across connections."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[int, str]] = {}

    def of(self, device: str) -> dict[int, str]:
        """The table of ``device``, created empty on first use."""
        table = self.tables.get(device)
        if table is None:
            if len(self.tables) >= MAX_DEVICES:
                self.tables.pop(next(iter(self.tables)))
            table = self.tables[device] = {}
        return table


class Link:
    """The state of one connection between a central and a peripheral."""

    def __init__(self, device: str, tables: HandleTables) -> None:
        self.device = device
        """The peripheral's address, or a label naming the connection."""
        self.encrypted = False
        self.encryption_reported = False
        self.att = AttInterpreter(device, tables.of(device))
        self.smp = PairingTracker(device)

    def l2cap(
        self, frame: L2capFrame, sent_by_central: bool | None, evidence: Evidence
    ) -> Iterator[BluetoothObservation]:
        """Yield what one reassembled L2CAP frame shows, timed by its first part."""
        time = evidence.time if frame.time is None else frame.time
        evidence = Evidence(evidence.file, frame.frames, time=time)
        if frame.channel == ATT_CID:
            yield from self.att.pdu(
                frame.payload, sent_by_central, evidence, self.encrypted
            )
        elif frame.channel == SMP_CID:
            pairing = self.smp.pdu(frame.payload, evidence)
            if pairing is not None:
                yield pairing

    def encryption_started(self, evidence: Evidence) -> BleEncryption | None:
        """Mark the link encrypted; the record comes once per connection."""
        self.encrypted = True
        if self.encryption_reported:
            return None
        self.encryption_reported = True
        return BleEncryption(evidence=evidence, device=self.device)


class LinkLosses:
    """What the readers of one file could not interpret, for the coverage notes."""

    def __init__(self) -> None:
        self.unpaired_reads = 0
        self.unanswered_pairings = 0
        self.encrypted_pdus = 0
        """LL data PDUs that could not be read because the link was encrypted."""
        self.first_encrypted_frame: int | None = None

    def absorb(self, link: Link) -> None:
        """Add the counts of a connection that ended or whose file ended."""
        self.unpaired_reads += link.att.unpaired_reads
        self.unanswered_pairings += link.smp.unanswered_responses
        link.att.unpaired_reads = 0
        link.smp.unanswered_responses = 0

    def notes(self, name: str) -> list[str]:
        """One-line coverage notes naming ``name``."""
        notes = []
        if self.encrypted_pdus:
            notes.append(
                f"{name}: {self.encrypted_pdus} link-layer data packets on "
                "encrypted connections could not be read, the first at frame "
                f"{self.first_encrypted_frame}; GATT values after encryption "
                "started are not in the report"
            )
        if self.unpaired_reads:
            notes.append(
                f"{name}: {self.unpaired_reads} ATT read responses without their "
                "request (capture started late or lost packets); their handles "
                "are unknown and they were skipped"
            )
        if self.unanswered_pairings:
            notes.append(
                f"{name}: {self.unanswered_pairings} SMP pairing responses "
                "without their request; the pairing method is unknown"
            )
        return notes
