"""Decode a captured frame down to its TCP or UDP payload with struct.

This is the hot path of packet ingest: one call per frame, no objects built,
a plain tuple out. Anything that is not TCP or UDP over IP is answered with
None, to be counted and ignored by the caller.

Link types read (LINKTYPE_* numbers of the pcap spec): NULL/loopback (0) and
OpenBSD loopback (108), Ethernet (1) with any number of 802.1Q/802.1ad VLAN
tags, raw IP (101, and 12 and 14 as BSD systems write it; 228 IPv4, 229 IPv6),
Linux cooked capture v1 (113) and v2 (276, Android's tcpdump), and
unprotected 802.11 data frames with (127) or without (105) a radiotap header.

IP fragments are not reassembled here: a fragment comes out as a tuple whose
protocol is :data:`IPV4_FRAGMENT` or :data:`IPV6_FRAGMENT`, for
:mod:`toyaudit.ingest.fragments` to put together, and :func:`decode_datagram`
reads the transport header of the whole datagram once it is complete.

User-visible limits:

* IPv6 extension headers are followed (hop-by-hop, routing, destination
  options, authentication, fragment); ESP is not.
* Tunnels (GRE, VXLAN, IP-in-IP, PPPoE) are counted but not decoded.
"""

from __future__ import annotations

import logging
import socket
import struct

from toyaudit.ingest import ieee80211

logger = logging.getLogger(__name__)

Segment = tuple[int, bytes, int, bytes, int, int, int, int, bytes]
"""(protocol, source IP, source port, destination IP, destination port,
TCP sequence number, TCP acknowledgement number, TCP flags, payload).

Addresses are the raw 4 or 16 address bytes; sequence, acknowledgement and
flags are 0 for UDP.

A fragment uses the same shape: (:data:`IPV4_FRAGMENT` or
:data:`IPV6_FRAGMENT`, source IP, identification, destination IP, upper-layer
protocol, byte offset of the fragment, 1 if more fragments follow else 0, 0,
fragment bytes).
"""

TCP = 6
UDP = 17
IPV4_FRAGMENT = -4
"""Protocol value of a decoded IPv4 fragment (see :data:`Segment`)."""
IPV6_FRAGMENT = -6
"""Protocol value of a decoded IPv6 fragment (see :data:`Segment`)."""

LINKTYPES = frozenset({0, 1, 12, 14, 101, 105, 108, 113, 127, 228, 229, 276})
"""Link types :func:`decode_frame` understands."""

_VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100})
_ETHERTYPE_VERSIONS = {0x0800: 4, 0x86DD: 6}
_RAW_IP = frozenset({12, 14, 101})
_NULL_FAMILIES = {2: 4, 10: 6, 24: 6, 28: 6, 30: 6}
"""Address families of the loopback header: AF_INET, and AF_INET6 on Linux,
NetBSD/OpenBSD, FreeBSD and macOS."""

_IPV6_OPTION_HEADERS = frozenset({0, 43, 60})
_IPV6_FRAGMENT = 44
_IPV6_AUTHENTICATION = 51

ETHERNET = 1
"""LINKTYPE_ETHERNET."""

# The common frame: an untagged Ethernet II frame carrying an unfragmented
# IPv4 packet without options, its TCP or UDP header at byte 34. The audit's
# hot path reads it with these, to the same results as decode_frame.
COMMON_IPV4 = b"\x08\x00\x45"
"""Bytes 12-14 of a common frame: EtherType IPv4, version 4, 5 header words."""
COMMON_PORTS_END = 38
"""Ethernet header (14) + IPv4 header (20) + the two ports (4)."""
COMMON_TCP_END = 48
"""... + the rest of the fixed TCP fields up to the flags (10)."""
COMMON_UDP_END = 40
"""... + the UDP length and checksum (4)."""

unpack_common_tcp = struct.Struct("!2xH8x4s4sHHIIH").unpack_from
"""From byte 14 of a common frame: total length, source, destination, ports,
sequence, acknowledgement, data offset and flags."""
_unpack_common_udp = struct.Struct("!2xH8x4s4sHHH").unpack_from

