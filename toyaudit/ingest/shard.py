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

from dataclasses import dataclass
from zlib import crc32

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


class ConversationOwners:
    """Whether the conversations of common frames are one shard's, remembered.

    A common frame is an untagged Ethernet II frame carrying an unfragmented
    IPv4 packet without options and a TCP or UDP header: its addresses and
    ports stand at fixed offsets, bytes 26-37 (source and destination
    address, source and destination port), so its conversation is placed
    from those 12 bytes before anything is decoded. :attr:`memo` maps them
    to whether the conversation is the shard's; the reader looks there
    first, inline, and asks :meth:`place` only for directions it has not
    seen lately.
    """

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.memo: dict[bytes, bool] = {}
        """Whether each direction seen lately is the shard's, by its 12 bytes."""

    def place(self, key: bytes) -> bool:
        """Whether the direction named by ``key`` is the shard's; remember it."""
        if len(self.memo) >= _MAX_OWNERS:
            self.memo.clear()
        mine = _key_shard(key, self.shard.count) == self.shard.index
        self.memo[key] = mine
        return mine


def _key_shard(key: bytes, count: int) -> int:
    """:func:`conversation_shard` of source address and port, destination's."""
    one = key[0:4] + key[8:10]
    other = key[4:8] + key[10:12]
    return crc32(one + other if one < other else other + one) % count
