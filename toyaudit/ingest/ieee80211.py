"""Find the IP packet inside an unencrypted 802.11 data frame.

A Wi-Fi capture made in monitor mode holds 802.11 frames, with a radiotap
header in front (link type 127) or without one (link type 105). Only data
frames that are not protected carry readable IP: an open network, or a
capture decrypted afterwards (Wireshark's "decrypt and save"). Protected data
frames, management frames (beacons, probes) and control frames (ACKs) are
told apart by :func:`frame_kind` so the reader can say how many it could not
read.

Layout followed: radiotap (radiotap.org, "Radiotap header", the Flags field),
IEEE 802.11-2020 §9.2.4 (frame control, addresses, QoS and HT control) and
the LLC/SNAP header of RFC 1042 that carries an EtherType.

User-visible limits: A-MSDU aggregates and 802.11 fragments are counted as
unreadable; mesh control headers are not followed.
"""

from __future__ import annotations

import struct

RADIOTAP = 127
"""LINKTYPE_IEEE802_11_RADIOTAP."""
IEEE802_11 = 105
"""LINKTYPE_IEEE802_11, frames without a radio header."""
LINKTYPES = frozenset({RADIOTAP, IEEE802_11})

DATA = "data"
PROTECTED = "protected"
MANAGEMENT = "management"
CONTROL = "control"
OTHER = "other"

_TYPE_MANAGEMENT = 0
_TYPE_CONTROL = 1
_TYPE_DATA = 2
_TO_DS_FROM_DS = 0x03
_MORE_FRAGMENTS = 0x04
_PROTECTED = 0x40
_ORDER = 0x80
_QOS_SUBTYPE = 0x08
_NULL_SUBTYPE = 0x04
_AMSDU_PRESENT = 0x80
_SNAP = b"\xaa\xaa\x03\x00\x00\x00"
_SNAP_BRIDGE_TUNNEL = b"\xaa\xaa\x03\x00\x00\xf8"
_ETHERTYPE_VERSIONS = {0x0800: 4, 0x86DD: 6}

_RADIOTAP_TSFT = 0x01
_RADIOTAP_FLAGS = 0x02
_RADIOTAP_EXTENDED = 0x8000_0000
_RADIOTAP_BAD_FCS = 0x40

_unpack_radiotap = struct.Struct("<BxHI").unpack_from
_unpack_u16 = struct.Struct("!H").unpack_from
_unpack_u32 = struct.Struct("<I").unpack_from


def ip_offset(linktype: int, frame: bytes) -> tuple[int, int] | None:
    """(offset of the IP header, IP version) in an 802.11 frame, or None.

    None for every frame that is not an unprotected, unfragmented data frame
    carrying IPv4 or IPv6 behind LLC/SNAP. Short frames raise ``IndexError``
    or ``struct.error``, which the caller treats as undecodable.
    """
    start = 0
    if linktype == RADIOTAP:
        start = _radiotap_length(frame)
        if start < 0:
            return None
    control, flags = frame[start], frame[start + 1]
    if (control >> 2) & 0x03 != _TYPE_DATA or control & 0x03:
        return None
    if flags & (_PROTECTED | _MORE_FRAGMENTS) or control & (_NULL_SUBTYPE << 4):
        return None
    if _unpack_u16(frame, start + 22)[0] & 0x0F:
        return None  # a later fragment of an MSDU (802.11 §9.2.4.4.3)
    header = 30 if flags & _TO_DS_FROM_DS == _TO_DS_FROM_DS else 24
    if control & (_QOS_SUBTYPE << 4):
        if frame[start + header] & _AMSDU_PRESENT:
            return None
        header += 2
        if flags & _ORDER:
            header += 4  # HT control field (802.11 §9.2.4.6)
    llc = start + header
    if frame[llc : llc + 6] not in (_SNAP, _SNAP_BRIDGE_TUNNEL):
        return None
    version = _ETHERTYPE_VERSIONS.get(_unpack_u16(frame, llc + 6)[0])
    return None if version is None else (llc + 8, version)


def frame_kind(linktype: int, frame: bytes) -> str:
    """Say what kind of 802.11 frame this is, for the coverage count.

    One of :data:`DATA`, :data:`PROTECTED` (a data frame with the Protected
    bit), :data:`MANAGEMENT`, :data:`CONTROL` or :data:`OTHER` (too short or
    an unknown frame type).
    """
    try:
        start = _radiotap_length(frame) if linktype == RADIOTAP else 0
        if start < 0:
            return OTHER
        control, flags = frame[start], frame[start + 1]
    except (IndexError, struct.error):
        return OTHER
    kind = (control >> 2) & 0x03
    if kind == _TYPE_DATA:
        return PROTECTED if flags & _PROTECTED else DATA
    if kind == _TYPE_MANAGEMENT:
        return MANAGEMENT
    if kind == _TYPE_CONTROL:
        return CONTROL
    return OTHER


def _radiotap_length(frame: bytes) -> int:
    """Length of the radiotap header, or -1 if the frame's FCS is known bad."""
    version: int
    length: int
    present: int
    version, length, present = _unpack_radiotap(frame, 0)
    if version != 0 or length < 8 or length > len(frame):
        return -1
    if present & _RADIOTAP_FLAGS:
        tsft = present & _RADIOTAP_TSFT
        position = 8
        # Bit 31 announces one more presence word.
        while present & _RADIOTAP_EXTENDED and position < length:
            present = _unpack_u32(frame, position)[0]
            position += 4
        if tsft:
            position = (position + 7) & ~7  # TSFT is 8-byte aligned
            position += 8
        if position < length and frame[position] & _RADIOTAP_BAD_FCS:
            return -1
    return length


def coverage_note(name: str, kinds: dict[str, int]) -> str | None:
    """A coverage note for the 802.11 frames that could not be read, or None.

    ``kinds`` counts undecoded 802.11 frames by :func:`frame_kind`. Management
    and control frames carry no traffic and are only mentioned in the count.
    """
    protected = kinds.get(PROTECTED, 0)
    if not protected:
        return None
    return (
        f"{name}: {protected} encrypted 802.11 frames could not be read "
        "(decrypt the capture, e.g. with Wireshark and the network's "
        "passphrase, then export it); "
        f"{kinds.get(MANAGEMENT, 0) + kinds.get(CONTROL, 0)} management and "
        "control frames carry no traffic"
    )