_unpack_u16 = struct.Struct("!H").unpack_from
_unpack_u32 = struct.Struct("!I").unpack_from
_unpack_tcp = struct.Struct("!HHIIH").unpack_from
_unpack_udp = struct.Struct("!HHH").unpack_from


def decode_frame(linktype: int, frame: bytes) -> Segment | None:
    """Decode ``frame`` of link type ``linktype`` to a TCP or UDP segment.

    Returns None for every frame that is not TCP or UDP over IPv4 or IPv6, or
    that is too short or malformed to decode.
    """
    try:
        located = _network_layer(linktype, frame)
        if located is None:
            return None
        offset, version = located
        if version == 4:
            return _ipv4(frame, offset)
        if version == 6:
            return _ipv6(frame, offset)
    except (IndexError, struct.error):
        logger.debug("frame too short for its headers (link type %d)", linktype)
    return None


def common_udp_segment(frame: bytes) -> Segment:
    """The segment of a common frame that carries UDP (at least
    :data:`COMMON_UDP_END` bytes long), as :func:`decode_frame` gives it."""
    total, source, destination, source_port, destination_port, length = (
        _unpack_common_udp(frame, 14)
    )
    end = 14 + total if total >= 20 else len(frame)
    if length >= 8:
        end = min(end, 34 + length)
    payload = frame[42:end]
    return UDP, source, source_port, destination, destination_port, 0, 0, 0, payload


def format_address(address: bytes) -> str:
    """Render raw IPv4 or IPv6 address bytes the usual way."""
    family = socket.AF_INET if len(address) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, address)


def _network_layer(linktype: int, frame: bytes) -> tuple[int, int] | None:
    """(offset of the IP header, IP version) for a frame, or None if not IP."""
    if linktype == ETHERNET:
        offset = 12
        ethertype = _unpack_u16(frame, offset)[0]
        while ethertype in _VLAN_TYPES:
            offset += 4
            ethertype = _unpack_u16(frame, offset)[0]
        version = _ETHERTYPE_VERSIONS.get(ethertype)
        return None if version is None else (offset + 2, version)
    if linktype in _RAW_IP:
        return 0, frame[0] >> 4
    if linktype == 113:
        version = _ETHERTYPE_VERSIONS.get(_unpack_u16(frame, 14)[0])
        return None if version is None else (16, version)
    if linktype == 276:
        version = _ETHERTYPE_VERSIONS.get(_unpack_u16(frame, 0)[0])
        return None if version is None else (20, version)
    if linktype in (0, 108):
        # The family is in the capturing host's byte order: try both.
        family = int.from_bytes(frame[:4], "little")
        if family > 0xFFFF:
            family = int.from_bytes(frame[:4], "big")
        version = _NULL_FAMILIES.get(family)
        return None if version is None else (4, version)
    if linktype in (228, 229):
        return 0, 4 if linktype == 228 else 6
    if linktype in (ieee80211.RADIOTAP, ieee80211.IEEE802_11):
        return ieee80211.ip_offset(linktype, frame)
    return None


def _ipv4(frame: bytes, offset: int) -> Segment | None:
    """Decode an IPv4 header at ``offset`` and the TCP/UDP header after it."""
    version_length = frame[offset]
    header_length = (version_length & 0x0F) * 4
    if version_length >> 4 != 4 or header_length < 20:
        return None
    fragment = _unpack_u16(frame, offset + 6)[0] & 0x3FFF
    total = _unpack_u16(frame, offset + 2)[0]
    # Total length 0 appears with TCP segmentation offload; trust the frame.
    end = offset + total if total >= header_length else len(frame)
    source = frame[offset + 12 : offset + 16]
    destination = frame[offset + 16 : offset + 20]
    start = offset + header_length
    if fragment:  # more fragments (0x2000) or a fragment offset (RFC 791 §3.1)
        return (
            IPV4_FRAGMENT,
            source,
            _unpack_u16(frame, offset + 4)[0],
            destination,
            frame[offset + 9],
            (fragment & 0x1FFF) * 8,
            fragment >> 13,
            0,
            frame[start:end],
        )
    return _transport(frame[offset + 9], source, destination, frame, start, end)


