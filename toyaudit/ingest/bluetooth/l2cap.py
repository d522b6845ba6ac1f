"""L2CAP reassembly: whole basic-mode frames out of ACL or LL fragments.

An L2CAP frame starts with a 4-byte basic header, its payload length and
channel id (Core spec Vol 3 Part A 3.1). Over HCI it may be split across ACL
packets, marked by the Packet_Boundary flag (Vol 4 Part E 5.4.2); over the
air across LL data PDUs, marked by the LLID (Vol 6 Part B 2.4). Either way a
frame is a start fragment followed by continuations until the length is
reached.

Memory stays bounded: only frames on the ATT and SMP channels keep their
bytes, at most :data:`MAX_KEPT` of them; other channels are only counted
down to their end. At most :data:`MAX_OPEN` frames are under reassembly at
once.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Hashable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

ATT_CID = 0x0004
SMP_CID = 0x0006
"""Fixed LE channels (Core Vol 3 Part A 2.1 table 2.3)."""

MAX_KEPT = 4096
"""Largest ATT or SMP frame whose bytes are kept (ATT values stop at 512)."""

MAX_OPEN = 64
"""Most frames reassembled at once, over every connection and direction."""

_KEPT_CHANNELS = frozenset({ATT_CID, SMP_CID})


@dataclass(slots=True)
class _Partial:
    """A frame whose start was seen and whose end was not yet."""

    channel: int
    remaining: int
    payload: bytearray
    frames: list[int] = field(default_factory=list)
    time: float | None = None
    """Capture time of the start fragment."""


@dataclass(frozen=True, slots=True)
class L2capFrame:
    """One reassembled L2CAP frame and the capture frames that carried it."""

    channel: int
    payload: bytes
    """The information payload; empty for channels whose bytes are not kept."""
    frames: tuple[int, ...]
    time: float | None = None
    """Capture time of the frame's first fragment, seconds since the epoch."""


class Reassembler:
    """Joins L2CAP fragments keyed by connection and direction.

    ``orphans`` counts continuations without a start (the capture began
    mid-frame or lost a packet); ``cut`` counts frames abandoned because a
    new start arrived first or too many were open.
    """

    def __init__(self) -> None:
        self.open: dict[Hashable, _Partial] = {}
        self.orphans = 0
        self.cut = 0
        self.first_loss: int | None = None

    def start(
        self, key: Hashable, fragment: bytes, frame: int, time: float | None = None
    ) -> L2capFrame | None:
        """Take a start fragment captured at ``time``; return the frame if whole."""
        if key in self.open:
            self._lose(frame)
            del self.open[key]
        if len(fragment) < 4:
            self._lose(frame)
            return None
        length, channel = struct.unpack_from("<HH", fragment)
        partial = _Partial(channel, length, bytearray(), [], time)
        if len(self.open) >= MAX_OPEN:
            self.open.pop(next(iter(self.open)))
            self._lose(frame)
        return self._feed(key, partial, fragment[4:], frame)

    def continuation(
        self, key: Hashable, fragment: bytes, frame: int
    ) -> L2capFrame | None:
        """Take a continuation fragment; return the frame when it completes."""
        if not fragment:
            return None
        partial = self.open.pop(key, None)
        if partial is None:
            self.orphans += 1
            if self.first_loss is None:
                self.first_loss = frame
            return None
        return self._feed(key, partial, fragment, frame)

    def forget(self, key: Hashable) -> None:
        """Drop what was gathered for ``key`` (the connection ended)."""
        if self.open.pop(key, None) is not None:
            self.cut += 1

    def _feed(
        self, key: Hashable, partial: _Partial, fragment: bytes, frame: int
    ) -> L2capFrame | None:
        """Add a fragment; hand out the frame at its end, or keep it open."""
        partial.frames.append(frame)
        if partial.channel in _KEPT_CHANNELS:
            room = MAX_KEPT - len(partial.payload)
            partial.payload += fragment[: min(partial.remaining, room)]
        partial.remaining -= len(fragment)
        if partial.remaining > 0:
            self.open[key] = partial
            return None
        if partial.remaining < 0:
            logger.debug("frame %d: L2CAP fragment longer than its frame", frame)
        return L2capFrame(
            partial.channel, bytes(partial.payload), tuple(partial.frames), partial.time
        )

    def _lose(self, frame: int) -> None:
        self.cut += 1
        if self.first_loss is None:
            self.first_loss = frame
