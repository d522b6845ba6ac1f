"""Turn the frames of a pcap or pcapng file into observations.

Frames are decoded with :mod:`toyaudit.ingest.decode`; IP fragments are put
back together by :mod:`toyaudit.ingest.fragments`; UDP datagrams go to
:mod:`toyaudit.ingest.udp` (DNS, DHCP, SSDP, classified raw payload) and TCP
segments through the reassembler in :mod:`toyaudit.ingest.tcp` (HTTP, TLS
hellos, DNS, MQTT, WebSocket, classified raw payload). Frames of other
protocols are counted and ignored; encrypted 802.11 frames are counted in a
coverage note.

HTTP requests are delivered when their response is complete, or when their
connection ends without one, so observations come out roughly in the order
their exchanges finished, not in the order the requests started.

Every DNS answer the file holds (UDP from port 53) teaches the session's
:class:`~toyaudit.ingest.names.NameTable`, in every shard, so that traffic
sent to an address can be named by the name its client looked up.

Given a :class:`~toyaudit.ingest.shard.Shard`, the reader handles only the
conversations of that shard (see :mod:`toyaudit.ingest.shard`); what it
counted for the coverage notes is kept in a :class:`PacketTally`, which
merges exactly with the other shards'.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from toyaudit.ingest import ieee80211
from toyaudit.ingest.bluetooth import BLUETOOTH_LINKTYPES, BluetoothDecoder
from toyaudit.ingest.coverage import FirstNotes
from toyaudit.ingest.decode import (
    LINKTYPES,
    TCP,
    UDP,
    Segment,
    decode_frame,
    format_address,
)
from toyaudit.ingest.decrypted import DecryptionLog, decryption_factory
from toyaudit.ingest.dns import DNS_SERVER_PORT, parse_dns_answers
from toyaudit.ingest.fragments import FragmentTable
from toyaudit.ingest.keyless import KeylessTally, Refusals
from toyaudit.ingest.keylog import KeyLog
from toyaudit.ingest.names import NameTable
from toyaudit.ingest.pcapfile import ProgressCallback, read_frames
from toyaudit.ingest.records import Coverage, Evidence, Observation
from toyaudit.ingest.shard import Shard, ShardFrame, shard_frames
from toyaudit.ingest.tcp import Reassembler
from toyaudit.ingest.udp import DatagramReader

logger = logging.getLogger(__name__)

UNDECRYPTED_NOTES = 5
"""TLS connections left encrypted that get a note of their own, per file."""

_END_OF_FILE = 1 << 62
"""Rank of what is only noticed once the file ends, after every frame."""


@dataclass(slots=True)
class PacketTally:
    """What reading one packet capture could not see, summed over shards."""

    name: str
    holes: int = 0
    """Holes in TCP streams: bytes the capture never had."""
    lost_bytes: int = 0
    first_hole_frame: int = 0
    """The frame after the first hole, 0 when there was none."""
    ignored: Counter[int] = field(default_factory=Counter)
    """Frames of link types toyaudit does not decode, by link type."""
    wifi: Counter[str] = field(default_factory=Counter)
    """802.11 frames that were not decoded, by kind."""
    fragments: str | None = None
    """The note on IP datagrams never reassembled: every shard reassembles
    every fragment, so every shard has the same."""
    bluetooth: list[str] = field(default_factory=list)
    """Notes of the Bluetooth decoder, which only the first shard runs."""
    undecrypted: FirstNotes = field(
        default_factory=lambda: FirstNotes(UNDECRYPTED_NOTES)
    )
    """One note per TLS connection not decrypted, ranked by the frame at
    which the reader gave up on it."""
    keyless: KeylessTally = field(init=False)
    """TLS connections the key log holds nothing for, by host."""

    def __post_init__(self) -> None:
        self.keyless = KeylessTally(self.name)

    @property
    def key(self) -> str:
        """Shards merge the tallies of the same file."""
        return f"{self.name} packets"

    def merge(self, other: PacketTally) -> None:
        """Add another shard's counts; the first shard's fragment note stands."""
        self.holes += other.holes
        self.lost_bytes += other.lost_bytes
        firsts = (self.first_hole_frame, other.first_hole_frame)
        self.first_hole_frame = min((frame for frame in firsts if frame), default=0)
        self.ignored.update(other.ignored)
        self.wifi.update(other.wifi)
        self.bluetooth.extend(other.bluetooth)
        self.undecrypted.merge(other.undecrypted)
        self.keyless.merge(other.keyless)

    def notes(self) -> list[str]:
        """What the file could not show: TLS content the capture had no keys for."""
        return self.keyless.notes()

    def problems(self) -> list[str]:
        """The coverage problems of the file, in a fixed order."""
        notes = [self.fragments, ieee80211.coverage_note(self.name, self.wifi)]
        found = [note for note in notes if note is not None] + self.bluetooth
        if self.holes:
            found.append(
                f"{self.name}: {self.holes} holes in TCP streams "
                f"({self.lost_bytes} bytes never captured), the first before "
                f"frame {self.first_hole_frame}; messages they cut are marked "
                "truncated"
            )
        for linktype, count in sorted(self.ignored.items()):
            found.append(
                f"{self.name}: {count} frames of link type {linktype} are not decoded "
                "(toyaudit reads Ethernet, raw IP, Linux cooked, loopback and 802.11)"
            )
        found.extend(self.undecrypted.texts())
        if self.undecrypted.left_out:
            found.append(
                f"{self.name}: {self.undecrypted.left_out} more TLS connections were "
                "not decrypted for the same kinds of reasons"
            )
        found.extend(self.keyless.problems())
        return found


def read_capture(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int,
    progress: ProgressCallback | None = None,
    keylog: KeyLog | None = None,
    shard: Shard | None = None,
    names: NameTable | None = None,
    refusals: Refusals | None = None,
) -> Iterator[Observation]:
    """Yield the observations of the pcap or pcapng file read from ``stream``.

    TLS connections are decrypted when ``keylog`` (or a Decryption Secrets
    Block in the file itself) holds their secrets (:mod:`.decrypted`); those
    it holds nothing for are noted by host, as passed through when
    ``refusals`` says the toy refused interception of the host
    (:mod:`.keyless`). Every DNS answer goes into ``names``. With a
    ``shard``, only that shard's conversations are read; the file is still
    read whole, for its secrets blocks, its DNS answers and its damage.

    ``name`` goes into every :class:`Evidence`; ``total`` is the file size, for
    progress. Raises :class:`IngestError` only when the file header is
    unreadable; later damage ends the file with a coverage note.
    """
    keylog = keylog if keylog is not None else KeyLog()
    reader = _CaptureReader(
        name,
        keylog,
        shard or Shard(0, 1),
        refusals or Refusals(),
        names if names is not None else NameTable(),
    )
    frames = read_frames(
        stream, name, coverage, total, progress, keylog.add_decryption_secrets
    )
    yield from reader.read(shard_frames(frames, reader.shard))
    yield from reader.finish()
    coverage.add_tally(reader.tally)


class _CaptureReader:
    """The decoders and reassemblers of one capture file, fed frame by frame."""

    def __init__(
        self,
        name: str,
        keylog: KeyLog,
        shard: Shard,
        refusals: Refusals,
        names: NameTable,
    ) -> None:
        self.name = name
        self.shard = shard
        self.refusals = refusals
        self.names = names
        self.tally = PacketTally(name)
        self.decryption = DecryptionLog()
        """Why TLS connections were not decrypted, as the decryptors say it."""
        self.decryption_entries = self.decryption.entries
        """The log's entries, looked up once: read after every TCP segment."""
        self.reassembler = Reassembler(
            name, decryption_factory(name, keylog, self.decryption)
        )
        self.datagrams = DatagramReader(name)
        self.fragments = FragmentTable()
        self.bluetooth: BluetoothDecoder | None = None
        self.other_protocols = 0

    def read(self, frames: Iterator[ShardFrame]) -> Iterator[Observation]:
        """Yield what the frames complete: the hot path, so kept flat.

        ``frames`` come from :func:`~toyaudit.ingest.shard.shard_frames`,
        marked whether they are known to be this shard's conversations.
        """
        shard = self.shard
        primary = shard.primary
        ready = self.reassembler.ready
        datagrams = self.datagrams
        for number, linktype, timestamp, frame, known in frames:
            if linktype in BLUETOOTH_LINKTYPES:
                if primary:
                    yield from self._bluetooth(number, linktype, timestamp, frame)
                continue
            segment = decode_frame(linktype, frame)
            if segment is None:
                if primary:
                    self._not_decoded(linktype, frame)
                continue
            carried = None
            if segment[0] < 0:  # an IP fragment: every shard waits for the whole
                whole = self.fragments.reassemble(segment, number)
                if whole is None:
                    continue
                segment, carried = whole
            if not known and not shard.owns_conversation(*segment[1:5]):
                # Another shard's, but every shard learns from DNS answers.
                if segment[2] == DNS_SERVER_PORT and segment[0] == UDP:
                    self._learn_names(segment, carried or (number,), timestamp)
                continue
            if segment[0] == TCP:
                self._tcp(segment, number, timestamp)
                if ready:
                    yield from ready
                    ready.clear()
            elif segment[0] == UDP:
                if segment[2] == DNS_SERVER_PORT:
                    self._learn_names(segment, carried or (number,), timestamp)
                datagrams.datagram(segment, carried or (number,), timestamp)
                if datagrams.ready:
                    yield from datagrams.ready
                    datagrams.ready.clear()

    def _learn_names(
        self, segment: Segment, frames: tuple[int, ...], timestamp: float
    ) -> None:
        """Teach the name table what a DNS response told its client."""
        answered = parse_dns_answers(segment[8])
        if answered is not None:
            evidence = Evidence(self.name, frames, time=timestamp)
            client = format_address(segment[3])
            self.names.learn(client, answered[0], answered[1], evidence)

    def _tcp(self, segment: Segment, number: int, timestamp: float) -> None:
        """Hand a TCP segment to the reassembler; rank new decryption failures."""
        told = len(self.decryption_entries)
        self.reassembler.segment(
            (segment[1], segment[2]),
            (segment[3], segment[4]),
            segment[5],
            segment[7],
            segment[8],
            number,
            timestamp,
        )
        if len(self.decryption_entries) > told:
            self._rank_undecrypted(told, number)

    def _rank_undecrypted(self, told: int, number: int) -> None:
        """Tally what the decryptors said since entry ``told``, at frame ``number``."""
        for entry in self.decryption.entries[told:]:
            if isinstance(entry, str):
                self.tally.undecrypted.add(number, entry)
            else:
                refused = self.refusals.refused(entry.client, entry.host)
                self.tally.keyless.add(entry, refused)
        del self.decryption.entries[told:]

    def _bluetooth(
        self, number: int, linktype: int, timestamp: float, frame: bytes
    ) -> Iterator[Observation]:
        self.bluetooth = self.bluetooth or BluetoothDecoder(self.name)
        return self.bluetooth.frame(number, linktype, timestamp, frame)

    def _not_decoded(self, linktype: int, frame: bytes) -> None:
        """Count a frame that is not TCP or UDP over IP (the first shard does)."""
        if linktype in ieee80211.LINKTYPES:
            self.tally.wifi[ieee80211.frame_kind(linktype, frame)] += 1
        if linktype in LINKTYPES:
            self.other_protocols += 1
        else:
            self.tally.ignored[linktype] += 1

    def finish(self) -> Iterator[Observation]:
        """Close every stream and flow at the end of the file; fill the tally."""
        told = len(self.decryption.entries)
        self.reassembler.close_all()
        yield from self.reassembler.ready
        self._rank_undecrypted(told, _END_OF_FILE)
        self.tally.keyless.decrypted = self.decryption.decrypted
        self.datagrams.flush()
        yield from self.datagrams.ready
        tally = self.tally
        tally.fragments = self.fragments.note(self.name)
        if self.bluetooth is not None:
            tally.bluetooth.extend(self.bluetooth.finish())
        tally.holes = self.reassembler.holes
        tally.lost_bytes = self.reassembler.lost_bytes
        tally.first_hole_frame = self.reassembler.first_hole_frame
        logger.debug(
            "%s: %d frames of other protocols ignored", self.name, self.other_protocols
        )
