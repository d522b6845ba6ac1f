"""Put IPv4 and IPv6 fragments back together, with bounded memory.

A DNS answer, a DHCP message or a TCP segment larger than the path MTU may
travel as IP fragments (RFC 791 §3.2, RFC 8200 §4.5). The decoder hands every
fragment here; once a datagram's fragments cover it from its first byte to
the end the last fragment announced, :meth:`FragmentTable.add` returns the
whole datagram.

Hostile or lossy captures must not grow memory without end, so:

* a datagram still incomplete :data:`TIMEOUT_FRAMES` frames after its first
  fragment is dropped (frame count stands in for time: a capture's clock may
  be wrong, its frame numbers never are);
* at most :data:`MAX_FRAGMENTS` fragments per datagram, :data:`MAX_DATAGRAMS`
  datagrams in progress and :data:`MAX_BYTES` bytes held in all;
* datagrams longer than 65,535 bytes are impossible and dropped.

Overlapping fragments keep the bytes that arrived first, the way TCP
reassembly keeps the first copy: a later, overlapping fragment cannot change
what an earlier one said (RFC 5722 forbids overlaps in IPv6 outright).
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from toyaudit.ingest.decode import Segment, decode_datagram

logger = logging.getLogger(__name__)

TIMEOUT_FRAMES = 2000
"""Frames after a datagram's first fragment before it is given up."""
MAX_FRAGMENTS = 64
"""Fragments kept per datagram."""
MAX_DATAGRAMS = 256
"""Datagrams being reassembled at once."""
MAX_BYTES = 4 << 20
"""Fragment bytes held across every datagram in progress."""
MAX_DATAGRAM = 0xFFFF
"""Largest datagram reassembled (the IPv4 total-length limit)."""

FragmentKey = tuple[int, bytes, bytes, int, int]
"""(IP version marker, source, destination, identification, protocol)."""


class _Datagram:
    """The fragments of one datagram received so far, in arrival order."""

    __slots__ = ("first_frame", "pieces", "size", "end", "frames")

    def __init__(self, first_frame: int) -> None:
        self.first_frame = first_frame
        self.pieces: list[tuple[int, bytes]] = []
        self.size = 0
        self.end = -1
        """Length of the whole datagram, once its last fragment arrived."""
        self.frames: list[int] = []

    def complete(self) -> bool:
        """Whether the fragments cover every byte from 0 to :attr:`end`."""
        if self.end < 0 or self.size < self.end:
            return False
        covered = 0
        for offset, piece in sorted(self.pieces):
            if offset > covered:
                return False
            covered = max(covered, offset + len(piece))
        return covered >= self.end

    def assemble(self) -> bytes:
        """The datagram's bytes; where fragments overlap, the first one wins."""
        whole = bytearray(self.end)
        for offset, piece in reversed(self.pieces):
            kept = piece[: max(0, self.end - offset)]
            whole[offset : offset + len(kept)] = kept
        return bytes(whole)


class FragmentTable:
    """Datagrams in reassembly, keyed by addresses, identification and protocol.

    ``dropped`` counts datagrams given up (timed out, too many fragments, too
    large, or evicted to stay within the limits); ``reassembled`` those
    completed.
    """

    def __init__(self) -> None:
        self.datagrams: OrderedDict[FragmentKey, _Datagram] = OrderedDict()
        self.held = 0
        self.dropped = 0
        self.reassembled = 0

    def add(
        self, key: FragmentKey, offset: int, more: int, piece: bytes, frame: int
    ) -> tuple[bytes, tuple[int, ...]] | None:
        """Take one fragment; return (datagram, frame numbers) when complete."""
        self._expire(frame)
        datagram = self.datagrams.get(key)
        if datagram is None:
            datagram = self.datagrams[key] = _Datagram(frame)
        end = offset + len(piece)
        if end > MAX_DATAGRAM or len(datagram.pieces) >= MAX_FRAGMENTS:
            self._drop(key, "too large or too many fragments")
            return None
        if not more:
            if datagram.end >= 0 and datagram.end != end:
                logger.debug("fragments disagree on the datagram length")
            datagram.end = end if datagram.end < 0 else datagram.end
        datagram.pieces.append((offset, piece))
        datagram.frames.append(frame)
        datagram.size += len(piece)
        self.held += len(piece)
        if not datagram.complete():
            while self.held > MAX_BYTES or len(self.datagrams) > MAX_DATAGRAMS:
                self._drop(next(iter(self.datagrams)), "fragment memory full")
            return None
        self._forget(key)
        self.reassembled += 1
        return datagram.assemble(), tuple(sorted(set(datagram.frames)))

    def reassemble(
        self, fragment: Segment, frame: int
    ) -> tuple[Segment, tuple[int, ...]] | None:
        """Take a fragment as :func:`~toyaudit.ingest.decode.decode_frame` gave it.

        Returns the transport segment of the whole datagram, with the frames
        of all its fragments, once the last missing fragment arrives.
        """
        kind, source, ident, destination, protocol, offset, more = fragment[:7]
        key = (kind, source, destination, ident, protocol)
        whole = self.add(key, offset, more, fragment[8], frame)
        if whole is None:
            return None
        segment = decode_datagram(kind, protocol, source, destination, whole[0])
        return None if segment is None else (segment, whole[1])

    def note(self, name: str) -> str | None:
        """A coverage note for datagrams never completed, or None."""
        lost = self.dropped + self.pending()
        if not lost:
            return None
        return (
            f"{name}: {lost} fragmented IP datagrams could not be reassembled "
            "(fragments missing, or over toyaudit's fragment limits); what they "
            "carried was not read"
        )

    def pending(self) -> int:
        """Datagrams still incomplete (at the end of a capture: never completed)."""
        return len(self.datagrams)

    def _expire(self, frame: int) -> None:
        """Give up the datagrams whose first fragment is too many frames ago."""
        datagrams = self.datagrams
        while datagrams:
            key, oldest = next(iter(datagrams.items()))
            if frame - oldest.first_frame <= TIMEOUT_FRAMES:
                return
            self._drop(key, "timed out")

    def _drop(self, key: FragmentKey, reason: str) -> None:
        """Forget an incomplete datagram and count it."""
        logger.debug("IP datagram dropped before reassembly: %s", reason)
        if key in self.datagrams:
            self._forget(key)
            self.dropped += 1

    def _forget(self, key: FragmentKey) -> None:
        """Release a datagram's bytes."""
        datagram = self.datagrams.pop(key)
        self.held -= datagram.size
