"""Cipher suites and key derivation for decrypting recorded TLS sessions.

Two derivations turn the secrets of a key log into record keys: the TLS 1.2
pseudorandom function (or the MD5 + SHA-1 one of TLS 1.0 and 1.1) expands a
master secret into a key block (RFC 5246 §5 and §6.3, RFC 2246 §5 and §6.3),
and the TLS 1.3 key schedule expands a traffic secret into a key and IV
(RFC 8446 §7.1 and §7.3). The primitives (HMAC, HKDF-Expand) come
from ``cryptography``; the constructions are written out here so that each
step can be checked against its RFC.

Only the suites in :data:`SUITES` are decrypted; see docs/ingest.md for why
the others are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is imported when a key is derived: most
    # audits have no key log, and the import costs a good part of a second's
    # tenth at start-up
    from cryptography.hazmat.primitives import hashes

AES_GCM = "AES-GCM"
"""AEAD cipher: AES in Galois/Counter mode (RFC 5288, RFC 8446)."""
AES_CCM = "AES-CCM"
"""AEAD cipher: AES in CCM mode (RFC 6655, RFC 8446)."""
CHACHA20_POLY1305 = "CHACHA20-POLY1305"
"""AEAD cipher: ChaCha20 with Poly1305 (RFC 7905, RFC 8446)."""
AES_CBC = "AES-CBC"
"""Block cipher: AES in CBC mode with an HMAC (RFC 5246 §6.2.3.2)."""

CBC_BLOCK = 16
"""Bytes of an AES block: the CBC IV and padding unit."""

_HASHES = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "sha384": "SHA384"}
"""Hash names of the suites, to the ``cryptography`` hash class names."""


@dataclass(frozen=True)
class CipherSuite:
    """What record protection one cipher suite code stands for."""

    code: int
    """The IANA cipher suite number, as in the ServerHello."""
    name: str
    """The IANA name, for messages."""
    cipher: str
    """One of :data:`AES_GCM`, :data:`AES_CCM`, :data:`CHACHA20_POLY1305`,
    :data:`AES_CBC`."""
    key_length: int
    """Bytes of the encryption key."""
    prf_hash: str
    """Hash of the TLS 1.2 PRF or of the TLS 1.3 HKDF: ``sha256`` or ``sha384``."""
    mac_hash: str | None = None
    """HMAC hash of a CBC suite (``sha1``, ``sha256``, ``sha384``); None for AEAD."""
    tag_length: int = 16
    """Bytes of the AEAD authentication tag (8 for the CCM_8 suites)."""
    tls13: bool = False
    """Whether this is a TLS 1.3 suite (RFC 8446 §B.4)."""

    @property
    def before_tls12(self) -> bool:
        """Whether TLS 1.0 and 1.1 define this suite: CBC with an HMAC-SHA1."""
        return self.cipher == AES_CBC and self.mac_hash == "sha1"

    @property
    def mac_length(self) -> int:
        """Bytes of the HMAC of a CBC suite; 0 for AEAD suites."""
        if self.mac_hash is None:
            return 0
        return hash_algorithm(self.mac_hash).digest_size

    @property
    def fixed_iv_length(self) -> int:
        """Bytes of IV taken from the TLS 1.2 key block (RFC 5288 §3, RFC 7905 §2)."""
        if self.cipher == CHACHA20_POLY1305:
            return 12
        return 4 if self.cipher in (AES_GCM, AES_CCM) else 0


def _suites(*suites: CipherSuite) -> dict[int, CipherSuite]:
    return {suite.code: suite for suite in suites}


_S256, _S384 = "sha256", "sha384"

SUITES: dict[int, CipherSuite] = _suites(
    # TLS 1.3, RFC 8446 §B.4
    CipherSuite(0x1301, "TLS_AES_128_GCM_SHA256", AES_GCM, 16, _S256, tls13=True),
    CipherSuite(0x1302, "TLS_AES_256_GCM_SHA384", AES_GCM, 32, _S384, tls13=True),
    CipherSuite(
        0x1303, "TLS_CHACHA20_POLY1305_SHA256", CHACHA20_POLY1305, 32, _S256, tls13=True
    ),
    CipherSuite(0x1304, "TLS_AES_128_CCM_SHA256", AES_CCM, 16, _S256, tls13=True),
    CipherSuite(
        0x1305, "TLS_AES_128_CCM_8_SHA256", AES_CCM, 16, _S256, tag_length=8, tls13=True
    ),
    # TLS 1.2 AES-GCM, RFC 5288 and RFC 5289
    CipherSuite(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", AES_GCM, 16, _S256),
    CipherSuite(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", AES_GCM, 32, _S384),
    CipherSuite(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", AES_GCM, 16, _S256),
    CipherSuite(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", AES_GCM, 32, _S384),
    CipherSuite(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", AES_GCM, 16, _S256),
    CipherSuite(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", AES_GCM, 32, _S384),
    CipherSuite(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", AES_GCM, 16, _S256),
    CipherSuite(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", AES_GCM, 32, _S384),
    # TLS 1.2 ChaCha20-Poly1305, RFC 7905
    CipherSuite(
        0xCCA8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        CHACHA20_POLY1305,
        32,
        _S256,
    ),
    CipherSuite(
        0xCCA9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        CHACHA20_POLY1305,
        32,
        _S256,
    ),
    CipherSuite(
        0xCCAA,
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        CHACHA20_POLY1305,
        32,
        _S256,
    ),
    # TLS 1.2 AES-CCM, RFC 6655 and RFC 7251 (common on constrained devices)
    CipherSuite(0xC09C, "TLS_RSA_WITH_AES_128_CCM", AES_CCM, 16, _S256),
    CipherSuite(0xC09D, "TLS_RSA_WITH_AES_256_CCM", AES_CCM, 32, _S256),
    CipherSuite(0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8", AES_CCM, 16, _S256, tag_length=8),
    CipherSuite(0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8", AES_CCM, 32, _S256, tag_length=8),
    CipherSuite(0xC0A8, "TLS_PSK_WITH_AES_128_CCM_8", AES_CCM, 16, _S256, tag_length=8),
    CipherSuite(0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", AES_CCM, 16, _S256),
    CipherSuite(0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", AES_CCM, 32, _S256),
    CipherSuite(
        0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", AES_CCM, 16, _S256, tag_length=8
    ),
    CipherSuite(
        0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", AES_CCM, 32, _S256, tag_length=8
    ),
    # TLS 1.2 AES-CBC with HMAC, RFC 5246 §A.5, RFC 4492, RFC 5289
    CipherSuite(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", AES_CBC, 16, _S256, "sha1"),
    CipherSuite(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", AES_CBC, 16, _S256, "sha1"),
    CipherSuite(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", AES_CBC, 32, _S256, "sha1"),
    CipherSuite(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", AES_CBC, 32, _S256, "sha1"),
    CipherSuite(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", AES_CBC, 16, _S256, _S256),
    CipherSuite(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", AES_CBC, 32, _S256, _S256),
    CipherSuite(
        0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", AES_CBC, 16, _S256, _S256
    ),
    CipherSuite(
        0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", AES_CBC, 32, _S256, _S256
    ),
    CipherSuite(
        0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", AES_CBC, 16, _S256, "sha1"
    ),
    CipherSuite(
        0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", AES_CBC, 32, _S256, "sha1"
    ),
    CipherSuite(
        0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", AES_CBC, 16, _S256, "sha1"
    ),
    CipherSuite(
        0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", AES_CBC, 32, _S256, "sha1"
    ),
    CipherSuite(
        0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", AES_CBC, 16, _S256, _S256
    ),
    CipherSuite(
        0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", AES_CBC, 32, _S384, _S384
    ),
    CipherSuite(
        0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", AES_CBC, 16, _S256, _S256
    ),
    CipherSuite(
        0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", AES_CBC, 32, _S384, _S384
    ),
)
"""Every cipher suite that can be decrypted, by IANA code."""


@dataclass(frozen=True)
class WriteKeys:
    """The keys that protect the records one side writes."""

    mac_key: bytes
    """HMAC key of a CBC suite; empty for AEAD suites."""
    key: bytes
    """Encryption key."""
    iv: bytes
    """Fixed IV or salt from the key block (TLS 1.2) or the write IV (TLS 1.3)."""


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    """A fresh ``cryptography`` hash object for ``sha1``, ``sha256`` or ``sha384``."""
    from cryptography.hazmat.primitives import hashes

    algorithm: type[hashes.HashAlgorithm] = getattr(hashes, _HASHES[name])
    return algorithm()


def hmac_digest(hash_name: str, key: bytes, message: bytes) -> bytes:
    """HMAC of ``message`` under ``key`` (RFC 2104)."""
    from cryptography.hazmat.primitives import hmac

    mac = hmac.HMAC(key, hash_algorithm(hash_name))
    mac.update(message)
    return mac.finalize()


def _p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """P_hash(secret, seed), the data expansion function (RFC 5246 §5)."""
    # 1. RFC 5246 §5: A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
    chain = seed
    output = bytearray()
    while len(output) < length:
        chain = hmac_digest(hash_name, secret, chain)
        # 2. §5: P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) +
        #                               HMAC_hash(secret, A(2) + seed) + ...
        output += hmac_digest(hash_name, secret, chain + seed)
    return bytes(output[:length])


def prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The TLS 1.2 pseudorandom function PRF(secret, label, seed) (RFC 5246 §5)."""
    # RFC 5246 §5: PRF(secret, label, seed) = P_<hash>(secret, label + seed)
    return _p_hash(hash_name, secret, label + seed, length)


