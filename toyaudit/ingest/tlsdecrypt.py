"""Decrypt the records of one recorded TLS connection with secrets from a key log.

A :class:`TlsDecryptor` follows one TCP connection's TLS records, both
directions, in the order they were captured. From the clear handshake it
reads the client random (to find the connection's secrets in the
:class:`~toyaudit.ingest.keylog.KeyLog`), the server random, the negotiated
version and cipher suite and the encrypt_then_mac extension; then it derives
each side's record keys at the point the protocol switches to them and
returns the application data of every protected record.

Wiring (one decryptor per TCP connection; tcp.py splits the records)::

    decryptor = TlsDecryptor(keylog)
    for from_client, content_type, version, payload in records_in_capture_order:
        plaintext = decryptor.record(from_client, content_type, version, payload)
        if plaintext is not None:
            ...  # application data, as the sender wrote it
    if decryptor.problem is not None:
        coverage.skip(f"{connection}: {decryptor.problem}")

``record`` never raises on what the network sent: a record that cannot be
read stops the decryption of that connection, :attr:`TlsDecryptor.problem`
says why and where, and every later record returns None.

User-visible limits (also in docs/ingest.md): SSL 3 and ciphers other than
AES-GCM, AES-CCM, ChaCha20-Poly1305 and AES-CBC with HMAC are not decrypted
(TLS 1.0 and 1.1 are, with their AES-CBC-SHA suites); TLS 1.3 0-RTT early
data is skipped and counted.
"""

from __future__ import annotations

import logging

from toyaudit.ingest.keylog import (
    CLIENT_HANDSHAKE,
    CLIENT_TRAFFIC,
    SERVER_HANDSHAKE,
    SERVER_TRAFFIC,
    TLS12_MASTER,
    KeyLog,
)
from toyaudit.ingest.tlshandshake import (
    CLIENT_HELLO,
    SERVER_HELLO,
    HandshakeStream,
    HandshakeTooLargeError,
    read_client_hello,
    read_server_hello,
)
from toyaudit.ingest.tlskeys import (
    AES_CBC,
    SUITES,
    CipherSuite,
    WriteKeys,
    next_traffic_secret,
    tls12_write_keys,
    tls13_write_keys,
)
from toyaudit.ingest.tlsrecord import RecordOpener, RecordProtectionError
from toyaudit.ingest.wire import MalformedPayloadError

logger = logging.getLogger(__name__)

TLS10 = 0x0301
"""Protocol version number of TLS 1.0."""
TLS11 = 0x0302
"""Protocol version number of TLS 1.1."""
TLS12 = 0x0303
"""Protocol version number of TLS 1.2."""
TLS13 = 0x0304
"""Protocol version number of TLS 1.3."""

CHANGE_CIPHER_SPEC = 20
"""Record content type of ChangeCipherSpec (RFC 5246 §6.2.1)."""
ALERT = 21
"""Record content type of an alert."""
HANDSHAKE = 22
"""Record content type of handshake messages."""
APPLICATION_DATA = 23
"""Record content type of application data, and of every TLS 1.3 protected record."""

_FINISHED = 20
_KEY_UPDATE = 24
_VERSION_NAMES = {0x0300: "SSL 3.0", TLS10: "TLS 1.0", TLS11: "TLS 1.1"}


class _DecryptionStopError(Exception):
    """Decryption of the connection cannot go on; the message says why."""


class _Side:
    """The state of one direction: its keys, sequence, handshake framing."""

    __slots__ = ("name", "records", "opener", "handshake", "traffic_secret", "early")

    def __init__(self, name: str) -> None:
        self.name = name
        self.records = 0
        """Records fed from this side so far, protected or not."""
        self.opener: RecordOpener | None = None
        """Keys of the records this side writes now; None while in clear."""
        self.handshake = HandshakeStream()
        self.traffic_secret: bytes | None = None
        """TLS 1.3 application traffic secret in use, for KeyUpdate."""
        self.early = False
        """TLS 1.3 client: records may still be 0-RTT data under other keys."""


