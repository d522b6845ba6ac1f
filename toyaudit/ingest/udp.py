"""Turn UDP datagrams into observations: DNS, DHCP, SSDP, or classified payload.

Each datagram is recognised by port where the protocol has no magic (DNS and
mDNS to port 53 or 5353, DHCP to port 67, checked by its magic cookie) and
by content otherwise (HTTP-over-UDP start lines, for SSDP on port 1900 and
anywhere else). What is left is raw payload: to keep a voice stream from
flooding the report with one record per packet, datagrams are aggregated per
flow direction (addresses and ports) into at most one :class:`RawPayload` per
:data:`~toyaudit.ingest.payload.SAMPLE_LIMIT` bytes, classified from the
first datagram's magic bytes and the sampled bytes' entropy. A flow whose
datagrams carry RTP headers (RFC 3550 §5.1: version 2 and one SSRC
throughout) is reported as RTP media.

Every observation is timed by the capture time of its first datagram (an
aggregated payload by the first datagram of its window); a datagram cut into
IP fragments by the fragment that completed it.

User-visible limits: at most :data:`MAX_FLOWS` UDP flows are aggregated at
once; the least recently active is reported early to make room. QUIC is
reported as encrypted payload.
"""

from __future__ import annotations

from collections import OrderedDict

from toyaudit.ingest.decode import Segment, format_address
from toyaudit.ingest.dhcp import CLIENT_PORT, MAGIC_COOKIE, SERVER_PORT, parse_dhcp
from toyaudit.ingest.dns import DNS_HEADER, DNS_PORTS, parse_dns_queries
from toyaudit.ingest.payload import SAMPLE_LIMIT, classify_payload
from toyaudit.ingest.records import (
    DhcpMessage,
    DnsQuery,
    Endpoint,
    Evidence,
    Observation,
    PayloadKind,
    RawPayload,
    SsdpMessage,
)
from toyaudit.ingest.ssdp import parse_ssdp

MAX_FLOWS = 256
"""UDP flow directions aggregated at once."""
MAX_FRAMES = 64
"""Frame numbers named in the evidence of one aggregated payload."""

FlowKey = tuple[bytes, int, bytes, int]

_RTP_VERSION = 0x80
_RTCP_TYPES = range(72, 77)  # RTCP packet types 200-204 masked to 7 bits
_AUDIO_PAYLOAD_TYPES = frozenset(range(0, 24))  # RFC 3551 §6, static audio


class _Flow:
    """Datagrams of one flow direction since its last report."""

    __slots__ = (
        "payload_type",
        "sample",
        "size",
        "count",
        "frames",
        "ssrc",
        "rtp",
        "time",
    )

    def __init__(self, first: bytes, time: float | None) -> None:
        self.time = time
        """Capture time of the window's first datagram."""
        self.payload_type = first[1] & 0x7F if len(first) > 1 else 0
        self.count = 0
        self.sample = bytearray()
        self.size = 0
        self.frames: list[int] = []
        self.ssrc = first[8:12] if _rtp_header(first) else b""
        self.rtp = 0
        """Datagrams seen with an RTP header and this flow's SSRC."""


def _rtp_header(payload: bytes) -> bool:
    """Whether a datagram starts like an RTP (not RTCP) packet."""
    return (
        len(payload) >= 12
        and payload[0] & 0xC0 == _RTP_VERSION
        and payload[1] & 0x7F not in _RTCP_TYPES
    )


