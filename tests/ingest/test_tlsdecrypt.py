"""Tests of TLS decryption: real OpenSSL sessions run in memory are the oracle.

Each session is a client and a server ``ssl.SSLObject`` joined by memory BIOs,
with the client writing an NSS key log. The bytes each side put on the "wire"
are split into records and fed to :class:`TlsDecryptor`, which must give back
exactly the application data that was sent.

Python's ``ssl`` cannot choose TLS 1.3 cipher suites, groups or key updates,
so a few OpenSSL calls are made through ctypes on the same libssl; each test
checks what OpenSSL negotiated, so a call that did not take effect fails the
test instead of silently testing something else.
"""

from __future__ import annotations

import _ssl
import ctypes
import datetime
import functools
import io
import ssl
import struct
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from toyaudit.ingest.keylog import KeyLog
from toyaudit.ingest.pcapfile import read_frames
from toyaudit.ingest.records import Coverage
from toyaudit.ingest.tlsdecrypt import TLS12, TLS13, TlsDecryptor

Record = tuple[bool, int, int, bytes]
"""(from client, content type, version, payload) of one TLS record."""

MESSAGES: list[tuple[bool, bytes]] = [
    (True, b"POST /v1/child HTTP/1.1\r\nHost: toy.test\r\n\r\nname=Mia&age=6"),
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    (True, bytes(range(256)) * 160),  # 40 KiB: several records
    (False, b""),
    (True, b"bye"),
]
"""What the client and the server say to each other after the handshake."""

_SSL_CTRL_SET_GROUPS_LIST = 92  # OpenSSL ssl.h
_SSL_OP_NO_ENCRYPT_THEN_MAC = 1 << 19  # OpenSSL ssl.h


@dataclass
class Capture:
    """One recorded session: its records, key log and what was sent."""

    records: list[Record]
    keylog: str
    cipher: str
    wire: list[tuple[bool, bytes]]
    sent: dict[bool, bytes] = field(default_factory=dict)


@functools.cache
def _credentials(kind: str) -> tuple[bytes, bytes]:
    """A throwaway self-signed certificate and key (PEM), RSA or EC."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "toy.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _libssl() -> ctypes.CDLL:
    """The libssl that Python's _ssl module is linked against."""
    return ctypes.CDLL(_ssl.__file__)


def _ssl_ctx_pointer(context: ssl.SSLContext) -> int:
    """The SSL_CTX* of a context: CPython's PySSLContext keeps it first."""
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    assert pointer
    return pointer


def _ssl_pointer(end: ssl.SSLObject) -> int:
    """The SSL* of an SSLObject, checked against its context's SSL_CTX*."""
    inner = end._sslobj  # type: ignore[attr-defined]
    # PySSLSocket: PyObject_HEAD, a weak reference to the socket, then SSL *ssl
    pointer = ctypes.c_void_p.from_address(id(inner) + object.__basicsize__ + 8).value
    get_context = _libssl().SSL_get_SSL_CTX
    get_context.argtypes, get_context.restype = [ctypes.c_void_p], ctypes.c_void_p
    assert get_context(pointer) == _ssl_ctx_pointer(end.context)
    assert pointer
    return pointer


def _set_tls13_suites(context: ssl.SSLContext, suites: str) -> None:
    """SSL_CTX_set_ciphersuites, which Python's ssl module does not offer."""
    setter = _libssl().SSL_CTX_set_ciphersuites
    setter.argtypes, setter.restype = [ctypes.c_void_p, ctypes.c_char_p], ctypes.c_int
    assert setter(_ssl_ctx_pointer(context), suites.encode()) == 1


def _set_groups(context: ssl.SSLContext, groups: str) -> None:
    """SSL_CTX_set1_groups_list (a macro over SSL_CTX_ctrl)."""
    control = _libssl().SSL_CTX_ctrl
    control.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p]
    control.restype = ctypes.c_long
    pointer = _ssl_ctx_pointer(context)
    assert control(pointer, _SSL_CTRL_SET_GROUPS_LIST, 0, groups.encode()) == 1


def _key_update(end: ssl.SSLObject) -> None:
    """SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED)."""
    update = _libssl().SSL_key_update
    update.argtypes, update.restype = [ctypes.c_void_p, ctypes.c_int], ctypes.c_int
    assert update(_ssl_pointer(end), 1) == 1


