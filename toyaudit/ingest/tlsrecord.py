"""Open protected TLS records, one direction of a connection at a time.

A :class:`RecordOpener` holds one side's write keys and the sequence number of
its next record, and turns each protected record back into its content type
and plaintext: AEAD records of TLS 1.2 (RFC 5288, RFC 6655, RFC 7905) and TLS
1.3 (RFC 8446 §5.2), and CBC records of TLS 1.0 to 1.2 with the MAC before
(RFC 5246 §6.2.3.2) or after encryption (RFC 7366); TLS 1.0 records carry no
IV of their own, each continues the CBC chain of the one before (RFC 2246
§6.2.3.2). A record that does not authenticate
raises :class:`RecordProtectionError`, and leaves the sequence number alone so
that the caller may try other keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toyaudit.errors import IngestError
from toyaudit.ingest.tlskeys import (
    AES_CBC,
    AES_CCM,
    AES_GCM,
    CBC_BLOCK,
    CipherSuite,
    WriteKeys,
    hmac_digest,
)

if TYPE_CHECKING:  # cryptography is imported when a record is opened
    from cryptography.hazmat.primitives.ciphers.aead import (
        AESCCM,
        AESGCM,
        ChaCha20Poly1305,
    )

_BLOCK = CBC_BLOCK
"""Bytes of an AES block, and of the explicit CBC IV of TLS 1.1 and later."""
_EXPLICIT_NONCE = 8
"""Bytes of the explicit nonce of TLS 1.2 AES-GCM and AES-CCM (RFC 5288 §3)."""


class RecordProtectionError(IngestError):
    """A protected record does not open: bad tag, MAC, padding or length.

    The decryptor catches it and turns it into a coverage note; it never
    leaves the ingest stage.
    """


def _aead(suite: CipherSuite, key: bytes) -> AESGCM | AESCCM | ChaCha20Poly1305:
    """The AEAD primitive of ``suite`` keyed with ``key``."""
    from cryptography.hazmat.primitives.ciphers.aead import (
        AESCCM,
        AESGCM,
        ChaCha20Poly1305,
    )

    if suite.cipher == AES_GCM:
        return AESGCM(key)
    if suite.cipher == AES_CCM:
        return AESCCM(key, tag_length=suite.tag_length)
    return ChaCha20Poly1305(key)


def _xor_nonce(iv: bytes, sequence: int) -> bytes:
    """The per-record nonce: the IV XOR the left-padded sequence number."""
    # RFC 8446 §5.3 and RFC 7905 §2 build the nonce the same way
    padded = sequence.to_bytes(len(iv), "big")
    return bytes(left ^ right for left, right in zip(iv, padded, strict=True))


class RecordOpener:
    """Opens the records one side writes under one set of keys, in order."""

    __slots__ = (
        "suite",
        "keys",
        "tls13",
        "encrypt_then_mac",
        "sequence",
        "chained_iv",
        "_aead",
    )

    def __init__(
        self,
        suite: CipherSuite,
        keys: WriteKeys,
        tls13: bool,
        encrypt_then_mac: bool = False,
        chained_iv: bool = False,
    ) -> None:
        self.suite = suite
        self.keys = keys
        self.tls13 = tls13
        self.encrypt_then_mac = encrypt_then_mac
        self.sequence = 0
        """Sequence number of the next record (RFC 5246 §6.1, RFC 8446 §5.3)."""
        self.chained_iv = keys.iv if chained_iv else None
        """TLS 1.0 CBC: the IV of the next record, the last ciphertext block of
        the one before (the key block's IV at first); None when records carry
        their own IV."""
        self._aead = None if suite.cipher == AES_CBC else _aead(suite, keys.key)

    def open(
        self, content_type: int, version: int, payload: bytes
    ) -> tuple[int, bytes]:
        """Return (content type, plaintext) of one protected record.

        ``content_type`` and ``version`` are those of the record header. Raises
        :class:`RecordProtectionError` when the record does not authenticate.
        """
        if self.tls13:
            opened = self._open_tls13(content_type, version, payload)
        elif self._aead is None:
            opened = content_type, self._open_cbc(content_type, version, payload)
        else:
            opened = content_type, self._open_tls12_aead(content_type, version, payload)
        self.sequence += 1
        return opened

    def _decrypt(self, nonce: bytes, ciphertext: bytes, additional: bytes) -> bytes:
        """AEAD-decrypt, turning a bad tag into :class:`RecordProtectionError`."""
        if self._aead is None:
            raise RecordProtectionError(f"{self.suite.name} is not an AEAD suite")
        if len(ciphertext) < self.suite.tag_length:
            raise RecordProtectionError("record shorter than its authentication tag")
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(nonce, ciphertext, additional)
        except InvalidTag:
            raise RecordProtectionError("authentication tag mismatch") from None

    def _open_tls13(
        self, content_type: int, version: int, payload: bytes
    ) -> tuple[int, bytes]:
        """Open a TLS 1.3 record and split its inner plaintext (RFC 8446 §5.2)."""
        # 1. RFC 8446 §5.3: nonce = write IV XOR the 64-bit record sequence number
        nonce = _xor_nonce(self.keys.iv, self.sequence)
        # 2. §5.2: additional_data = TLSCiphertext.opaque_type ||
        #          legacy_record_version || length
        header = _header(content_type, version, len(payload))
        inner = self._decrypt(nonce, payload, header)
        # 3. §5.2: TLSInnerPlaintext = content || ContentType type || zeros;
        #    the type is the last non-zero byte
        content = inner.rstrip(b"\x00")
        if not content:
            raise RecordProtectionError("record holds only padding, no content type")
        return content[-1], content[:-1]

    def _open_tls12_aead(
        self, content_type: int, version: int, payload: bytes
    ) -> bytes:
        """Open a TLS 1.2 AEAD record (RFC 5246 §6.2.3.3)."""
        if self.suite.fixed_iv_length == 12:
            # 1. RFC 7905 §2: ChaCha20-Poly1305 has no explicit nonce
            nonce = _xor_nonce(self.keys.iv, self.sequence)
            ciphertext = payload
        else:
            # 1. RFC 5288 §3, RFC 6655 §3: nonce = salt (4 bytes) || explicit (8)
            nonce = self.keys.iv + payload[:_EXPLICIT_NONCE]
            ciphertext = payload[_EXPLICIT_NONCE:]
            if len(nonce) != 12:
                raise RecordProtectionError("record shorter than its explicit nonce")
        # 2. RFC 5246 §6.2.3.3: additional_data = seq_num + type + version +
        #    length, where length is that of the plaintext
        plain_length = max(0, len(ciphertext) - self.suite.tag_length)
        additional = self.sequence.to_bytes(8, "big") + _header(
            content_type, version, plain_length
        )
        return self._decrypt(nonce, ciphertext, additional)

    def _open_cbc(self, content_type: int, version: int, payload: bytes) -> bytes:
        """Open a CBC record, MAC-then-encrypt or encrypt-then-MAC."""
        mac_length = self.suite.mac_length
        explicit_iv = 0 if self.chained_iv is not None else _BLOCK
        if self.encrypt_then_mac:
            # 1. RFC 7366 §3: the MAC covers IV + ciphertext and follows them;
            #    check it first
            if len(payload) < explicit_iv + _BLOCK + mac_length:
                raise RecordProtectionError("CBC record too short for IV and MAC")
            protected, mac = payload[:-mac_length], payload[-mac_length:]
            self._check_mac(content_type, version, protected, mac)
            # 2. §3: then decrypt and strip the padding
            content = self._unpad(self._cbc_decrypt(protected))
        else:
            # 1. RFC 5246 §6.2.3.2: decrypt and strip the padding
            if len(payload) < explicit_iv + _BLOCK * (1 + mac_length // _BLOCK):
                raise RecordProtectionError(
                    "CBC record too short for IV, MAC and padding"
                )
            plain = self._unpad(self._cbc_decrypt(payload))
            if len(plain) < mac_length:
                raise RecordProtectionError("CBC record too short for its MAC")
            # 2. §6.2.3.1: check the MAC over the plaintext that precedes it
            split = len(plain) - mac_length
            content, mac = plain[:split], plain[split:]
            self._check_mac(content_type, version, content, mac)
        if self.chained_iv is not None:
            # 3. RFC 2246 §6.2.3.2: the next record's IV is this one's last block
            ciphertext = payload[:-mac_length] if self.encrypt_then_mac else payload
            self.chained_iv = ciphertext[-_BLOCK:]
        return content

    def _cbc_decrypt(self, protected: bytes) -> bytes:
        """Decrypt [IV +] ciphertext (RFC 5246 §6.2.3.2, RFC 2246 §6.2.3.2).

        The IV is the record's first block, or for TLS 1.0 the chained one.
        """
        iv = self.chained_iv
        if iv is None:
            iv, protected = protected[:_BLOCK], protected[_BLOCK:]
        if not protected or len(protected) % _BLOCK:
            raise RecordProtectionError(
                f"CBC record of {len(protected)} bytes is not whole AES blocks"
            )
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        cipher = Cipher(algorithms.AES(self.keys.key), modes.CBC(iv))
        decryptor = cipher.decryptor()
        return decryptor.update(protected) + decryptor.finalize()

    @staticmethod
    def _unpad(plain: bytes) -> bytes:
        """Strip TLS CBC padding: padding_length + 1 bytes all equal to it."""
        padding = plain[-1] + 1
        if padding > len(plain) or plain[-padding:] != bytes([plain[-1]]) * padding:
            raise RecordProtectionError("bad CBC padding")
        return plain[:-padding]

    def _check_mac(
        self, content_type: int, version: int, covered: bytes, mac: bytes
    ) -> None:
        """Check HMAC(seq_num + type + version + length + covered) (§6.2.3.1)."""
        if self.suite.mac_hash is None:
            raise RecordProtectionError(f"{self.suite.name} has no MAC")
        message = (
            self.sequence.to_bytes(8, "big")
            + _header(content_type, version, len(covered))
            + covered
        )
        if hmac_digest(self.suite.mac_hash, self.keys.mac_key, message) != mac:
            raise RecordProtectionError("MAC mismatch")


def _header(content_type: int, version: int, length: int) -> bytes:
    """A record header: type (1 byte), version (2 bytes), length (2 bytes)."""
    return (
        bytes([content_type]) + version.to_bytes(2, "big") + length.to_bytes(2, "big")
    )
