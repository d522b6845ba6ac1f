"""Build the application messages that ride on synthetic toy traffic.

These are the payloads :mod:`toyaudit.synth` carries in its UDP datagrams
and TCP conversations: DNS queries and their A-record answers (RFC 1035),
the first records of a TLS handshake, ClientHello, ServerHello with the
compatibility ChangeCipherSpec, then opaque application data (RFC 8446,
with server_name from RFC 6066 and ALPN from RFC 7301), and HTTP/1.1
requests and responses (RFC 9112). Each builder returns bare payload bytes
and knows nothing of addresses, ports or frames, so this module imports
nothing from :mod:`toyaudit.synth`.

The bytes are packed by hand with :mod:`struct`, plus the standard library's
address parser and HTTP reason phrases; no packet library is involved. The
same arguments always give the same bytes: nothing reads the clock, and the
random-looking fields (TLS randoms, key shares, ciphertext) come from a
:class:`random.Random` seeded by the caller.
"""

from __future__ import annotations

import http
import logging
import random
import socket
import struct
from collections.abc import Mapping, Sequence

logger = logging.getLogger(__name__)

TLS1_2 = 0x0303
TLS1_3 = 0x0304

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


def dns_name(name: str) -> bytes:
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
    return header + dns_name(name) + struct.pack("!HH", _DNS_TYPE_A, _DNS_CLASS_IN)


def dns_response(
    transaction_id: int, name: str, addresses: Sequence[str], ttl: int = 300
) -> bytes:
    """Build the answer to :func:`dns_query`: one A record per address."""
    header = struct.pack("!HHHHHH", transaction_id, 0x8180, 1, len(addresses), 0, 0)
    question = dns_name(name) + struct.pack("!HH", _DNS_TYPE_A, _DNS_CLASS_IN)
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
    """One hello extension: its type, then its body as a 16-bit vector."""
    return struct.pack("!H", kind) + _vector(2, body)


def _tls_record(content_type: int, body: bytes, version: int = TLS1_2) -> bytes:
    """Wrap ``body`` in a TLS record header (RFC 8446 section 5.1)."""
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
