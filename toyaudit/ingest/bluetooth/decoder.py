"""One entry point for every Bluetooth frame of a capture, whatever its link type.

:class:`BluetoothDecoder` is created per file by the packet reader when it
meets a Bluetooth link type (and by the btsnoop reader); it unwraps each
frame's pseudo-header and hands HCI packets to :class:`~.hci.HciDecoder` and
link-layer packets to :class:`~.linklayer.LinkLayerDecoder`, each created on
first use. :meth:`BluetoothDecoder.finish` returns what could not be read,
as coverage notes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

from toyaudit.ingest.bluetooth.hci import HciDecoder
from toyaudit.ingest.bluetooth.headers import UNSUPPORTED, HciPacket, unwrap
from toyaudit.ingest.bluetooth.linklayer import LinkLayerDecoder, RadioPacket
from toyaudit.ingest.records import BluetoothObservation

logger = logging.getLogger(__name__)


class BluetoothDecoder:
    """Decodes the Bluetooth frames of one capture file, in frame order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.hci: HciDecoder | None = None
        self.radio: LinkLayerDecoder | None = None
        self.skipped: Counter[tuple[int, str]] = Counter()
        """Frames not read, by (link type, reason)."""
        self.first_skipped: dict[tuple[int, str], int] = {}

    def frame(
        self, number: int, linktype: int, time: float, frame: bytes
    ) -> Iterator[BluetoothObservation]:
        """Yield the observations of frame ``number`` of link type ``linktype``."""
        packet = unwrap(linktype, frame)
        if isinstance(packet, HciPacket):
            yield from self.hci_packet(packet, number, time)
        elif isinstance(packet, RadioPacket):
            if self.radio is None:
                self.radio = LinkLayerDecoder(self.name)
            yield from self.radio.packet(packet, number, time)
        else:
            key = (linktype, packet)
            self.skipped[key] += 1
            self.first_skipped.setdefault(key, number)

    def hci_packet(
        self, packet: HciPacket, number: int, time: float
    ) -> Iterator[BluetoothObservation]:
        """Yield the observations of one HCI packet (btsnoop records come here)."""
        if self.hci is None:
            self.hci = HciDecoder(self.name)
        yield from self.hci.packet(packet.kind, packet.body, packet.sent, number, time)

    def finish(self) -> list[str]:
        """Coverage notes on what the file's Bluetooth frames did not show."""
        notes: list[str] = []
        for decoder in (self.hci, self.radio):
            if decoder is not None:
                notes.extend(decoder.finish())
        for (linktype, reason), count in sorted(self.skipped.items()):
            first = self.first_skipped[(linktype, reason)]
            logger.debug("%s: %d frames skipped (%s)", self.name, count, reason)
            # Status messages and corrupted packets are noise, not lost evidence.
            if reason == UNSUPPORTED:
                notes.append(
                    f"{self.name}: {count} Bluetooth frames of link type {linktype} "
                    f"skipped ({reason}), the first at frame {first}"
                )
        return notes
