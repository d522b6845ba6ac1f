"""Frame TLS handshake messages and read what decryption needs from the hellos.

The decryptor sees handshake bytes record by record, in clear before keys are
set up and decrypted afterwards. :class:`HandshakeStream` cuts one
direction's bytes into messages whatever the record boundaries (RFC 8446 §4,
RFC 5246 §7.4), keeping only the bodies of the two hellos so that a large
certificate chain costs no memory. :func:`read_client_hello` and
:func:`read_server_hello` take from the hellos the randoms, version, cipher
suite and extensions that select and shape the record keys.
"""

from __future__ import annotations

from typing import NamedTuple

from toyaudit.errors import IngestError
from toyaudit.ingest.tls import read_server_name
from toyaudit.ingest.wire import Cursor

CLIENT_HELLO = 1
"""Handshake message type of the ClientHello."""
SERVER_HELLO = 2
"""Handshake message type of the ServerHello (and HelloRetryRequest)."""
MAX_HELLO_LENGTH = 1 << 17
"""Largest ClientHello or ServerHello read, in bytes."""

_TLS13 = 0x0304
_EXTENSION_SERVER_NAME = 0
_KEPT_MESSAGES = frozenset({CLIENT_HELLO, SERVER_HELLO})
_EXTENSION_ENCRYPT_THEN_MAC = 22
_EXTENSION_EARLY_DATA = 42
_EXTENSION_SUPPORTED_VERSIONS = 43
# RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose random is
# SHA-256("HelloRetryRequest")
_RETRY_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)


class HandshakeTooLargeError(IngestError):
    """A hello is larger than :data:`MAX_HELLO_LENGTH`; it is not read."""


class ClientHelloFields(NamedTuple):
    """What a ClientHello tells the decryptor."""

    random: bytes
    """The 32-byte client random: the key log is looked up by it."""
    offers_tls13: bool
    """Whether supported_versions offers TLS 1.3."""
    offers_encrypt_then_mac: bool
    """Whether the encrypt_then_mac extension is offered (RFC 7366)."""
    offers_early_data: bool
    """Whether the client may send 0-RTT data (RFC 8446 §4.2.10)."""
    server_name: str | None = None
    """The host name of the server_name extension (SNI), if it has one."""


class ServerHelloFields(NamedTuple):
    """What a ServerHello tells the decryptor."""

    random: bytes
    """The 32-byte server random."""
    version: int
    """The negotiated version: supported_versions if sent, else legacy_version."""
    cipher_suite: int
    """The IANA code of the chosen cipher suite."""
    accepts_encrypt_then_mac: bool
    """Whether the server answered with the encrypt_then_mac extension."""
    retry: bool
    """Whether this is a HelloRetryRequest rather than a ServerHello."""


class HandshakeStream:
    """Splits one direction's handshake bytes into messages.

    Only the hellos are kept; the bodies of other messages (certificates
    above all) are counted through without being stored.
    """

    __slots__ = ("header", "kind", "remaining", "body")

    def __init__(self) -> None:
        self.header = bytearray()
        self.kind: int | None = None
        self.remaining = 0
        self.body = bytearray()

    def feed(self, fragment: bytes) -> list[tuple[int, bytes]]:
        """Return the (type, body) of every message that ``fragment`` completes.

        Bodies are empty for messages that are not kept. Raises
        :class:`HandshakeTooLargeError` for a hello too large to keep.
        """
        messages: list[tuple[int, bytes]] = []
        position = 0
        while position < len(fragment) or (
            self.kind is not None and not self.remaining
        ):
            if self.kind is None:
                position = self._read_header(fragment, position)
                if self.kind is None:
                    break
            take = min(self.remaining, len(fragment) - position)
            if self.kind in _KEPT_MESSAGES:
                self.body += fragment[position : position + take]
            position += take
            self.remaining -= take
            if not self.remaining:
                messages.append((self.kind, bytes(self.body)))
                self.kind = None
                self.body = bytearray()
        return messages

    def _read_header(self, fragment: bytes, position: int) -> int:
        """Take header bytes from ``fragment``; start a message once there are 4."""
        # RFC 8446 §4: msg_type (1 byte), length (uint24), then the body
        stop = position + 4 - len(self.header)
        self.header += fragment[position:stop]
        if len(self.header) == 4:
            self.kind = self.header[0]
            self.remaining = int.from_bytes(self.header[1:4], "big")
            self.header = bytearray()
            if self.kind in _KEPT_MESSAGES and self.remaining > MAX_HELLO_LENGTH:
                raise HandshakeTooLargeError(
                    f"hello of {self.remaining} bytes is larger than the "
                    f"{MAX_HELLO_LENGTH} bytes read"
                )
        return min(stop, len(fragment))


def read_client_hello(body: bytes) -> ClientHelloFields:
    """Read a ClientHello body; raises MalformedPayloadError when it is cut short."""
    cursor = Cursor(body)
    # RFC 8446 §4.1.2: legacy_version, random, legacy_session_id,
    # cipher_suites, legacy_compression_methods, extensions (optional in TLS 1.2)
    cursor.raw(2)
    random = cursor.raw(32)
    cursor.vector(1)
    cursor.vector(2)
    cursor.vector(1)
    extensions = _extensions(cursor)
    versions = extensions.get(_EXTENSION_SUPPORTED_VERSIONS, b"")
    # §4.2.1: a one-byte length, then two bytes per version
    offered = {versions[index : index + 2] for index in range(1, len(versions), 2)}
    server_name = extensions.get(_EXTENSION_SERVER_NAME)
    return ClientHelloFields(
        random,
        _TLS13.to_bytes(2, "big") in offered,
        _EXTENSION_ENCRYPT_THEN_MAC in extensions,
        _EXTENSION_EARLY_DATA in extensions,
        None if server_name is None else read_server_name(Cursor(server_name)),
    )


def read_server_hello(body: bytes) -> ServerHelloFields:
    """Read a ServerHello body; raises MalformedPayloadError when it is cut short."""
    cursor = Cursor(body)
    # RFC 8446 §4.1.3: legacy_version, random, legacy_session_id_echo,
    # cipher_suite, legacy_compression_method, extensions
    legacy_version = cursor.integer(2)
    random = cursor.raw(32)
    cursor.vector(1)
    cipher_suite = cursor.integer(2)
    cursor.raw(1)
    extensions = _extensions(cursor)
    # §4.2.1: a TLS 1.3 server names the version in supported_versions
    selected = extensions.get(_EXTENSION_SUPPORTED_VERSIONS, b"")
    version = int.from_bytes(selected, "big") if len(selected) == 2 else legacy_version
    return ServerHelloFields(
        random,
        version,
        cipher_suite,
        _EXTENSION_ENCRYPT_THEN_MAC in extensions,
        random == _RETRY_RANDOM,
    )


def _extensions(cursor: Cursor) -> dict[int, bytes]:
    """Read a hello's extensions, if any, into {extension type: body}."""
    if not cursor.remaining():
        return {}
    block = cursor.vector(2)
    extensions: dict[int, bytes] = {}
    while block.remaining():
        kind = block.integer(2)
        extensions[kind] = block.raw(block.integer(2))
    return extensions
