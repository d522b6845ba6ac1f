"""Parse the TLS handshake messages that travel in clear.

The ClientHello and ServerHello travel in clear before encryption starts
(RFC 8446 §4.1.2-4.1.3, RFC 5246 §7.4.1.2-7.4.1.3), and up to TLS 1.2 so does
the server's Certificate message (RFC 5246 §7.4.2). They may span several
TLS records and several TCP segments; :mod:`toyaudit.ingest.tlsstream`
gathers the handshake messages from the records, and the functions here
read their fields. :func:`extract_client_hello` gathers and reads a
ClientHello from the start of a stream in one call.

User-visible limits: only the first ClientHello of a connection is read (a
HelloRetryRequest's second ClientHello is not); a ClientHello larger than
64 KiB is not read; QUIC (TLS over UDP) is not read.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from toyaudit.ingest.wire import Cursor, MalformedPayloadError

logger = logging.getLogger(__name__)

MORE = 0
"""Result state: the stream does not hold the whole ClientHello yet."""
DONE = 1
"""Result state: a ClientHello was found and read."""
INVALID = 2
"""Result state: the stream does not start with a readable ClientHello."""

MAX_HELLO_LENGTH = 1 << 16
"""Largest ClientHello handshake message read, in bytes."""

_HANDSHAKE_RECORD = 22
_CLIENT_HELLO = 1
_MAX_RECORD_LENGTH = (1 << 14) + 2048  # RFC 5246 §6.2.3, the ciphertext bound
_EXTENSION_SERVER_NAME = 0
_EXTENSION_ALPN = 16
_EXTENSION_SUPPORTED_VERSIONS = 43
_HOST_NAME = 0


_EXTENSION_SIGNATURE_ALGORITHMS = 13
_MAX_CERTIFICATES = 16
_HELLO_RETRY_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)
"""The ServerHello random that marks a HelloRetryRequest (RFC 8446 §4.1.3)."""


class ClientHello(NamedTuple):
    """The fields of a ClientHello that the audit looks at."""

    legacy_version: int
    cipher_suites: tuple[int, ...]
    sni: str | None
    supported_versions: tuple[int, ...]
    alpn: tuple[str, ...]
    extensions: tuple[int, ...] = ()
    """Extension types in the order the client sent them."""
    signature_algorithms: tuple[int, ...] = ()
    """The ``signature_algorithms`` extension's list, in the client's order."""


class ServerHello(NamedTuple):
    """What a ServerHello says was negotiated."""

    version: int
    """``supported_versions`` if the server sent it, else ``legacy_version``."""
    cipher_suite: int
    alpn: str | None
    retry: bool
    """True for a HelloRetryRequest, which asks for a second ClientHello."""


def looks_like_client_hello(stream_start: bytes | bytearray) -> bool | None:
    """Whether a stream starts like a TLS handshake record with a ClientHello.

    None when fewer than 6 bytes are available to decide.
    """
    if len(stream_start) < 6:
        if stream_start[:1] not in (b"", b"\x16"):
            return False
        return None
    return (
        stream_start[0] == _HANDSHAKE_RECORD
        and stream_start[1] == 3
        and stream_start[5] == _CLIENT_HELLO
    )


def extract_client_hello(
    stream_start: bytes | bytearray,
) -> tuple[int, int, ClientHello | None]:
    """Gather and parse the ClientHello from the records at the stream start.

    Returns ``(state, bytes used, hello)``: state is :data:`MORE`, :data:`DONE`
    or :data:`INVALID`; bytes used counts the records that carried the hello.
    """
    handshake = bytearray()
    position = 0
    while len(stream_start) >= position + 5:
        content_type, major = stream_start[position], stream_start[position + 1]
        length = int.from_bytes(stream_start[position + 3 : position + 5], "big")
        if content_type != _HANDSHAKE_RECORD or major != 3:
            return INVALID, position, None
        if length == 0 or length > _MAX_RECORD_LENGTH:
            return INVALID, position, None
        if len(stream_start) < position + 5 + length:
            return MORE, 0, None
        handshake += stream_start[position + 5 : position + 5 + length]
        position += 5 + length
        if len(handshake) >= 4:
            needed = 4 + int.from_bytes(handshake[1:4], "big")
            if handshake[0] != _CLIENT_HELLO or needed > MAX_HELLO_LENGTH:
                return INVALID, position, None
            if len(handshake) >= needed:
                hello = parse_client_hello(bytes(handshake[4:needed]))
                return (DONE if hello else INVALID), position, hello
    return MORE, 0, None


def parse_client_hello(body: bytes) -> ClientHello | None:
    """Read a ClientHello handshake body (after its 4-byte header).

    Returns None when a field runs past its end or the hello is malformed.
    """
    try:
        return _read_client_hello(Cursor(body))
    except MalformedPayloadError as error:
        logger.debug("malformed ClientHello: %s", error)
        return None


def _read_client_hello(cursor: Cursor) -> ClientHello:
    """Walk the ClientHello fields in RFC 8446 §4.1.2 order."""
    legacy_version = cursor.integer(2)
    cursor.raw(32)  # random
    cursor.vector(1)  # legacy_session_id
    suites = cursor.vector(2)
    cipher_suites = tuple(suites.integer(2) for _ in range(suites.remaining() // 2))
    cursor.vector(1)  # legacy_compression_methods
    sni: str | None = None
    supported_versions: tuple[int, ...] = ()
    alpn: tuple[str, ...] = ()
    signature_algorithms: tuple[int, ...] = ()
    types: list[int] = []
    extensions = cursor.vector(2) if cursor.remaining() else Cursor(b"")
    while extensions.remaining() >= 4:
        extension_type = extensions.integer(2)
        extension = extensions.vector(2)
        types.append(extension_type)
        if extension_type == _EXTENSION_SERVER_NAME and sni is None:
            sni = read_server_name(extension)
        elif extension_type == _EXTENSION_ALPN:
            alpn = _alpn(extension)
        elif extension_type == _EXTENSION_SUPPORTED_VERSIONS:
            supported_versions = _integers(extension.vector(1))
        elif extension_type == _EXTENSION_SIGNATURE_ALGORITHMS:
            signature_algorithms = _integers(extension.vector(2))
    return ClientHello(
        legacy_version,
        cipher_suites,
        sni,
        supported_versions,
        alpn,
        tuple(types),
        signature_algorithms,
    )


def parse_server_hello(body: bytes) -> ServerHello | None:
    """Read a ServerHello handshake body (after its 4-byte header).

    Returns None when a field runs past its end.
    """
    try:
        return _read_server_hello(Cursor(body))
    except MalformedPayloadError as error:
        logger.debug("malformed ServerHello: %s", error)
        return None


def _read_server_hello(cursor: Cursor) -> ServerHello:
    """Walk the ServerHello fields in RFC 8446 §4.1.3 order."""
    version = cursor.integer(2)
    retry = cursor.raw(32) == _HELLO_RETRY_RANDOM
    cursor.vector(1)  # legacy_session_id_echo
    cipher_suite = cursor.integer(2)
    cursor.integer(1)  # legacy_compression_method
    alpn: str | None = None
    extensions = cursor.vector(2) if cursor.remaining() else Cursor(b"")
    while extensions.remaining() >= 4:
        extension_type = extensions.integer(2)
        extension = extensions.vector(2)
        if extension_type == _EXTENSION_SUPPORTED_VERSIONS:
            version = extension.integer(2)  # the server names exactly one
        elif extension_type == _EXTENSION_ALPN:
            names = _alpn(extension)
            alpn = names[0] if names else None
    return ServerHello(version, cipher_suite, alpn, retry)


def parse_certificates(body: bytes) -> tuple[bytes, ...]:
    """The DER certificates of a TLS 1.2 Certificate message body, leaf first.

    Reads the ``certificate_list`` of RFC 5246 §7.4.2 (each entry a 3-byte
    length and the DER bytes); stops at the first entry that runs past the
    end, keeping those before it, and after :data:`_MAX_CERTIFICATES`.
    """
    certificates: list[bytes] = []
    try:
        entries = Cursor(body).vector(3)
        while entries.remaining() >= 3 and len(certificates) < _MAX_CERTIFICATES:
            entry = entries.vector(3)
            certificates.append(entry.raw(entry.remaining()))
    except MalformedPayloadError as error:
        logger.debug("malformed Certificate message: %s", error)
    return tuple(certificates)


def _integers(field: Cursor) -> tuple[int, ...]:
    """A vector of 16-bit values, such as versions or algorithm codes."""
    return tuple(field.integer(2) for _ in range(field.remaining() // 2))


def read_server_name(extension: Cursor) -> str | None:
    """The host_name entry of a server_name extension (RFC 6066 §3)."""
    if not extension.remaining():
        return None  # an empty server_name is legal in a ServerHello only
    names = extension.vector(2)
    while names.remaining() >= 3:
        name_type = names.integer(1)
        name = names.vector(2)
        if name_type == _HOST_NAME:
            raw = name.raw(name.remaining())
            return raw.decode("ascii", "backslashreplace").lower().rstrip(".")
    return None


def _alpn(extension: Cursor) -> tuple[str, ...]:
    """Protocol names of an ALPN extension (RFC 7301 §3.1)."""
    protocols = extension.vector(2)
    names: list[str] = []
    while protocols.remaining():
        name = protocols.vector(1)
        names.append(name.raw(name.remaining()).decode("ascii", "backslashreplace"))
    return tuple(names)
