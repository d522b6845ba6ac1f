"""Which part of the evidence each shard of a parallel audit reads.

An audit on several cores (:mod:`toyaudit.audit`) splits the evidence into
``count`` shards, and shard ``index`` reads only its part of every file:

* packet captures by conversation: the frames of one TCP connection or UDP
  flow, both directions, all go to the shard :func:`conversation_shard`
  names, a deterministic hash of the unordered pair of endpoints (CRC-32,
  never Python's salted ``hash``, so every process agrees). IP fragments are
  reassembled by every shard, and the whole datagram then goes to its
  conversation's shard; frames that are not TCP or UDP (Bluetooth, ARP,
  undecodable frames) go to the first shard only; DNS responses (UDP from
  port 53) go to every shard as well, so that every shard learns the same
  names for server addresses (:mod:`~toyaudit.ingest.names`), while only
  the conversation's shard reads them as observations;
* mitmproxy flow files and HAR files by position: flow or entry ``i``
  (0-based) goes to shard ``i % count``;
* every other kind of file (btsnoop, ``ble.jsonl``) to the first shard only.

Notes about a whole file (a truncated capture, an unreadable header) come out
the same in every shard; the first shard's stand (see
:class:`~toyaudit.ingest.coverage.Coverage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zlib import crc32

from toyaudit.ingest.pcapfile import Frame

ShardFrame = tuple[int, int, float, bytes, bool]
"""A :data:`~toyaudit.ingest.pcapfile.Frame` and whether it is known to be
the shard's own (False: decode it to find out)."""

_ETHERNET = 1
_IPV4_NO_OPTIONS = b"\x08\x00\x45"
"""EtherType IPv4, then IP version 4 with a 5-word header."""
_TCP = 6
_UDP = 17
_PORTS_END = 38
"""Ethernet header (14) + IPv4 header (20) + the two ports (4)."""
_DNS_SOURCE_PORT = (53).to_bytes(2, "big")
"""The UDP source port of DNS responses, as it stands at bytes 34-35."""
_MAX_OWNERS = 1 << 16
"""Directions whose shard is remembered before the memo starts again."""


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count``: the part of the evidence one worker reads."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count} does not exist")

    @property
    def primary(self) -> bool:
        """Whether this is the first shard, which reads what is not split."""
        return self.index == 0

    def owns_position(self, position: int) -> bool:
        """Whether the flow or entry at 0-based ``position`` is this shard's."""
        return position % self.count == self.index

    def owns_conversation(
        self, address: bytes, port: int, peer: bytes, peer_port: int
    ) -> bool:
        """Whether the conversation between two endpoints is this shard's."""
        return (
            conversation_shard(address, port, peer, peer_port, self.count) == self.index
        )


def conversation_shard(
    address: bytes, port: int, peer: bytes, peer_port: int, count: int
) -> int:
    """The shard of a conversation, the same whichever end is named first.

    Addresses are the raw 4 or 16 address bytes, as the decoder gives them.
    """
    one = address + port.to_bytes(2, "big")
    other = peer + peer_port.to_bytes(2, "big")
    return crc32(one + other if one < other else other + one) % count


def shard_frames(frames: Iterable[Frame], shard: Shard) -> Iterator[ShardFrame]:
    """The frames ``shard`` may need, each marked whether it is known to be its own.

    This is the cheap test a shard runs on every frame of a capture before
    decoding any. The common case, an untagged Ethernet II frame carrying an
    unfragmented IPv4 packet without options and a TCP or UDP header, has its
    addresses and ports at fixed offsets: such a frame is dropped here when
    its conversation is another shard's (unless it is a DNS response, which
    every shard learns names from), and passed on marked True when it is
    this one's. Every other frame is passed on marked False, for the reader
    to decode and place with :meth:`Shard.owns_conversation` (or, when it is
    no TCP or UDP at all, to leave to the first shard).
    """
    if shard.count == 1:
        for number, linktype, timestamp, frame in frames:
            yield number, linktype, timestamp, frame, True
        return
    count, index = shard.count, shard.index
    owners: dict[bytes, int] = {}
    """Shard by the 12 address and port bytes of each direction seen lately."""
    for number, linktype, timestamp, frame in frames:
        # RFC 791 §3.1: version 4 and 5 header words at byte 14, the
        # more-fragments flag and fragment offset at 20-21, the protocol at 23.
        if (
            linktype == _ETHERNET
            and frame[12:15] == _IPV4_NO_OPTIONS
            and (frame[23] == _TCP or frame[23] == _UDP)
            and not (frame[20] & 0x3F or frame[21])
            and len(frame) >= _PORTS_END
        ):
            key = frame[26:_PORTS_END]
            owner = owners.get(key)
            if owner is None:
                if len(owners) >= _MAX_OWNERS:
                    owners.clear()
                owner = owners[key] = _key_shard(key, count)
            if owner == index:
                yield number, linktype, timestamp, frame, True
            elif frame[23] == _UDP and frame[34:36] == _DNS_SOURCE_PORT:
                yield number, linktype, timestamp, frame, False
            continue
        yield number, linktype, timestamp, frame, False


def _key_shard(key: bytes, count: int) -> int:
    """:func:`conversation_shard` of source address and port, destination's."""
    one = key[0:4] + key[8:10]
    other = key[4:8] + key[10:12]
    return crc32(one + other if one < other else other + one) % count
