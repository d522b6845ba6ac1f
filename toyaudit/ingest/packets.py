"""Turn the frames of a pcap or pcapng file into observations.

Frames are decoded with :mod:`toyaudit.ingest.decode`; UDP datagrams to the
DNS and mDNS ports become :class:`DnsQuery` records, TCP segments go through
the reassembler in :mod:`toyaudit.ingest.tcp`, which yields HTTP exchanges
and TLS ClientHellos. Frames of other protocols are counted and ignored.

HTTP requests are delivered when their response is complete, or when their
connection ends without one, so observations come out roughly in the order
their exchanges finished, not in the order the requests started.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

from toyaudit.ingest.decode import LINKTYPES, TCP, UDP, decode_frame, format_address
from toyaudit.ingest.dns import DNS_PORTS, parse_dns_queries
from toyaudit.ingest.pcapfile import ProgressCallback, read_frames
from toyaudit.ingest.records import Coverage, DnsQuery, Endpoint, Evidence, Observation
from toyaudit.ingest.tcp import Reassembler

logger = logging.getLogger(__name__)


def read_capture(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int,
    progress: ProgressCallback | None = None,
) -> Iterator[Observation]:
    """Yield the observations of the pcap or pcapng file read from ``stream``.

    ``name`` goes into every :class:`Evidence`; ``total`` is the file size, for
    progress. Raises :class:`IngestError` only when the file header is
    unreadable; later damage ends the file with a coverage note.
    """
    reassembler = Reassembler(name)
    ready = reassembler.ready
    ignored: Counter[int] = Counter()
    """Frames not decoded, by link type (-1 for unsupported protocols)."""
    for number, linktype, _timestamp, frame in read_frames(
        stream, name, coverage, total, progress
    ):
        segment = decode_frame(linktype, frame)
        if segment is None:
            ignored[linktype if linktype not in LINKTYPES else -1] += 1
            continue
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
        elif protocol == UDP and destination_port in DNS_PORTS:
            yield from _dns_queries(name, segment, number)
    reassembler.close_all()
    yield from ready
    _note_losses(name, coverage, reassembler, ignored)


def _dns_queries(
    name: str,
    segment: tuple[int, bytes, int, bytes, int, int, int, int, bytes],
    number: int,
) -> Iterator[DnsQuery]:
    """One :class:`DnsQuery` per question of a DNS query datagram."""
    questions = parse_dns_queries(segment[8])
    if not questions:
        return
    evidence = Evidence(name, (number,))
    client = Endpoint(format_address(segment[1]), segment[2])
    server = Endpoint(format_address(segment[3]), segment[4])
    for question, qtype in questions:
        yield DnsQuery(evidence, client, server, question, qtype)


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
                "(toyaudit reads Ethernet, raw IP, Linux cooked and loopback)"
            )
    logger.debug("%s: %d frames of other protocols ignored", name, ignored[-1])