class TlsDecryptor:
    """Decrypts one TLS connection's records with secrets from a key log."""

    def __init__(self, keylog: KeyLog) -> None:
        self._keylog = keylog
        self._sides = {True: _Side("client"), False: _Side("server")}
        self._client_random: bytes | None = None
        self._server_random: bytes | None = None
        self._offers_tls13 = False
        self._offers_etm = False
        self._offers_early_data = False
        self._suite: CipherSuite | None = None
        self._version: int | None = None
        self._etm = False
        self._tls12_keys: tuple[WriteKeys, WriteKeys] | None = None
        self._problem: str | None = None
        self._server_name: str | None = None
        self.keyless = False
        """Whether decryption stopped because the key log holds nothing at all
        for the connection's client random: it was never intercepted."""
        self.keyed = False
        """Whether the key log held a secret the connection needed."""
        self.early_data_records = 0
        """TLS 1.3 0-RTT records skipped: sent before the handshake, not decrypted."""

    @property
    def problem(self) -> str | None:
        """Why part of this connection was not decrypted, or None.

        Names the side and the 1-based number of the record (counting every
        record that side sent) where decryption stopped. Skipped 0-RTT early
        data is reported here too, although decryption goes on after it.
        """
        if self._problem is not None:
            return self._problem
        if self.early_data_records:
            return (
                f"{self.early_data_records} TLS 1.3 early data (0-RTT) records "
                "were not decrypted"
            )
        return None

    @property
    def server_name(self) -> str | None:
        """The SNI of the connection's ClientHello, once read and if sent."""
        return self._server_name

    @property
    def stopped(self) -> bool:
        """Whether decryption stopped: every later record returns None."""
        return self._problem is not None

    @property
    def version(self) -> int | None:
        """The negotiated protocol version (0x0303, 0x0304...), once known."""
        return self._version

    @property
    def cipher_suite(self) -> CipherSuite | None:
        """The negotiated cipher suite, once known and supported."""
        return self._suite

    @property
    def encrypt_then_mac(self) -> bool:
        """Whether the connection uses encrypt_then_mac (RFC 7366)."""
        return self._etm

    def record(
        self, from_client: bool, content_type: int, version: int, payload: bytes
    ) -> bytes | None:
        """Take the next TLS record of one side; return its application data.

        Feed every record of both sides, handshake records included, each side
        in stream order and the sides interleaved in capture order. Returns the
        plaintext of an application data record, or None for every other record
        and once decryption has stopped.
        """
        side = self._sides[from_client]
        side.records += 1
        if self._problem is not None:
            return None
        try:
            if not (0 <= content_type <= 0xFF and 0 <= version <= 0xFFFF):
                raise _DecryptionStopError("record header out of range")
            return self._record(side, content_type, version, bytes(payload))
        except (
            _DecryptionStopError,
            RecordProtectionError,
            MalformedPayloadError,
            HandshakeTooLargeError,
        ) as error:
            self._problem = f"{error} ({side.name} record {side.records})"
            logger.debug("TLS decryption stopped: %s", self._problem)
            return None

    def _record(
        self, side: _Side, content_type: int, version: int, payload: bytes
    ) -> bytes | None:
        """Route one record: protected, clear handshake, ChangeCipherSpec, other."""
        # RFC 8446 §5: once protected, TLS 1.3 records all travel as application
        # data and a stray ChangeCipherSpec stays in clear; RFC 5246 §6.1
        # protects every TLS 1.2 record after ChangeCipherSpec
        tls13 = self._version == TLS13
        if side.opener is not None and (content_type == APPLICATION_DATA or not tls13):
            return self._protected(side, content_type, version, payload)
        if content_type == HANDSHAKE:
            self._handshake(side, payload)
        elif content_type == CHANGE_CIPHER_SPEC:
            self._change_cipher_spec(side)
        elif content_type == APPLICATION_DATA:
            self._unprotected_application_data(side)
        return None

    def _protected(
        self, side: _Side, content_type: int, version: int, payload: bytes
    ) -> bytes | None:
        """Open a protected record and act on what it holds."""
        opener = side.opener
        if opener is None:
            return None
        try:
            inner_type, plaintext = opener.open(content_type, version, payload)
        except RecordProtectionError:
            if not side.early:
                raise
            # RFC 8446 §4.2.10: a server skips 0-RTT records that its handshake
            # keys do not open; so do we
            self.early_data_records += 1
            return None
        side.early = False
        if inner_type == APPLICATION_DATA:
            return plaintext
        if inner_type == HANDSHAKE:
            self._handshake(side, plaintext)
        elif inner_type == CHANGE_CIPHER_SPEC:
            self._change_cipher_spec(side)
        return None

    def _unprotected_application_data(self, side: _Side) -> None:
        """Skip 0-RTT data, or stop: application data arrived without keys."""
        # TODO: 0-RTT early data is only counted, so what a toy sends in the
        # first flight of a resumed TLS 1.3 connection is not audited. Reading
        # it needs the CLIENT_EARLY_TRAFFIC_SECRET line (now ignored) and the
        # cipher suite of the resumed session, which the capture names only
        # later; trying each TLS 1.3 suite on the first early record would do.
        if side.name == "client" and self._offers_early_data and self._version is None:
            self.early_data_records += 1
            return
        if self._client_random is None:
            raise _DecryptionStopError(
                "the capture starts after the TLS handshake, so there is no "
                "client random to look the keys up by"
            )
        raise _DecryptionStopError(
            "encrypted record before the handshake set up its keys (ServerHello "
            "or ChangeCipherSpec missing from the capture)"
        )

    def _handshake(self, side: _Side, fragment: bytes) -> None:
        """Act on the handshake messages that ``fragment`` completes."""
        for kind, body in side.handshake.feed(fragment):
            if kind == CLIENT_HELLO and side.name == "client":
                self._client_hello(body)
            elif kind == SERVER_HELLO and side.name == "server":
                self._server_hello(body)
            elif kind == _FINISHED and self._version == TLS13:
                self._finished(side)
            elif kind == _KEY_UPDATE and self._version == TLS13:
                self._key_update(side)

    def _client_hello(self, body: bytes) -> None:
        """Remember what the ClientHello offers; a new one starts a new session."""
        hello = read_client_hello(body)
        self._client_random = hello.random
        self._server_name = hello.server_name
        self._offers_tls13 = hello.offers_tls13
        self._offers_etm = hello.offers_encrypt_then_mac
        self._offers_early_data = hello.offers_early_data
        self._server_random = None
        self._tls12_keys = None

    def _server_hello(self, body: bytes) -> None:
        """Take version, suite and extensions; derive TLS 1.3 handshake keys."""
        hello = read_server_hello(body)
        if hello.retry:
            return  # RFC 8446 §4.1.4: a second ClientHello and ServerHello follow
        if self._client_random is None:
            raise _DecryptionStopError("ServerHello without a ClientHello before it")
        self._server_random = hello.random
        try:
            self._suite = _supported_suite(hello.cipher_suite, hello.version)
        except _DecryptionStopError:
            # Without secrets the version would not matter: say what is missing.
            if self._client_random not in self._keylog:
                raise self._no_entry() from None
            raise
        self._version = hello.version
        # RFC 7366 §3: encrypt_then_mac applies to CBC suites only
        self._etm = (
            self._offers_etm
            and hello.accepts_encrypt_then_mac
            and self._suite.cipher == AES_CBC
        )
        if hello.version == TLS13:
            self._start_tls13()

    def _start_tls13(self) -> None:
        """Switch both sides to their handshake traffic keys (RFC 8446 §7.3)."""
        suite = self._suite
        if suite is None:
            return
        client, server = self._sides[True], self._sides[False]
        client_secret = self._secret(CLIENT_HANDSHAKE)
        server_secret = self._secret(SERVER_HANDSHAKE)
        # §2: everything after the ServerHello is protected with handshake keys
        server.opener = RecordOpener(
            suite, tls13_write_keys(suite, server_secret), True
        )
        client.opener = RecordOpener(
            suite, tls13_write_keys(suite, client_secret), True
        )
        client.early = self._offers_early_data

    def _finished(self, side: _Side) -> None:
        """After its Finished, a side writes with application traffic keys."""
        suite = self._suite
        if suite is None or side.traffic_secret is not None:
            return  # post-handshake authentication sends a Finished too
        # RFC 8446 §7.3: [sender]_application_traffic_secret_0 protects what follows
        label = CLIENT_TRAFFIC if side.name == "client" else SERVER_TRAFFIC
        side.traffic_secret = self._secret(label)
        side.opener = RecordOpener(
            suite, tls13_write_keys(suite, side.traffic_secret), True
        )

    def _key_update(self, side: _Side) -> None:
        """After a KeyUpdate, the sender writes with the next secret (§4.6.3)."""
        suite = self._suite
        if suite is None or side.traffic_secret is None:
            raise _DecryptionStopError("KeyUpdate before the handshake finished")
        side.traffic_secret = next_traffic_secret(suite, side.traffic_secret)
        side.opener = RecordOpener(
            suite, tls13_write_keys(suite, side.traffic_secret), True
        )

    def _change_cipher_spec(self, side: _Side) -> None:
        """TLS 1.0 to 1.2: the sender's next records use the negotiated keys (§7.1)."""
        if self._version == TLS13:
            return  # RFC 8446 §D.4: middlebox compatibility, no meaning
        if self._server_random is None:
            if self._offers_tls13 and self._version is None:
                return  # a TLS 1.3 client's compatibility record before ServerHello
            raise _DecryptionStopError("ChangeCipherSpec before the ServerHello")
        suite = self._suite
        if suite is None or self._client_random is None:
            return
        version = self._version or TLS12
        if self._tls12_keys is None:
            # RFC 2246 and 4346 log the same CLIENT_RANDOM master secret
            master_secret = self._secret(TLS12_MASTER)
            self._tls12_keys = tls12_write_keys(
                suite, master_secret, self._client_random, self._server_random, version
            )
        keys = self._tls12_keys[0 if side.name == "client" else 1]
        side.opener = RecordOpener(
            suite, keys, False, self._etm, chained_iv=version == TLS10
        )

    def _secret(self, label: str) -> bytes:
        """The key log's secret for this connection under ``label``, or stop."""
        client_random = self._client_random or b""
        secret = self._keylog.secret(client_random, label)
        if secret is not None:
            self.keyed = True
            return secret
        if client_random not in self._keylog:
            raise self._no_entry()
        shown = client_random.hex()[:16] + "..."
        raise _DecryptionStopError(
            f"the key log has no {label} for client random {shown}"
        )

    def _no_entry(self) -> _DecryptionStopError:
        """The stop for a connection the key log knows nothing of."""
        self.keyless = True
        shown = (self._client_random or b"").hex()[:16] + "..."
        return _DecryptionStopError(f"no key log entry for client random {shown}")


def _supported_suite(code: int, version: int) -> CipherSuite:
    """The decryptable suite ``code`` for ``version``, or stop saying why not."""
    if version not in (TLS10, TLS11, TLS12, TLS13):
        name = _VERSION_NAMES.get(version, f"0x{version:04x}")
        raise _DecryptionStopError(f"{name} is not decrypted (only TLS 1.0 to 1.3)")
    suite = SUITES.get(code)
    if suite is None:
        raise _DecryptionStopError(f"cipher suite 0x{code:04x} is not supported")
    if version in (TLS10, TLS11) and not suite.before_tls12:
        raise _DecryptionStopError(
            f"cipher suite {suite.name} does not belong to "
            f"{_VERSION_NAMES[version]} (RFC 5246 added it)"
        )
    if suite.tls13 != (version == TLS13):
        raise _DecryptionStopError(
            f"cipher suite {suite.name} does not belong to version 0x{version:04x}"
        )
    return suite
