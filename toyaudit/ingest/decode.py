"""Decode a captured frame down to its TCP or UDP payload with struct.

This is the hot path of packet ingest: one call per frame, no objects built,
a plain tuple out. Anything that is not TCP or UDP over IP is answered with
None, to be counted and ignored by the caller.

Link types read (LINKTYPE_* numbers of the pcap spec): NULL/loopback (0) and
OpenBSD loopback (108), Ethernet (1) with any number of 802.1Q/802.1ad VLAN
tags, raw IP (101, and 12 and 14 as BSD systems write it; 228 IPv4, 229 IPv6),
Linux cooked capture v1 (113) and v2 (276, Android's tcpdump).

User-visible limits:

* IPv4 fragments: the first fragment is decoded as if it were whole; later
  fragments are dropped, so a message split by IP fragmentation is cut short.
* IPv6 extension headers are followed (hop-by-hop, routing, destination
  options, authentication, first fragments); ESP and later fragments are not.
* Tunnels (GRE, VXLAN, IP-in-IP, PPPoE) and Wi-Fi (802.11/radiotap) frames
  are counted but not decoded.
"""

from __future__ import annotations

import logging
import socket
import struct

logger = logging.getLogger(__name__)

Segment = tuple[int, bytes, int, bytes, int, int, int, int, bytes]
"""(protocol, source IP, source port, destination IP, destination port,
TCP sequence number, TCP acknowledgement number, TCP flags, payload).

Addresses are the raw 4 or 16 address bytes; sequence, acknowledgement and
flags are 0 for UDP.
"""

TCP = 6
UDP = 17

LINKTYPES = frozenset({0, 1, 12, 14, 101, 108, 113, 228, 229, 276})
"""Link types :func:`decode_frame` understands."""

_ETHERNET = 1
_VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100})
_ETHERTYPE_VERSIONS = {0x0800: 4, 0x86DD: 6}
_RAW_IP = frozenset({12, 14, 101})
_NULL_FAMILIES = {2: 4, 10: 6, 24: 6, 28: 6, 30: 6}
"""Address families of the loopback header: AF_INET, and AF_INET6 on Linux,
NetBSD/OpenBSD, FreeBSD and macOS."""

_IPV6_OPTION_HEADERS = frozenset({0, 43, 60})
_IPV6_FRAGMENT = 44
_IPV6_AUTHENTICATION = 51

_unpack_u16 = struct.Struct("!H").unpack_from
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


def format_address(address: bytes) -> str:
    """Render raw IPv4 or IPv6 address bytes the usual way."""
    family = socket.AF_INET if len(address) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, address)


def _network_layer(linktype: int, frame: bytes) -> tuple[int, int] | None:
    """(offset of the IP header, IP version) for a frame, or None if not IP."""
    if linktype == _ETHERNET:
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
    return None


def _ipv4(frame: bytes, offset: int) -> Segment | None:
    """Decode an IPv4 header at ``offset`` and the TCP/UDP header after it."""
    version_length = frame[offset]
    header_length = (version_length & 0x0F) * 4
    if version_length >> 4 != 4 or header_length < 20:
        return None
    if _unpack_u16(frame, offset + 6)[0] & 0x1FFF:
        # TODO: reassemble IPv4 fragments; until then a DNS answer or HTTP
        # segment split by IP fragmentation is read only up to its first
        # fragment. A fragment table keyed by (source, destination, id) would fix it.
        return None  # not the first fragment: no transport header here
    total = _unpack_u16(frame, offset + 2)[0]
    # Total length 0 appears with TCP segmentation offload; trust the frame.
    end = offset + total if total >= header_length else len(frame)
    source = frame[offset + 12 : offset + 16]
    destination = frame[offset + 16 : offset + 20]
    start = offset + header_length
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
    for _ in range(8):
        if next_header in _IPV6_OPTION_HEADERS:
            header_length = (frame[start + 1] + 1) * 8
        elif next_header == _IPV6_AUTHENTICATION:
            header_length = (frame[start + 1] + 2) * 4
        elif next_header == _IPV6_FRAGMENT:
            if _unpack_u16(frame, start + 2)[0] & 0xFFF8:
                return None  # not the first fragment
            header_length = 8
        else:
            break
        next_header = frame[start]
        start += header_length
    return _transport(next_header, source, destination, frame, start, end)


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
