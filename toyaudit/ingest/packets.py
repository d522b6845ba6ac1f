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

from toyaudit.ingest import bluetooth, ieee80211
from toyaudit.ingest.bluetooth import BLUETOOTH_LINKTYPES
from toyaudit.ingest.coverage import FirstNotes
from toyaudit.ingest.decode import (
    COMMON_IPV4,
    COMMON_PORTS_END,
    COMMON_TCP_END,
    COMMON_UDP_END,
    ETHERNET,
    LINKTYPES,
    TCP,
    UDP,
    Segment,
    common_udp_segment,
    decode_frame,
    format_address,
    unpack_common_tcp,
)
from toyaudit.ingest.decrypted import DecryptionLog, decryption_factory
from toyaudit.ingest.dns import DNS_SERVER_PORT, parse_dns_answers
from toyaudit.ingest.fragments import FragmentTable
from toyaudit.ingest.keyless import KeylessTally, Refusals
from toyaudit.ingest.keylog import KeyLog
from toyaudit.ingest.names import NameTable
from toyaudit.ingest.pcapfile import Frame, ProgressCallback, read_frames
from toyaudit.ingest.records import Coverage, Evidence, Observation
from toyaudit.ingest.shard import ConversationOwners, Shard
from toyaudit.ingest.tcp import Reassembler
from toyaudit.ingest.udp import DatagramReader

logger = logging.getLogger(__name__)

UNDECRYPTED_NOTES = 5
"""TLS connections left encrypted that get a note of their own, per file."""

_END_OF_FILE = 1 << 62
"""Rank of what is only noticed once the file ends, after every frame."""

_DNS_SOURCE_PORT = DNS_SERVER_PORT.to_bytes(2, "big")
"""The UDP source port of DNS responses, as it stands at bytes 34-35."""


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
    yield from reader.read(frames)
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
        self.bluetooth: bluetooth.BluetoothDecoder | None = None
        self.other_protocols = 0

    def read(self, frames: Iterator[Frame]) -> Iterator[Observation]:
        """Yield what the frames complete: the hot path, so kept flat.

        The common frame, an untagged Ethernet II frame carrying an
        unfragmented IPv4 packet without options and a TCP or UDP header,
        has its addresses and ports at fixed offsets: it is placed here
        (:class:`~toyaudit.ingest.shard.ConversationOwners`), dropped when its
        conversation is another shard's (unless it is a DNS response, which
        every shard learns names from), and otherwise decoded here with the
        result :func:`~toyaudit.ingest.decode.decode_frame` gives. Every
        other frame takes the general path, :meth:`_frame`.
        """
        ready, datagrams = self.reassembler.ready, self.datagrams
        said = self.decryption_entries
        tcp_segment = self.reassembler.segment_between
        owners = ConversationOwners(self.shard)
        memo, split = owners.memo, self.shard.count > 1
        for number, linktype, timestamp, frame in frames:
            # RFC 791 §3.1: version 4 and 5 header words at byte 14, the
            # more-fragments flag and fragment offset at 20-21, protocol at 23.
            if (
                linktype != ETHERNET
                or len(frame) < COMMON_PORTS_END
                or frame[12:15] != COMMON_IPV4
                or frame[20] & 0x3F
                or frame[21]
            ):
                yield from self._frame(number, linktype, timestamp, frame, not split)
                continue
            protocol = frame[23]
            if protocol != TCP and protocol != UDP:
                yield from self._frame(number, linktype, timestamp, frame, not split)
                continue
            if split:
                key = frame[26:COMMON_PORTS_END]
                mine = memo.get(key)
                if mine is None:
                    mine = owners.place(key)
                if not mine:
                    if protocol == UDP and frame[34:36] == _DNS_SOURCE_PORT:
                        yield from self._frame(
                            number, linktype, timestamp, frame, False
                        )
                    continue
            if protocol == TCP and len(frame) >= COMMON_TCP_END:
                total, source, destination, port, peer_port, sequence, _, bits = (
                    unpack_common_tcp(frame, 14)
                )
                start = 34 + (bits >> 12) * 4
                if start >= 54:
                    tcp_segment(
                        source, port, destination, peer_port, sequence, bits & 0x01FF,
                        frame[start : 14 + total if total >= 20 else len(frame)],
                        number, timestamp,
                    )  # fmt: skip
                    if said:  # what decryptors said of it; emptied after each segment
                        self._rank_undecrypted(0, number)
                    if ready:
                        yield from ready
                        ready.clear()
                    continue
            elif protocol == UDP and len(frame) >= COMMON_UDP_END:
                segment = common_udp_segment(frame)
                if segment[2] == DNS_SERVER_PORT:
                    self._learn_names(segment, (number,), timestamp)
                datagrams.datagram(segment, (number,), timestamp)
                if datagrams.ready:
                    yield from datagrams.ready
                    datagrams.ready.clear()
                continue
            yield from self._frame(number, linktype, timestamp, frame, True)

    def _frame(
        self, number: int, linktype: int, timestamp: float, frame: bytes, known: bool
    ) -> Iterator[Observation]:
        """Read one frame of any kind: the general path of :meth:`read`.

        ``known`` says the frame is known to be this shard's conversation;
        otherwise it is decoded to find out, and (when it is not a TCP or UDP
        frame at all) left to the first shard.
        """
        shard = self.shard
        if linktype in BLUETOOTH_LINKTYPES:
            if shard.primary:
                yield from self._bluetooth(number, linktype, timestamp, frame)
            return
        segment = decode_frame(linktype, frame)
        if segment is None:
            if shard.primary:
                self._not_decoded(linktype, frame)
            return
        carried = None
        if segment[0] < 0:  # an IP fragment: every shard waits for the whole
            whole = self.fragments.reassemble(segment, number)
            if whole is None:
                return
            segment, carried = whole
        if not known and not shard.owns_conversation(*segment[1:5]):
            # Another shard's, but every shard learns from DNS answers.
            if segment[2] == DNS_SERVER_PORT and segment[0] == UDP:
                self._learn_names(segment, carried or (number,), timestamp)
            return
        if segment[0] == TCP:
            self._tcp(segment, number, timestamp)
            yield from self.reassembler.ready
            self.reassembler.ready.clear()
        elif segment[0] == UDP:
            if segment[2] == DNS_SERVER_PORT:
                self._learn_names(segment, carried or (number,), timestamp)
            self.datagrams.datagram(segment, carried or (number,), timestamp)
            yield from self.datagrams.ready
            self.datagrams.ready.clear()

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
        self.bluetooth = self.bluetooth or bluetooth.BluetoothDecoder(self.name)
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
