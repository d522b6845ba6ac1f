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
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

from toyaudit.ingest import ieee80211
from toyaudit.ingest.bluetooth import BLUETOOTH_LINKTYPES, BluetoothDecoder
from toyaudit.ingest.decode import LINKTYPES, TCP, UDP, decode_frame
from toyaudit.ingest.decrypted import decryption_factory
from toyaudit.ingest.fragments import FragmentTable
from toyaudit.ingest.keylog import KeyLog
from toyaudit.ingest.pcapfile import ProgressCallback, read_frames
from toyaudit.ingest.records import Coverage, Observation
from toyaudit.ingest.tcp import Reassembler
from toyaudit.ingest.udp import DatagramReader

logger = logging.getLogger(__name__)


def read_capture(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int,
    progress: ProgressCallback | None = None,
    keylog: KeyLog | None = None,
) -> Iterator[Observation]:
    """Yield the observations of the pcap or pcapng file read from ``stream``.

    TLS connections are decrypted when ``keylog`` (or a Decryption Secrets
    Block in the file itself) holds their secrets (:mod:`.decrypted`).

    ``name`` goes into every :class:`Evidence`; ``total`` is the file size, for
    progress. Raises :class:`IngestError` only when the file header is
    unreadable; later damage ends the file with a coverage note.
    """
    keylog = keylog if keylog is not None else KeyLog()
    undecrypted: list[str] = []
    reassembler = Reassembler(name, decryption_factory(name, keylog, undecrypted))
    ready = reassembler.ready
    ignored: Counter[int] = Counter()
    """Frames not decoded, by link type (-1 for unsupported protocols)."""
    bluetooth: BluetoothDecoder | None = None
    datagrams = DatagramReader(name)
    fragments = FragmentTable()
    wifi: Counter[str] = Counter()
    for number, linktype, timestamp, frame in read_frames(
        stream, name, coverage, total, progress, keylog.add_decryption_secrets
    ):
        if linktype in BLUETOOTH_LINKTYPES:
            bluetooth = bluetooth or BluetoothDecoder(name)
            yield from bluetooth.frame(number, linktype, timestamp, frame)
            continue
        segment = decode_frame(linktype, frame)
        if segment is None:
            if linktype in ieee80211.LINKTYPES:
                wifi[ieee80211.frame_kind(linktype, frame)] += 1
            ignored[linktype if linktype not in LINKTYPES else -1] += 1
            continue
        protocol, source, source_port, destination, destination_port = segment[:5]
        carried = None
        if protocol < 0:  # an IP fragment: wait for the whole datagram
            whole = fragments.reassemble(segment, number)
            if whole is None:
                continue
            segment, carried = whole
            protocol, source, source_port, destination, destination_port = segment[:5]
        if protocol == TCP:
            reassembler.segment(
                (source, source_port),
                (destination, destination_port),
                segment[5],
                segment[7],
                segment[8],
                number,
            )
            if ready:
                yield from ready
                ready.clear()
        elif protocol == UDP:
            datagrams.datagram(segment, carried or (number,))
            if datagrams.ready:
                yield from datagrams.ready
                datagrams.ready.clear()
    reassembler.close_all()
    yield from ready
    datagrams.flush()
    yield from datagrams.ready
    for note in (fragments.note(name), ieee80211.coverage_note(name, wifi)):
        if note is not None:
            coverage.skip(note)
    for note in bluetooth.finish() if bluetooth is not None else ():
        coverage.skip(note)
    _note_losses(name, coverage, reassembler, ignored)
    _note_undecrypted(name, coverage, undecrypted)


def _note_undecrypted(name: str, coverage: Coverage, problems: list[str]) -> None:
    """One note per TLS connection that was not decrypted, the first few only."""
    shown = 5
    for problem in problems[:shown]:
        coverage.skip(problem)
    if len(problems) > shown:
        coverage.skip(
            f"{name}: {len(problems) - shown} more TLS connections were not "
            "decrypted for the same kinds of reasons"
        )


def _note_losses(
    name: str, coverage: Coverage, reassembler: Reassembler, ignored: Counter[int]
) -> None:
    """Record lost stream bytes and undecodable link types in the coverage."""
    if reassembler.holes:
        coverage.skip(
            f"{name}: {reassembler.holes} holes in TCP streams "
            f"({reassembler.lost_bytes} bytes never captured), the first before "
            f"frame {reassembler.first_hole_frame}; messages they cut are marked "
            "truncated"
        )
    for linktype, count in sorted(ignored.items()):
        if linktype >= 0:
            coverage.skip(
                f"{name}: {count} frames of link type {linktype} are not decoded "
                "(toyaudit reads Ethernet, raw IP, Linux cooked, loopback and 802.11)"
            )
    logger.debug("%s: %d frames of other protocols ignored", name, ignored[-1])