class DatagramReader:
    """Reads every UDP datagram of one capture file.

    :meth:`datagram` takes one decoded segment; observations collect in
    :attr:`ready`, which the caller empties. :meth:`flush` reports the raw
    payload still aggregated at the end of the file.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready: list[Observation] = []
        self.flows: OrderedDict[FlowKey, _Flow] = OrderedDict()

    def datagram(
        self, segment: Segment, frames: tuple[int, ...], time: float | None = None
    ) -> None:
        """Read one UDP datagram carried by ``frames``, captured at ``time``."""
        payload = segment[8]
        ports = (segment[2], segment[4])
        if ports[1] in DNS_PORTS or ports[0] in DNS_PORTS:
            if self._dns(segment, frames, time):
                return
        elif SERVER_PORT in ports or CLIENT_PORT in ports:
            if self._dhcp(segment, frames, time):
                return
        if payload[:1].isalpha() and self._ssdp(segment, frames, time):
            return
        if payload:
            self._aggregate(segment, frames, time)

    def flush(self) -> None:
        """Report every flow still aggregated."""
        while self.flows:
            key, flow = self.flows.popitem(last=False)
            self._report(key, flow)

    def _endpoints(self, segment: Segment) -> tuple[Endpoint, Endpoint]:
        """(sender, receiver): for UDP the sender is taken as the client."""
        return (
            Endpoint(format_address(segment[1]), segment[2]),
            Endpoint(format_address(segment[3]), segment[4]),
        )

    def _dns(
        self, segment: Segment, frames: tuple[int, ...], time: float | None
    ) -> bool:
        """DNS and mDNS queries: one observation per question.

        False when the datagram is too short for DNS; responses are read
        (and skipped) as DNS too.
        """
        questions = parse_dns_queries(segment[8])
        if not questions:
            return len(segment[8]) >= DNS_HEADER
        evidence = Evidence(self.name, frames, time=time)
        client, server = self._endpoints(segment)
        for question, qtype in questions:
            self.ready.append(DnsQuery(evidence, client, server, question, qtype))
        return True

    def _dhcp(
        self, segment: Segment, frames: tuple[int, ...], time: float | None
    ) -> bool:
        """A client's DHCP message; server replies are recognised and skipped."""
        request = parse_dhcp(segment[8])
        if request is None:
            return segment[8][236:240] == MAGIC_COOKIE
        client, server = self._endpoints(segment)
        evidence = Evidence(self.name, frames, time=time)
        self.ready.append(DhcpMessage(evidence, client, server, *request))
        return True

    def _ssdp(
        self, segment: Segment, frames: tuple[int, ...], time: float | None
    ) -> bool:
        """An SSDP or other HTTP-over-UDP message."""
        message = parse_ssdp(segment[8])
        if message is None:
            return False
        client, server = self._endpoints(segment)
        evidence = Evidence(self.name, frames, time=time)
        self.ready.append(SsdpMessage(evidence, client, server, *message))
        return True

    def _aggregate(
        self, segment: Segment, frames: tuple[int, ...], time: float | None
    ) -> None:
        """Add a datagram to its flow's window; report the window when full."""
        payload = segment[8]
        key = (segment[1], segment[2], segment[3], segment[4])
        flow = self.flows.get(key)
        if flow is None:
            flow = self.flows[key] = _Flow(payload, time)
            if len(self.flows) > MAX_FLOWS:
                self._report(*self.flows.popitem(last=False))
        else:
            self.flows.move_to_end(key)
        room = SAMPLE_LIMIT - len(flow.sample)
        if room > 0:
            flow.sample += payload[:room]
        flow.size += len(payload)
        flow.count += 1
        if len(flow.frames) < MAX_FRAMES:
            flow.frames.extend(frames)
        if flow.ssrc and payload[8:12] == flow.ssrc and payload[0] & 0xC0 == 0x80:
            flow.rtp += 1
        if flow.size >= SAMPLE_LIMIT:
            del self.flows[key]
            self._report(key, flow)

    def _report(self, key: FlowKey, flow: _Flow) -> None:
        """Deliver one aggregated window of a flow as a :class:`RawPayload`."""
        media: str | None
        if flow.rtp >= 2 and flow.rtp * 2 >= flow.count:
            kind, media = PayloadKind.MEDIA, _rtp_media_type(flow.payload_type)
        else:
            kind, media = classify_payload(flow.sample)
        client = Endpoint(format_address(key[0]), key[1])
        server = Endpoint(format_address(key[2]), key[3])
        self.ready.append(
            RawPayload(
                evidence=Evidence(self.name, tuple(flow.frames), time=flow.time),
                client=client,
                server=server,
                protocol="udp",
                from_client=True,
                kind=kind,
                size=flow.size,
                payload=bytes(flow.sample) if kind == PayloadKind.PLAINTEXT else b"",
                media_type=media,
            )
        )


def _rtp_media_type(payload_type: int) -> str:
    """What an RTP payload type says about the media (RFC 3551 §6)."""
    if payload_type in _AUDIO_PAYLOAD_TYPES:
        return "audio/rtp"
    if payload_type in (26, 31, 32, 33, 34):
        return "video/rtp"
    return "application/rtp"
