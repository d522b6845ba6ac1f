"""Write synthetic, deterministic network traffic for demos, tests and benchmarks.

The bytes are built by hand with :mod:`struct`, so a large capture takes
seconds rather than the minutes a packet library would need, and the same
arguments always give the same bytes: nothing reads the clock, and every
"random" field comes from a seeded :class:`random.Random`. The layers are the
ones a toy's traffic needs: a classic pcap file (RFC draft "PCAP Capture File
Format"), Ethernet II, IPv4 (RFC 791), UDP (RFC 768), TCP (RFC 9293), DNS A
records (RFC 1035), the first TLS handshake records (RFC 8446) and HTTP/1.1
messages (RFC 9112). Checksums are correct, so dissectors accept the frames.
"""

from __future__ import annotations

import http
import logging
import random
import socket
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

logger = logging.getLogger(__name__)

LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV4 = 0x0800
PROTOCOL_TCP = 6
PROTOCOL_UDP = 17
TLS1_2 = 0x0303
TLS1_3 = 0x0304

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_PSH = 0x08
TCP_ACK = 0x10

_PCAP_MAGIC_MICROSECONDS = 0xA1B2C3D4
_IPV4_DONT_FRAGMENT = 0x4000
_DNS_TYPE_A = 1
_DNS_CLASS_IN = 1
_TLS_HANDSHAKE = 22
_TLS_CHANGE_CIPHER_SPEC = 20
_TLS_APPLICATION_DATA = 23
_TLS_MAX_PLAINTEXT = 16384  # RFC 8446 section 5.1
_TLS_AEAD_OVERHEAD = 17  # one content-type byte and a 16-byte GCM tag
_X25519 = 0x001D
_CIPHER_SUITES = (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9)
_SIGNATURE_ALGORITHMS = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0601)
_SUPPORTED_GROUPS = (_X25519, 0x0017, 0x0018)


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


def _dns_name(name: str) -> bytes:
    """Encode a domain name as DNS labels (RFC 1035 section 3.1)."""
    encoded = b""
    for label in name.strip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError(f"{name!r}: DNS labels must be 1 to 63 bytes long")
        encoded += bytes([len(raw)]) + raw
    return encoded + b"\x00"


def dns_query(transaction_id: int, name: str) -> bytes:
    """Build a recursive DNS query for the A record of ``name``."""
    header = struct.pack("!HHHHHH", transaction_id, 0x0100, 1, 0, 0, 0)
    return header + _dns_name(name) + struct.pack("!HH", _DNS_TYPE_A, _DNS_CLASS_IN)


def dns_response(
    transaction_id: int, name: str, addresses: Sequence[str], ttl: int = 300
) -> bytes:
    """Build the answer to :func:`dns_query`: one A record per address."""
    header = struct.pack("!HHHHHH", transaction_id, 0x8180, 1, len(addresses), 0, 0)
    question = _dns_name(name) + struct.pack("!HH", _DNS_TYPE_A, _DNS_CLASS_IN)
    answers = b""
    for address in addresses:
        # 0xC00C points back at the name in the question (RFC 1035 section 4.1.4).
        record = struct.pack("!HHHIH", 0xC00C, _DNS_TYPE_A, _DNS_CLASS_IN, ttl, 4)
        answers += record + socket.inet_aton(address)
    return header + question + answers


def _vector(length_bytes: int, body: bytes) -> bytes:
    """Prefix ``body`` with its length, as TLS variable-length vectors are."""
    return len(body).to_bytes(length_bytes, "big") + body


def _u16s(values: Sequence[int]) -> bytes:
    """Pack integers as consecutive big-endian 16-bit fields."""
    return struct.pack(f"!{len(values)}H", *values)


def _extension(kind: int, body: bytes) -> bytes:
    return struct.pack("!H", kind) + _vector(2, body)


def _tls_record(content_type: int, body: bytes, version: int = TLS1_2) -> bytes:
    return struct.pack("!BHH", content_type, version, len(body)) + body


def _seeded(seed: int) -> random.Random:
    """A generator for synthetic bytes; reproducible on purpose, never for secrets."""
    return random.Random(seed)  # noqa: S311


