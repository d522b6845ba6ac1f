"""Write synthetic, deterministic network traffic for demos, tests and benchmarks.

The bytes are built by hand with :mod:`struct`, so a large capture takes
seconds rather than the minutes a packet library would need, and the same
arguments always give the same bytes: nothing reads the clock. This module
holds the capture file and the layers under a toy's messages: a classic pcap
file (RFC draft "PCAP Capture File Format"), Ethernet II, IPv4 (RFC 791),
UDP (RFC 768), TCP (RFC 9293) and a TCP conversation that numbers and
acknowledges its segments. Checksums are correct, so dissectors accept the
frames. The payloads they carry (DNS, TLS handshakes, HTTP/1.1) are built by
:mod:`toyaudit.synthmessages`, which needs nothing from here.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

logger = logging.getLogger(__name__)

LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV4 = 0x0800
PROTOCOL_TCP = 6
PROTOCOL_UDP = 17

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_PSH = 0x08
TCP_ACK = 0x10

_PCAP_MAGIC_MICROSECONDS = 0xA1B2C3D4
_IPV4_DONT_FRAGMENT = 0x4000


@dataclass(frozen=True, slots=True)
class Host:
    """A machine on the captured network, known by its Ethernet and IPv4 address."""

    mac: str
    """Ethernet address as six colon-separated hex bytes, e.g. ``02:1a:7d:5e:33:c1``."""
    ip: str
    """IPv4 address in dotted form."""
    packed_mac: bytes = field(init=False, repr=False, compare=False)
    """The six bytes of :attr:`mac`, as they go on the wire."""
    packed_ip: bytes = field(init=False, repr=False, compare=False)
    """The four bytes of :attr:`ip`, as they go on the wire."""

    def __post_init__(self) -> None:
        """Pack both addresses once, so that building a frame costs no parsing."""
        packed_mac = bytes.fromhex(self.mac.replace(":", ""))
        if len(packed_mac) != 6:
            raise ValueError(f"{self.mac!r} is not a six-byte Ethernet address")
        object.__setattr__(self, "packed_mac", packed_mac)
        object.__setattr__(self, "packed_ip", socket.inet_aton(self.ip))


class TimedFrame(NamedTuple):
    """One Ethernet frame and the capture time it gets in the pcap."""

    timestamp: float
    """Seconds since the Unix epoch."""
    frame: bytes


class PcapWriter:
    """Write classic pcap: microsecond timestamps, little-endian, Ethernet frames."""

    def __init__(self, stream: BinaryIO, snaplen: int = 65535) -> None:
        """Write the file header to ``stream``, a binary file opened for writing."""
        self._stream = stream
        self._snaplen = snaplen
        header = struct.pack(
            "<IHHiIII", _PCAP_MAGIC_MICROSECONDS, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET
        )
        stream.write(header)

    def write(self, timestamp: float, frame: bytes) -> None:
        """Append one frame captured at ``timestamp`` (seconds since the epoch)."""
        seconds, micros = divmod(round(timestamp * 1_000_000), 1_000_000)
        captured = frame[: self._snaplen]
        record = struct.pack("<IIII", seconds, micros, len(captured), len(frame))
        self._stream.write(record + captured)

    def write_frames(self, frames: Iterable[TimedFrame]) -> None:
        """Append every frame of ``frames`` in the order given."""
        for timed in frames:
            self.write(timed.timestamp, timed.frame)


def internet_checksum(header_and_payload: bytes) -> int:
    """Return the RFC 1071 ones'-complement checksum of ``header_and_payload``.

    The ones'-complement sum of 16-bit words equals the big-endian integer of
    the bytes modulo 0xFFFF (2**16 is 1 modulo 0xFFFF), with 0xFFFF standing
    for zero; one big-integer remainder is far faster than a Python word loop.
    """
    if len(header_and_payload) % 2:
        header_and_payload += b"\x00"
    remainder = int.from_bytes(header_and_payload, "big") % 0xFFFF
    folded = remainder or (0xFFFF if any(header_and_payload) else 0)
    return 0xFFFF - folded


def ethernet_frame(source: Host, destination: Host, payload: bytes) -> bytes:
    """Wrap an IPv4 ``payload`` in an Ethernet II header."""
    header = destination.packed_mac + source.packed_mac
    return header + struct.pack("!H", ETHERTYPE_IPV4) + payload


def ipv4_packet(
    source: Host, destination: Host, protocol: int, payload: bytes, ident: int = 0
) -> bytes:
    """Build an IPv4 packet (no options, don't-fragment set) with a valid checksum."""
    fields = (0x45, 0, 20 + len(payload), ident & 0xFFFF, _IPV4_DONT_FRAGMENT, 64)
    addresses = source.packed_ip + destination.packed_ip
    header = struct.pack("!BBHHHBBH", *fields, protocol, 0) + addresses
    checksum = internet_checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


def _pseudo_header(
    source: Host, destination: Host, protocol: int, length: int
) -> bytes:
    """The IPv4 pseudo-header that UDP and TCP checksums cover (RFC 768, 9293)."""
    addresses = source.packed_ip + destination.packed_ip
    return addresses + struct.pack("!BBH", 0, protocol, length)


def udp_frame(
    source: Host,
    destination: Host,
    ports: tuple[int, int],
    payload: bytes,
    ident: int = 0,
) -> bytes:
    """Build an Ethernet frame holding one UDP datagram; ``ports`` is (source, dest)."""
    length = 8 + len(payload)
    header = struct.pack("!HHHH", ports[0], ports[1], length, 0)
    pseudo = _pseudo_header(source, destination, PROTOCOL_UDP, length)
    # RFC 768: a computed checksum of zero is sent as all ones.
    checksum = internet_checksum(pseudo + header + payload) or 0xFFFF
    segment = header[:6] + struct.pack("!H", checksum) + payload
    packet = ipv4_packet(source, destination, PROTOCOL_UDP, segment, ident)
    return ethernet_frame(source, destination, packet)


@dataclass(frozen=True, slots=True)
class TcpHeader:
    """The TCP header fields a synthetic segment varies."""

    source_port: int
    destination_port: int
    seq: int
    ack: int
    flags: int
    window: int = 64240
    options: bytes = b""
    """Raw option bytes; padded with zeros to a multiple of four."""


def tcp_frame(
    source: Host, destination: Host, tcp: TcpHeader, payload: bytes, ident: int = 0
) -> bytes:
    """Build an Ethernet frame carrying one TCP segment with a valid checksum."""
    options = tcp.options + b"\x00" * (-len(tcp.options) % 4)
    offset_and_flags = ((20 + len(options)) // 4) << 12 | tcp.flags
    ports = (tcp.source_port, tcp.destination_port)
    numbers = (tcp.seq & 0xFFFFFFFF, tcp.ack & 0xFFFFFFFF)
    header = struct.pack(
        "!HHIIHHHH", *ports, *numbers, offset_and_flags, tcp.window, 0, 0
    )
    segment = header + options + payload
    pseudo = _pseudo_header(source, destination, PROTOCOL_TCP, len(segment))
    checksum = internet_checksum(pseudo + segment)
    segment = segment[:16] + struct.pack("!H", checksum) + segment[18:]
    packet = ipv4_packet(source, destination, PROTOCOL_TCP, segment, ident)
    return ethernet_frame(source, destination, packet)


class TcpConversation:
    """One TCP connection between a client and a server, frame by frame.

    Every method returns the frames it produced; each frame is stamped
    ``step`` seconds after the previous one, starting at ``start``. Sequence
    and acknowledgement numbers follow RFC 9293, and every burst of data is
    acknowledged by the receiver.
    """

    def __init__(
        self,
        client: tuple[Host, int],
        server: tuple[Host, int],
        start: float,
        *,
        step: float = 0.001,
        mss: int = 1460,
        isn: tuple[int, int] = (0x1000_0000, 0x2000_0000),
    ) -> None:
        """Describe the connection; nothing is sent until :meth:`open`."""
        self.client, self.client_port = client
        self.server, self.server_port = server
        self.mss = mss
        self._clock_micros = round(start * 1_000_000)
        self._step_micros = round(step * 1_000_000)
        self._next_seq = {True: isn[0], False: isn[1]}
        self._ident = {True: 1, False: 1}

    @property
    def clock(self) -> float:
        """The time the next frame will get, in seconds since the epoch."""
        return self._clock_micros / 1_000_000

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass before the next frame, e.g. a server's think time."""
        self._clock_micros += round(seconds * 1_000_000)

    def open(self) -> list[TimedFrame]:
        """Return the three-way handshake: SYN, SYN-ACK, ACK (both SYNs carry MSS)."""
        mss_option = struct.pack("!BBH", 2, 4, self.mss)
        return [
            self._segment(True, TCP_SYN, b"", mss_option, consumes=1),
            self._segment(False, TCP_SYN | TCP_ACK, b"", mss_option, consumes=1),
            self._segment(True, TCP_ACK, b""),
        ]

    def send(self, from_client: bool, payload: bytes) -> list[TimedFrame]:
        """Return ``payload`` cut into MSS-sized segments, then the peer's ACK."""
        frames = []
        for offset in range(0, len(payload), self.mss):
            chunk = payload[offset : offset + self.mss]
            frames.append(self._segment(from_client, TCP_PSH | TCP_ACK, chunk))
        frames.append(self._segment(not from_client, TCP_ACK, b""))
        return frames

    def close(self) -> list[TimedFrame]:
        """Return the client-initiated close: FIN-ACK, FIN-ACK, ACK."""
        return [
            self._segment(True, TCP_FIN | TCP_ACK, b"", consumes=1),
            self._segment(False, TCP_FIN | TCP_ACK, b"", consumes=1),
            self._segment(True, TCP_ACK, b""),
        ]

    def _segment(
        self,
        from_client: bool,
        flags: int,
        payload: bytes,
        options: bytes = b"",
        consumes: int = 0,
    ) -> TimedFrame:
        """Build one segment, advance this side's sequence number and the clock."""
        seq = self._next_seq[from_client]
        ack = self._next_seq[not from_client] if flags & TCP_ACK else 0
        ports = (self.client_port, self.server_port)
        if not from_client:
            ports = (self.server_port, self.client_port)
        header = TcpHeader(*ports, seq, ack, flags, options=options)
        hosts = (
            (self.client, self.server) if from_client else (self.server, self.client)
        )
        frame = tcp_frame(*hosts, header, payload, self._ident[from_client])
        self._next_seq[from_client] = (seq + len(payload) + consumes) & 0xFFFFFFFF
        self._ident[from_client] += 1
        timed = TimedFrame(self.clock, frame)
        self._clock_micros += self._step_micros
        return timed