@dataclass(frozen=True)
class Options:
    """How to set up one session."""

    version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    tls13_suite: str | None = None
    tls12_cipher: str | None = None
    credentials: str = "rsa"
    encrypt_then_mac: bool = True
    server_groups: str | None = None
    key_update: bool = False


def _contexts(options: Options, folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Client and server contexts pinned to one version and suite."""
    certificate, key = _credentials(options.credentials)
    (folder / "cert.pem").write_bytes(certificate)
    (folder / "key.pem").write_bytes(key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    for context in (client, server):
        context.minimum_version = context.maximum_version = options.version
        if options.tls12_cipher is not None:
            context.set_ciphers(options.tls12_cipher)
        if options.tls13_suite is not None:
            _set_tls13_suites(context, options.tls13_suite)
    if not options.encrypt_then_mac:
        client.options |= _SSL_OP_NO_ENCRYPT_THEN_MAC
    if options.server_groups is not None:
        _set_groups(server, options.server_groups)
    client.keylog_filename = str(folder / "keys.log")
    return client, server


class _Link:
    """Two SSLObjects joined by memory BIOs, recording what crosses the wire."""

    def __init__(self, client: ssl.SSLContext, server: ssl.SSLContext) -> None:
        self.bios = [ssl.MemoryBIO() for _ in range(4)]
        self.client = client.wrap_bio(
            self.bios[0], self.bios[1], server_hostname="toy.test"
        )
        self.server = server.wrap_bio(self.bios[2], self.bios[3], server_side=True)
        self.wire: list[tuple[bool, bytes]] = []

    def pump(self) -> None:
        """Move bytes both ways until neither side has anything to send."""
        moved = True
        while moved:
            moved = False
            for from_client, source, target in (
                (True, self.bios[1], self.bios[2]),
                (False, self.bios[3], self.bios[0]),
            ):
                chunk = source.read()
                if chunk:
                    self.wire.append((from_client, chunk))
                    target.write(chunk)
                    moved = True

    def handshake(self) -> None:
        """Run both handshakes to completion."""
        for _attempt in range(10):
            finished = True
            for end in (self.client, self.server):
                try:
                    end.do_handshake()
                except ssl.SSLWantReadError:
                    finished = False
            self.pump()
            if finished:
                return
        raise AssertionError("handshake did not finish")

    def say(self, from_client: bool, message: bytes) -> bytes:
        """Send ``message`` one way and return what the other side read."""
        sender, receiver = (
            (self.client, self.server) if from_client else (self.server, self.client)
        )
        if message:
            sender.write(message)
        self.pump()
        received = bytearray()
        while True:
            try:
                received += receiver.read(1 << 16)
            except ssl.SSLWantReadError:
                return bytes(received)


def _split_records(wire: Sequence[tuple[bool, bytes]]) -> list[Record]:
    """Cut each direction's bytes into TLS records, in the order they crossed."""
    buffers = {True: bytearray(), False: bytearray()}
    records: list[Record] = []
    for from_client, chunk in wire:
        buffer = buffers[from_client]
        buffer += chunk
        while len(buffer) >= 5:
            length = int.from_bytes(buffer[3:5], "big")
            if len(buffer) < 5 + length:
                break
            version = int.from_bytes(buffer[1:3], "big")
            records.append(
                (from_client, buffer[0], version, bytes(buffer[5 : 5 + length]))
            )
            del buffer[: 5 + length]
    assert not buffers[True] and not buffers[False]
    return records


@functools.cache
def _session(options: Options) -> Capture:
    """Run one session with ``options`` and record it (cached per options)."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        client, server = _contexts(options, folder)
        link = _Link(client, server)
        link.handshake()
        sent = {True: bytearray(), False: bytearray()}
        for number, (from_client, message) in enumerate(MESSAGES):
            if options.key_update and number == 2:
                _key_update(link.client)
            assert link.say(from_client, message) == message
            sent[from_client] += message
        try:  # the client's close_notify alert is a protected record too
            link.client.unwrap()
        except ssl.SSLWantReadError:
            link.pump()
        cipher = link.client.cipher()
        keylog = (folder / "keys.log").read_text()
    assert cipher is not None
    return Capture(
        _split_records(link.wire),
        keylog,
        cipher[0],
        link.wire,
        {True: bytes(sent[True]), False: bytes(sent[False])},
    )


def _decrypt(
    records: Sequence[Record], keylog_text: str
) -> tuple[TlsDecryptor, dict[bool, bytes]]:
    """Feed every record to a decryptor; gather the plaintext of each side."""
    keylog = KeyLog()
    keylog.add_text(keylog_text)
    decryptor = TlsDecryptor(keylog)
    plaintext = {True: bytearray(), False: bytearray()}
    for from_client, content_type, version, payload in records:
        opened = decryptor.record(from_client, content_type, version, payload)
        if opened is not None:
            plaintext[from_client] += opened
    return decryptor, {True: bytes(plaintext[True]), False: bytes(plaintext[False])}


TLS13_SUITES = [
    ("TLS_AES_128_GCM_SHA256", 0x1301),
    ("TLS_AES_256_GCM_SHA384", 0x1302),
    ("TLS_CHACHA20_POLY1305_SHA256", 0x1303),
    ("TLS_AES_128_CCM_SHA256", 0x1304),
    ("TLS_AES_128_CCM_8_SHA256", 0x1305),
]


@pytest.mark.parametrize(("suite", "code"), TLS13_SUITES)
def test_tlsdecrypt_tls13_recovers_what_each_side_sent(suite: str, code: int) -> None:
    capture = _session(Options(tls13_suite=suite))
    assert capture.cipher == suite

    decryptor, plaintext = _decrypt(capture.records, capture.keylog)

    assert decryptor.problem is None
    assert decryptor.version == TLS13
    assert decryptor.cipher_suite is not None
    assert decryptor.cipher_suite.code == code
    assert plaintext == capture.sent


TLS12_CIPHERS = [
    ("ECDHE-RSA-AES128-GCM-SHA256", "rsa", True, False),
    ("ECDHE-RSA-AES256-GCM-SHA384", "rsa", True, False),
    ("ECDHE-RSA-CHACHA20-POLY1305", "rsa", True, False),
    ("ECDHE-RSA-AES128-SHA256", "rsa", True, True),
    ("ECDHE-RSA-AES128-SHA256", "rsa", False, False),
    ("ECDHE-RSA-AES256-SHA", "rsa", True, True),
    ("ECDHE-RSA-AES256-SHA", "rsa", False, False),
    ("ECDHE-RSA-AES256-SHA384", "rsa", True, True),
    ("ECDHE-ECDSA-AES128-CCM8", "ec", True, False),
    ("ECDHE-ECDSA-AES256-CCM", "ec", True, False),
    ("AES128-GCM-SHA256", "rsa", True, False),
]
"""(OpenSSL cipher, certificate, offer encrypt_then_mac, expect it in use)."""


@pytest.mark.parametrize(("cipher", "credentials", "offer_etm", "etm"), TLS12_CIPHERS)
def test_tlsdecrypt_tls12_recovers_what_each_side_sent(
    cipher: str, credentials: str, offer_etm: bool, etm: bool
) -> None:
    capture = _session(
        Options(
            version=ssl.TLSVersion.TLSv1_2,
            tls12_cipher=cipher,
            credentials=credentials,
            encrypt_then_mac=offer_etm,
        )
    )
    assert capture.cipher == cipher

    decryptor, plaintext = _decrypt(capture.records, capture.keylog)

    assert decryptor.problem is None
    assert decryptor.version == TLS12
    assert decryptor.encrypt_then_mac is etm
    assert plaintext == capture.sent


def test_tlsdecrypt_tls13_hello_retry_request() -> None:
    # The client's default key share is X25519; a server that only takes
    # P-384 must ask again with a HelloRetryRequest (RFC 8446 §4.1.4).
    capture = _session(Options(server_groups="P-384"))
    server_hellos = [
        payload for from_client, kind, _v, payload in capture.records if kind == 22
    ]
    retry = bytes.fromhex(
        "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
    )
    assert any(payload[6:38] == retry for payload in server_hellos)

    decryptor, plaintext = _decrypt(capture.records, capture.keylog)

    assert decryptor.problem is None
    assert plaintext == capture.sent


def test_tlsdecrypt_tls13_key_update_follows_the_next_secret() -> None:
    capture = _session(Options(tls13_suite="TLS_AES_128_GCM_SHA256", key_update=True))

    decryptor, plaintext = _decrypt(capture.records, capture.keylog)

    assert decryptor.problem is None
    assert plaintext == capture.sent


def _client_record_number(records: Sequence[Record], index: int) -> int:
    """1-based number of records[index] among the records its sender sent."""
    sender = records[index][0]
    return sum(1 for record in records[: index + 1] if record[0] == sender)


def _tampered(records: list[Record], index: int) -> list[Record]:
    """``records`` with the last payload byte of records[index] flipped."""
    from_client, kind, version, payload = records[index]
    changed = payload[:-1] + bytes([payload[-1] ^ 0x01])
    return [
        *records[:index],
        (from_client, kind, version, changed),
        *records[index + 1 :],
    ]


@pytest.mark.parametrize(
    ("options", "failure"),
    [
        (Options(tls13_suite="TLS_CHACHA20_POLY1305_SHA256"), "authentication tag"),
        (
            Options(
                version=ssl.TLSVersion.TLSv1_2, tls12_cipher="ECDHE-RSA-AES256-SHA"
            ),
            "MAC mismatch",
        ),
    ],
)
def test_tlsdecrypt_tampered_record_is_named_and_stops(
    options: Options, failure: str
) -> None:
    capture = _session(options)
    protected = [
        index
        for index, (from_client, kind, _v, _p) in enumerate(capture.records)
        if from_client and kind == 23
    ]
    # the first application data record: TLS 1.3 sends Finished as one too
    index = protected[1 if options.version == ssl.TLSVersion.TLSv1_3 else 0]

    decryptor, plaintext = _decrypt(_tampered(capture.records, index), capture.keylog)

    number = _client_record_number(capture.records, index)
    assert decryptor.stopped
    assert decryptor.problem is not None
    assert decryptor.problem.startswith(failure)
    assert decryptor.problem.endswith(f"(client record {number})")
    assert plaintext == {True: b"", False: b""}


def test_tlsdecrypt_missing_client_random_says_which() -> None:
    capture = _session(Options(tls13_suite="TLS_AES_128_GCM_SHA256"))
    other = _session(Options(tls13_suite="TLS_AES_256_GCM_SHA384"))
    client_random = capture.records[0][3][6:38]

    decryptor, plaintext = _decrypt(capture.records, other.keylog)

    assert decryptor.problem == (
        f"no key log entry for client random {client_random.hex()[:16]}... "
        "(server record 1)"
    )
    assert plaintext == {True: b"", False: b""}


def test_tlsdecrypt_missing_application_secret_names_the_label() -> None:
    capture = _session(Options(tls13_suite="TLS_AES_128_GCM_SHA256"))
    keylog = "\n".join(
        line
        for line in capture.keylog.splitlines()
        if not line.startswith("CLIENT_TRAFFIC_SECRET_0")
    )

    decryptor, plaintext = _decrypt(capture.records, keylog)

    assert decryptor.problem is not None
    assert "the key log has no CLIENT_TRAFFIC_SECRET_0 for client random" in (
        decryptor.problem
    )
    assert plaintext[True] == b""


@pytest.mark.parametrize(
    "options",
    [
        Options(tls13_suite="TLS_AES_128_GCM_SHA256"),
        Options(version=ssl.TLSVersion.TLSv1_2, tls12_cipher="ECDHE-RSA-AES128-SHA256"),
    ],
)
def test_tlsdecrypt_capture_started_after_handshake(options: Options) -> None:
    capture = _session(options)
    first = next(
        index
        for index, (_c, kind, _v, _p) in enumerate(capture.records)
        if kind == 23 and index > 6
    )

    decryptor, plaintext = _decrypt(capture.records[first:], capture.keylog)

    assert decryptor.problem is not None
    assert decryptor.problem.startswith("the capture starts after the TLS handshake")
    assert plaintext == {True: b"", False: b""}


LEGACY_CIPHERS = [
    (ssl.TLSVersion.TLSv1, "ECDHE-RSA-AES128-SHA", True, 0xC013),
    (ssl.TLSVersion.TLSv1, "ECDHE-RSA-AES256-SHA", False, 0xC014),
    (ssl.TLSVersion.TLSv1, "AES256-SHA", True, 0x0035),
    (ssl.TLSVersion.TLSv1_1, "ECDHE-RSA-AES128-SHA", True, 0xC013),
    (ssl.TLSVersion.TLSv1_1, "AES128-SHA", False, 0x002F),
]
"""(version, OpenSSL cipher, offer encrypt_then_mac, IANA code) of TLS 1.0/1.1."""


LEGACY_WARNING = "ignore:ssl.TLSVersion.TLSv1:DeprecationWarning"
"""Python warns that it deprecates the versions these tests must speak."""


@pytest.mark.filterwarnings(LEGACY_WARNING)
@pytest.mark.parametrize(("version", "cipher", "offer_etm", "code"), LEGACY_CIPHERS)
def test_tlsdecrypt_tls10_and_tls11_recover_what_each_side_sent(
    version: ssl.TLSVersion, cipher: str, offer_etm: bool, code: int
) -> None:
    # OpenSSL refuses these versions at its default security level.
    capture = _session(
        Options(
            version=version,
            tls12_cipher=f"{cipher}:@SECLEVEL=0",
            encrypt_then_mac=offer_etm,
        )
    )
    assert capture.cipher == cipher
    assert {record[2] for record in capture.records[1:]} == {version.value}

    decryptor, plaintext = _decrypt(capture.records, capture.keylog)

    assert decryptor.problem is None
    assert decryptor.version == version.value
    assert decryptor.cipher_suite is not None and decryptor.cipher_suite.code == code
    assert decryptor.encrypt_then_mac is offer_etm
    assert plaintext == capture.sent


@pytest.mark.filterwarnings(LEGACY_WARNING)
def test_tlsdecrypt_tls10_lost_record_stops_at_the_next_and_keeps_the_rest() -> None:
    capture = _session(
        Options(
            version=ssl.TLSVersion.TLSv1,
            tls12_cipher="AES128-SHA:@SECLEVEL=0",
            encrypt_then_mac=False,
        )
    )
    # A client record lost from the capture: the next one's IV (the lost
    # one's last block) and sequence number are gone with it.
    protected = [
        index
        for index, (from_client, content_type, _v, _p) in enumerate(capture.records)
        if from_client and content_type == 23
    ]
    lost = protected[2]
    records = capture.records[:lost] + capture.records[lost + 1 :]

    decryptor, plaintext = _decrypt(records, capture.keylog)

    number = _client_record_number(records, lost)
    assert decryptor.problem == f"MAC mismatch (client record {number})"
    # What came before the loss is kept, exactly as sent.
    assert plaintext[True] and capture.sent[True].startswith(plaintext[True])


def _hello(kind: int, version: int, suite: int, extensions: bytes = b"") -> bytes:
    """A minimal ClientHello (kind 1) or ServerHello (kind 2) handshake message."""
    random = bytes([kind]) * 32
    if kind == 1:
        middle = b"\x00" + b"\x00\x02" + suite.to_bytes(2, "big") + b"\x01\x00"
    else:
        middle = b"\x00" + suite.to_bytes(2, "big") + b"\x00"
    body = version.to_bytes(2, "big") + random + middle
    body += len(extensions).to_bytes(2, "big") + extensions
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


@pytest.mark.parametrize(
    ("version", "suite", "problem"),
    [
        (0x0303, 0x000A, "cipher suite 0x000a is not supported (server record 1)"),
        (0x0300, 0x002F, "SSL 3.0 is not decrypted (only TLS 1.0 to 1.3) "),
        (0x0301, 0xC02F, "cipher suite TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 does "),
        (0x0302, 0x003C, "cipher suite TLS_RSA_WITH_AES_128_CBC_SHA256 does not "),
        (0x0303, 0x1301, "cipher suite TLS_AES_128_GCM_SHA256 does not belong "),
    ],
)
def test_tlsdecrypt_unsupported_version_or_suite(
    version: int, suite: int, problem: str
) -> None:
    records: list[Record] = [
        (True, 22, 0x0301, _hello(1, version, suite)),
        (False, 22, version, _hello(2, version, suite)),
        (True, 20, version, b"\x01"),
        (True, 23, version, b"\x00" * 48),
    ]

    # The key log knows the connection: what stops it is the version or suite.
    decryptor, _plaintext = _decrypt(records, f"CLIENT_RANDOM {'01' * 32} {'00' * 48}")

    assert decryptor.problem is not None
    assert decryptor.problem.startswith(problem)
    assert not decryptor.keyless


def test_tlsdecrypt_unsupported_version_without_any_keys_is_keyless() -> None:
    records: list[Record] = [
        (True, 22, 0x0300, _hello(1, 0x0300, 0x002F)),
        (False, 22, 0x0300, _hello(2, 0x0300, 0x002F)),
    ]

    decryptor, _plaintext = _decrypt(records, f"CLIENT_RANDOM {'02' * 32} {'00' * 48}")

    assert decryptor.keyless and not decryptor.keyed
    assert decryptor.problem is not None
    assert decryptor.problem.startswith("no key log entry for client random 0101")


def test_tlsdecrypt_oversized_hello_is_refused() -> None:
    records: list[Record] = [(True, 22, 0x0301, b"\x01\x10\x00\x00" + bytes(100))]

    decryptor, _plaintext = _decrypt(records, "")

    assert decryptor.problem == (
        "hello of 1048576 bytes is larger than the 131072 bytes read (client record 1)"
    )


def _offer_early_data(client_hello: bytes) -> bytes:
    """The ClientHello message with an early_data extension (42) appended."""
    position = 4 + 2 + 32
    position += 1 + client_hello[position]  # legacy_session_id
    position += 2 + int.from_bytes(client_hello[position : position + 2], "big")
    position += 1 + client_hello[position]  # legacy_compression_methods
    old = int.from_bytes(client_hello[position : position + 2], "big")
    body = (
        client_hello[4:position]
        + (old + 4).to_bytes(2, "big")
        + client_hello[position + 2 :]
        + b"\x00\x2a\x00\x00"
    )
    return b"\x01" + len(body).to_bytes(3, "big") + body


def test_tlsdecrypt_tls13_early_data_is_skipped_and_counted() -> None:
    capture = _session(Options(tls13_suite="TLS_AES_256_GCM_SHA384"))
    client_hello, server_hello, *rest = capture.records
    early = (True, 23, 0x0303, b"\x42" * 64)
    records = [
        (True, 22, client_hello[2], _offer_early_data(client_hello[3])),
        early,
        server_hello,
        early,
        *rest,
    ]

    decryptor, plaintext = _decrypt(records, capture.keylog)

    assert decryptor.early_data_records == 2
    assert not decryptor.stopped
    assert decryptor.problem == (
        "2 TLS 1.3 early data (0-RTT) records were not decrypted"
    )
    assert plaintext == capture.sent


def _pcapng_block(block_type: int, body: bytes) -> bytes:
    """One little-endian pcapng block, body padded to 32 bits."""
    body += b"\x00" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


def _pcapng_with_secrets(capture: Capture) -> bytes:
    """SHB, IDB, a TLS key log DSB, then one EPB per TCP segment of the session."""
    ends = {True: ("10.0.0.2", 50000), False: ("93.184.216.34", 443)}
    sequence = {True: 1000, False: 5000}
    blocks = [
        _pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
        _pcapng_block(1, struct.pack("<HHI", 1, 0, 0)),
    ]
    secrets = capture.keylog.encode()
    blocks.append(
        _pcapng_block(10, struct.pack("<II", 0x544C534B, len(secrets)) + secrets)
    )
    for from_client, chunk in capture.wire:
        for start in range(0, len(chunk), 1400):
            piece = chunk[start : start + 1400]
            (source, sport), (destination, dport) = (
                ends[from_client],
                ends[not from_client],
            )
            segment = TCP(
                sport=sport, dport=dport, flags="PA", seq=sequence[from_client]
            )
            frame = bytes(Ether() / IP(src=source, dst=destination) / segment / piece)
            sequence[from_client] += len(piece)
            header = struct.pack("<IIIII", 0, 0, 0, len(frame), len(frame))
            blocks.append(_pcapng_block(6, header + frame))
    return b"".join(blocks)


def test_tlsdecrypt_secrets_embedded_in_pcapng() -> None:
    capture = _session(Options(tls13_suite="TLS_AES_128_GCM_SHA256"))
    content = _pcapng_with_secrets(capture)
    keylog = KeyLog()
    wire: list[tuple[bool, bytes]] = []

    frames = read_frames(
        io.BytesIO(content),
        "toy.pcapng",
        Coverage(),
        len(content),
        secrets=keylog.add_decryption_secrets,
    )
    for _number, _linktype, _time, frame in frames:
        assert len(keylog) == 1  # the block before the packets was read first
        segment = Ether(frame)[TCP]
        wire.append((segment.sport == 50000, bytes(segment.payload)))
    decryptor = TlsDecryptor(keylog)
    plaintext = {True: bytearray(), False: bytearray()}
    for from_client, kind, version, payload in _split_records(wire):
        opened = decryptor.record(from_client, kind, version, payload)
        plaintext[from_client] += opened or b""

    assert decryptor.problem is None
    assert plaintext == capture.sent


FUZZ_SESSIONS = [
    Options(tls13_suite="TLS_AES_128_GCM_SHA256"),
    Options(tls13_suite="TLS_CHACHA20_POLY1305_SHA256"),
    Options(version=ssl.TLSVersion.TLSv1_2, tls12_cipher="ECDHE-RSA-AES128-GCM-SHA256"),
    Options(version=ssl.TLSVersion.TLSv1_2, tls12_cipher="ECDHE-RSA-AES128-SHA256"),
    Options(
        version=ssl.TLSVersion.TLSv1_2,
        tls12_cipher="ECDHE-RSA-AES256-SHA",
        encrypt_then_mac=False,
    ),
]

_records = st.lists(
    st.tuples(
        st.booleans(),
        st.one_of(st.sampled_from([20, 21, 22, 23]), st.integers(-1, 256)),
        st.one_of(st.sampled_from([0x0303, 0x0301]), st.integers(-1, 0x10000)),
        st.binary(max_size=300),
    ),
    max_size=25,
)


def _feed_all(records: Sequence[Record], keylog_text: str) -> TlsDecryptor:
    """Feed records, checking each answer is bytes or None."""
    keylog = KeyLog()
    keylog.add_text(keylog_text)
    decryptor = TlsDecryptor(keylog)
    for from_client, kind, version, payload in records:
        opened = decryptor.record(from_client, kind, version, payload)
        assert opened is None or isinstance(opened, bytes)
    assert decryptor.problem is None or isinstance(decryptor.problem, str)
    return decryptor


@settings(max_examples=300, deadline=None)
@given(_records)
def test_tlsdecrypt_random_records_never_raise(records: list[Record]) -> None:
    _feed_all(records, "")


@settings(max_examples=300, deadline=None)
@given(_records, st.sampled_from(FUZZ_SESSIONS))
def test_tlsdecrypt_random_records_after_real_hellos_never_raise(
    records: list[Record], options: Options
) -> None:
    capture = _session(options)

    _feed_all([*capture.records[:2], *records], capture.keylog)


_Mutation = Callable[[list[Record], int, int], list[Record]]


def _flip(records: list[Record], index: int, position: int) -> list[Record]:
    from_client, kind, version, payload = records[index]
    if payload:
        spot = position % len(payload)
        payload = payload[:spot] + bytes([payload[spot] ^ 0xFF]) + payload[spot + 1 :]
    return [
        *records[:index],
        (from_client, kind, version, payload),
        *records[index + 1 :],
    ]


def _cut(records: list[Record], index: int, position: int) -> list[Record]:
    from_client, kind, version, payload = records[index]
    shorter = payload[: position % (len(payload) + 1)]
    return [
        *records[:index],
        (from_client, kind, version, shorter),
        *records[index + 1 :],
    ]


def _drop(records: list[Record], index: int, _position: int) -> list[Record]:
    return [*records[:index], *records[index + 1 :]]


def _repeat(records: list[Record], index: int, _position: int) -> list[Record]:
    return [*records[: index + 1], *records[index:]]


def _retype(records: list[Record], index: int, position: int) -> list[Record]:
    from_client, _kind, version, payload = records[index]
    changed = (from_client, 20 + position % 4, version, payload)
    return [*records[:index], changed, *records[index + 1 :]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(FUZZ_SESSIONS),
    st.lists(
        st.tuples(
            st.sampled_from([_flip, _cut, _drop, _repeat, _retype]),
            st.integers(0, 1 << 16),
            st.integers(0, 1 << 16),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_tlsdecrypt_mutated_sessions_never_raise(
    options: Options, mutations: list[tuple[_Mutation, int, int]]
) -> None:
    records = list(_session(options).records)
    for mutate, index, position in mutations:
        if records:
            records = mutate(records, index % len(records), position)

    _feed_all(records, _session(options).keylog)