def tls_client_hello(
    sni: str,
    alpn: Sequence[str] = ("http/1.1",),
    versions: Sequence[int] = (TLS1_3, TLS1_2),
    *,
    seed: int = 0,
) -> bytes:
    """Build a TLS record holding a ClientHello as a modern client sends it.

    Random, legacy session id and x25519 key share come from ``seed``. The
    extensions are server_name, supported_versions, ALPN, supported_groups,
    key_share and signature_algorithms (RFC 8446 section 4.1.2, RFC 6066,
    RFC 7301).
    """
    rng = _seeded(seed)
    server_name = _vector(2, b"\x00" + _vector(2, sni.encode("ascii")))
    protocols = b"".join(_vector(1, name.encode("ascii")) for name in alpn)
    key_share = _u16s([_X25519]) + _vector(2, rng.randbytes(32))
    extensions = b"".join(
        (
            _extension(0, server_name),
            _extension(43, _vector(1, _u16s(versions))),
            _extension(16, _vector(2, protocols)),
            _extension(10, _vector(2, _u16s(_SUPPORTED_GROUPS))),
            _extension(51, _vector(2, key_share)),
            _extension(13, _vector(2, _u16s(_SIGNATURE_ALGORITHMS))),
        )
    )
    fixed = _u16s([TLS1_2]) + rng.randbytes(32) + _vector(1, rng.randbytes(32))
    suites_and_compression = _vector(2, _u16s(_CIPHER_SUITES)) + b"\x01\x00"
    hello = fixed + suites_and_compression + _vector(2, extensions)
    return _tls_record(_TLS_HANDSHAKE, b"\x01" + _vector(3, hello), version=0x0301)


def tls_server_hello(client_hello: bytes, *, seed: int = 0) -> bytes:
    """Build the TLS 1.3 answer to a :func:`tls_client_hello`: ServerHello + CCS.

    The ServerHello echoes the client's legacy session id, picks
    TLS_AES_128_GCM_SHA256 and x25519, and is followed by the compatibility
    ChangeCipherSpec record (RFC 8446 appendix D.4).
    """
    rng = _seeded(seed)
    session_id = client_hello[44 : 44 + client_hello[43]]
    key_share = _u16s([_X25519]) + _vector(2, rng.randbytes(32))
    extensions = _extension(43, _u16s([TLS1_3])) + _extension(51, key_share)
    fixed = _u16s([TLS1_2]) + rng.randbytes(32) + _vector(1, session_id)
    hello = fixed + _u16s([0x1301]) + b"\x00" + _vector(2, extensions)
    handshake = _tls_record(_TLS_HANDSHAKE, b"\x02" + _vector(3, hello))
    return handshake + _tls_record(_TLS_CHANGE_CIPHER_SPEC, b"\x01")


def tls_application_data(plaintext_size: int, *, seed: int = 0) -> bytes:
    """Build opaque application-data records as long as ``plaintext_size`` encrypted.

    The content is seeded noise: it stands in for ciphertext, so nothing can
    be read from it, just as in a real capture without keys.
    """
    rng = _seeded(seed)
    records: list[bytes] = []
    remaining = plaintext_size
    while remaining > 0 or not records:
        chunk = min(remaining, _TLS_MAX_PLAINTEXT)
        body = rng.randbytes(chunk + _TLS_AEAD_OVERHEAD)
        records.append(_tls_record(_TLS_APPLICATION_DATA, body))
        remaining -= chunk
    return b"".join(records)


def _header_block(
    start_line: str, headers: Mapping[str, str], body: bytes, framed: bool
) -> bytes:
    """Join a start line, headers and body into one HTTP/1.1 message (RFC 9112).

    ``framed`` adds Content-Length even for an empty body, as a response on a
    kept-alive connection needs (RFC 9112 section 6.3).
    """
    lines = [start_line]
    for name, value in headers.items():
        if any(char in name + value for char in "\r\n"):
            raise ValueError(f"HTTP header {name!r} holds a line break")
        lines.append(f"{name}: {value}")
    has_length = any(name.lower() == "content-length" for name in headers)
    if (body or framed) and not has_length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http_request(
    method: str,
    host: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    """Build an HTTP/1.1 request; ``Host`` comes first and Content-Length is added."""
    all_headers = {"Host": host, **(headers or {})}
    return _header_block(f"{method} {path} HTTP/1.1", all_headers, body, False)


def http_response(
    status: int, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> bytes:
    """Build an HTTP/1.1 response with the standard reason phrase for ``status``."""
    start_line = f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"
    framed = status >= 200 and status not in (204, 304)
    return _header_block(start_line, headers or {}, body, framed)
