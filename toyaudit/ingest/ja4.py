"""A JA4-style fingerprint of a TLS client, from its ClientHello.

Two toys built on the same network library send ClientHellos that differ
only in their random bytes and server name; a fingerprint of the rest tells
which TLS stack (and often which SDK) a toy uses. toyaudit follows the shape
of FoxIO's JA4 client fingerprint, three parts joined by ``_``; docs/ingest.md
describes each part. GREASE values (RFC 8701) are left out everywhere, since
clients pick them at random.
"""

from __future__ import annotations

import hashlib

from toyaudit.ingest.tls import ClientHello

_VERSION_CODES = {
    0x0304: "13",
    0x0303: "12",
    0x0302: "11",
    0x0301: "10",
    0x0300: "s3",
    0x0002: "s2",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}
_SERVER_NAME = 0x0000
_ALPN = 0x0010
_EMPTY_HASH = "000000000000"


def is_grease(value: int) -> bool:
    """Whether a 16-bit code point is a GREASE value (0x0A0A, 0x1A1A, ...)."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


def ja4_fingerprint(hello: ClientHello, transport: str = "t") -> str:
    """The fingerprint of ``hello``; ``transport`` is ``t`` (TCP) or ``q`` (QUIC)."""
    return "_".join((_summary(hello, transport), _ciphers(hello), _extensions(hello)))


def _summary(hello: ClientHello, transport: str) -> str:
    """Part a: transport, version, SNI, counts and ALPN, readable as is."""
    offered = [
        version for version in hello.supported_versions if not is_grease(version)
    ]
    version = max(offered) if offered else hello.legacy_version
    if hello.extensions:
        has_name = _SERVER_NAME in hello.extensions
    else:
        has_name = hello.sni is not None
    ciphers = sum(1 for suite in hello.cipher_suites if not is_grease(suite))
    extensions = sum(1 for kind in hello.extensions if not is_grease(kind))
    return (
        transport
        + _VERSION_CODES.get(version, "00")
        + ("d" if has_name else "i")
        + f"{min(ciphers, 99):02d}{min(extensions, 99):02d}"
        + _alpn_code(hello.alpn[0] if hello.alpn else "")
    )


def _alpn_code(protocol: str) -> str:
    """First and last character of the first ALPN value ("00" without one).

    A value that does not start and end with an ASCII letter or digit is
    represented by the first and last character of its hex form instead.
    """
    if not protocol:
        return "00"
    first, last = protocol[0], protocol[-1]
    if first.isascii() and first.isalnum() and last.isascii() and last.isalnum():
        return first + last
    encoded = protocol.encode("utf-8", "backslashreplace").hex()
    return encoded[0] + encoded[-1]


def _ciphers(hello: ClientHello) -> str:
    """Part b: hash of the sorted cipher suites."""
    suites = sorted(
        f"{suite:04x}" for suite in hello.cipher_suites if not is_grease(suite)
    )
    return _truncated_hash(",".join(suites)) if suites else _EMPTY_HASH


def _extensions(hello: ClientHello) -> str:
    """Part c: hash of the sorted extensions, then the signature algorithms.

    Server name and ALPN are left out here, as part a already shows them;
    the signature algorithms keep the client's order, which is its preference.
    """
    kinds = sorted(
        f"{kind:04x}"
        for kind in hello.extensions
        if not is_grease(kind) and kind not in (_SERVER_NAME, _ALPN)
    )
    if not kinds:
        return _EMPTY_HASH
    text = ",".join(kinds)
    algorithms = [
        f"{algorithm:04x}"
        for algorithm in hello.signature_algorithms
        if not is_grease(algorithm)
    ]
    if algorithms:
        text += "_" + ",".join(algorithms)
    return _truncated_hash(text)


def _truncated_hash(text: str) -> str:
    """The first 12 hex digits of the SHA-256 of ``text``."""
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]