def _ipv6(frame: bytes, offset: int) -> Segment | None:
    """Decode an IPv6 header at ``offset``, its extension headers, then TCP/UDP."""
    if frame[offset] >> 4 != 6:
        return None
    payload_length = _unpack_u16(frame, offset + 4)[0]
    next_header = frame[offset + 6]
    source = frame[offset + 8 : offset + 24]
    destination = frame[offset + 24 : offset + 40]
    start = offset + 40
    end = start + payload_length if payload_length else len(frame)
    return _ipv6_chain(next_header, source, destination, frame, start, end, True)


def _ipv6_chain(
    next_header: int,
    source: bytes,
    destination: bytes,
    frame: bytes,
    start: int,
    end: int,
    fragments_allowed: bool,
) -> Segment | None:
    """Follow IPv6 extension headers from ``start`` to TCP, UDP or a fragment."""
    for _ in range(8):
        if next_header in _IPV6_OPTION_HEADERS:
            header_length = (frame[start + 1] + 1) * 8
        elif next_header == _IPV6_AUTHENTICATION:
            header_length = (frame[start + 1] + 2) * 4
        elif next_header == _IPV6_FRAGMENT:
            offset_flags = _unpack_u16(frame, start + 2)[0]
            if offset_flags & 0xFFF9 and fragments_allowed:
                return (
                    IPV6_FRAGMENT,
                    source,
                    _unpack_u32(frame, start + 4)[0],
                    destination,
                    frame[start],
                    offset_flags & 0xFFF8,
                    offset_flags & 1,
                    0,
                    frame[start + 8 : end],
                )
            header_length = 8  # an atomic fragment (RFC 6946): the whole packet
        else:
            break
        next_header = frame[start]
        start += header_length
    return _transport(next_header, source, destination, frame, start, end)


def decode_datagram(
    kind: int, protocol: int, source: bytes, destination: bytes, datagram: bytes
) -> Segment | None:
    """Decode the transport header of a reassembled IP datagram.

    ``kind`` is :data:`IPV4_FRAGMENT` or :data:`IPV6_FRAGMENT`; ``protocol``
    is the protocol (IPv4) or next header (IPv6) of the fragments, and
    ``datagram`` the reassembled bytes after the IP header (and, for IPv6,
    after the fragment header).
    """
    try:
        if kind == IPV6_FRAGMENT:
            return _ipv6_chain(
                protocol, source, destination, datagram, 0, len(datagram), False
            )
        return _transport(protocol, source, destination, datagram, 0, len(datagram))
    except (IndexError, struct.error):
        logger.debug("reassembled datagram too short for its headers")
    return None


def _transport(
    protocol: int,
    source: bytes,
    destination: bytes,
    frame: bytes,
    start: int,
    end: int,
) -> Segment | None:
    """Decode the TCP or UDP header at ``start``; the payload stops at ``end``."""
    if protocol == TCP:
        source_port, destination_port, sequence, acknowledgement, offset_flags = (
            _unpack_tcp(frame, start)
        )
        payload_start = start + (offset_flags >> 12) * 4
        if payload_start < start + 20:
            return None
        payload = frame[payload_start:end]
        return (
            TCP,
            source,
            source_port,
            destination,
            destination_port,
            sequence,
            acknowledgement,
            offset_flags & 0x01FF,
            payload,
        )
    if protocol == UDP:
        source_port, destination_port, length = _unpack_udp(frame, start)
        if length >= 8:
            end = min(end, start + length)
        payload = frame[start + 8 : end]
        return UDP, source, source_port, destination, destination_port, 0, 0, 0, payload
    return None
