"""Parse the TLS handshake messages that travel in clear.

The ClientHello and ServerHello travel in clear before encryption starts
(RFC 8446 §4.1.2-4.1.3, RFC 5246 §7.4.1.2-7.4.1.3), and up to TLS 1.2 so does
the server's Certificate message (RFC 5246 §7.4.2). They may span several
TLS records and several TCP segments; :mod:`toyaudit.ingest.tlsstream`
gathers the handshake messages from the records, and the functions here
read their fields.

User-visible limits: only the first ClientHello of a connection is read (a
HelloRetryRequest's second ClientHello is not); QUIC (TLS over UDP) is not
read. How much handshake is gathered per direction is bounded by
:data:`toyaudit.ingest.tlsstream.MAX_HANDSHAKE`.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from toyaudit.ingest.wire import Cursor, MalformedPayloadError

logger = logging.getLogger(__name__)

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