def legacy_prf(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The TLS 1.0 and 1.1 pseudorandom function (RFC 2246 §5, RFC 4346 §5)."""
    # 1. RFC 2246 §5: S1 and S2 are the first and second halves of the secret,
    #    sharing the middle byte when its length is odd
    half = (len(secret) + 1) // 2
    first, second = secret[:half], secret[len(secret) - half :]
    # 2. §5: PRF(secret, label, seed) = P_MD5(S1, label + seed) XOR
    #                                   P_SHA-1(S2, label + seed)
    md5 = _p_hash("md5", first, label + seed, length)
    sha1 = _p_hash("sha1", second, label + seed, length)
    return bytes(left ^ right for left, right in zip(md5, sha1, strict=True))


def tls12_write_keys(
    suite: CipherSuite,
    master_secret: bytes,
    client_random: bytes,
    server_random: bytes,
    version: int = 0x0303,
) -> tuple[WriteKeys, WriteKeys]:
    """The (client, server) write keys of a TLS 1.2 session (RFC 5246 §6.3).

    ``version`` 0x0301 or 0x0302 gives those of a TLS 1.0 or 1.1 session
    (RFC 2246 §6.3, RFC 4346 §6.3): the same key block from the older PRF;
    TLS 1.0 also takes each side's first CBC IV from it.
    """
    # 1. RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion",
    #                                     server_random + client_random)
    mac_length, key_length = suite.mac_length, suite.key_length
    iv_length = suite.fixed_iv_length
    if version == 0x0301:
        iv_length = CBC_BLOCK  # RFC 2246 §6.3: client_write_IV, server_write_IV
    size = 2 * (mac_length + key_length + iv_length)
    seed = server_random + client_random
    if version < 0x0303:
        block = legacy_prf(master_secret, b"key expansion", seed, size)
    else:
        block = prf(suite.prf_hash, master_secret, b"key expansion", seed, size)
    # 2. §6.3: client_write_MAC_key, server_write_MAC_key, client_write_key,
    # server_write_key, client_write_IV, server_write_IV, in that order; the
    # IVs are the implicit nonce parts of RFC 5288 §3 and RFC 7905 §2, or
    # TLS 1.0's first CBC IVs
    pieces = []
    position = 0
    for length in (
        mac_length,
        mac_length,
        key_length,
        key_length,
        iv_length,
        iv_length,
    ):
        pieces.append(block[position : position + length])
        position += length
    client = WriteKeys(pieces[0], pieces[2], pieces[4])
    server = WriteKeys(pieces[1], pieces[3], pieces[5])
    return client, server


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1)."""
    # 1. RFC 8446 §7.1: struct HkdfLabel { uint16 length;
    #        opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }
    full_label = b"tls13 " + label
    hkdf_label = (
        length.to_bytes(2, "big")
        + bytes([len(full_label)])
        + full_label
        + bytes([len(context)])
        + context
    )
    # 2. §7.1: HKDF-Expand-Label = HKDF-Expand(Secret, HkdfLabel, Length)
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    expand = HKDFExpand(hash_algorithm(hash_name), length, hkdf_label)
    return expand.derive(secret)


def tls13_write_keys(suite: CipherSuite, traffic_secret: bytes) -> WriteKeys:
    """The key and IV that a TLS 1.3 traffic secret protects records with."""
    # 1. RFC 8446 §7.3: [sender]_write_key =
    #    HKDF-Expand-Label(Secret, "key", "", key_length)
    key = hkdf_expand_label(
        suite.prf_hash, traffic_secret, b"key", b"", suite.key_length
    )
    # 2. §7.3: [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length);
    #    every TLS 1.3 AEAD uses a 12-byte nonce (§5.3)
    iv = hkdf_expand_label(suite.prf_hash, traffic_secret, b"iv", b"", 12)
    return WriteKeys(b"", key, iv)


def next_traffic_secret(suite: CipherSuite, traffic_secret: bytes) -> bytes:
    """The traffic secret that follows a KeyUpdate (RFC 8446 §7.2)."""
    # RFC 8446 §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(
    #           application_traffic_secret_N, "traffic upd", "", Hash.length)
    length = hash_algorithm(suite.prf_hash).digest_size
    return hkdf_expand_label(
        suite.prf_hash, traffic_secret, b"traffic upd", b"", length
    )
