"""Tests of record opening on hand-built records: the failures a capture can hold."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from toyaudit.ingest.tlskeys import SUITES, WriteKeys, hmac_digest
from toyaudit.ingest.tlsrecord import RecordOpener, RecordProtectionError

CBC_SHA = SUITES[0xC013]  # TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
KEYS = WriteKeys(mac_key=b"m" * 20, key=b"k" * 16, iv=b"")
IV = b"i" * 16


def _header(sequence: int, length: int) -> bytes:
    return sequence.to_bytes(8, "big") + b"\x17\x03\x03" + length.to_bytes(2, "big")


def _cbc(plain: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(KEYS.key), modes.CBC(IV)).encryptor()
    return IV + encryptor.update(plain) + encryptor.finalize()


def _mac_then_encrypt(content: bytes, padding: bytes, sequence: int = 0) -> bytes:
    mac = hmac_digest("sha1", KEYS.mac_key, _header(sequence, len(content)) + content)
    return _cbc(content + mac + padding)


def test_tlsrecord_cbc_mac_then_encrypt_opens_in_sequence() -> None:
    opener = RecordOpener(CBC_SHA, KEYS, tls13=False)
    first = _mac_then_encrypt(b"hello", b"\x06" * 7)  # 5 + 20 + 7 = 32
    second = _mac_then_encrypt(b"again", b"\x06" * 7, sequence=1)

    assert opener.open(23, 0x0303, first) == (23, b"hello")
    assert opener.open(23, 0x0303, second) == (23, b"again")
    assert opener.sequence == 2


@pytest.mark.parametrize(
    ("record", "failure"),
    [
        (_mac_then_encrypt(b"hello", b"\x06" * 6 + b"\x05"), "bad CBC padding"),
        (_mac_then_encrypt(b"hello", b"\x06" * 7, sequence=4), "MAC mismatch"),
        (_cbc(b"x" * 32)[:-1], "CBC record too short"),
        (_cbc(b"x" * 48)[:-1], "is not whole AES blocks"),
        (b"", "CBC record too short"),
    ],
)
def test_tlsrecord_cbc_failures_are_named(record: bytes, failure: str) -> None:
    opener = RecordOpener(CBC_SHA, KEYS, tls13=False)

    with pytest.raises(RecordProtectionError, match=failure):
        opener.open(23, 0x0303, record)
    assert opener.sequence == 0


def test_tlsrecord_cbc_encrypt_then_mac_checks_mac_before_decrypting() -> None:
    opener = RecordOpener(CBC_SHA, KEYS, tls13=False, encrypt_then_mac=True)
    protected = _cbc(b"hello" + b"\x0a" * 11)
    mac = hmac_digest("sha1", KEYS.mac_key, _header(0, len(protected)) + protected)

    with pytest.raises(RecordProtectionError, match="MAC mismatch"):
        opener.open(23, 0x0303, protected + bytes(20))
    with pytest.raises(RecordProtectionError, match="too short for IV and MAC"):
        opener.open(23, 0x0303, mac)
    assert opener.open(23, 0x0303, protected + mac) == (23, b"hello")


def test_tlsrecord_tls13_inner_plaintext_padding_and_type() -> None:
    suite = SUITES[0x1301]
    keys = WriteKeys(b"", b"k" * 16, b"n" * 12)
    opener = RecordOpener(suite, keys, tls13=True)
    aead = AESGCM(keys.key)
    padded = aead.encrypt(keys.iv, b"ping\x17" + bytes(10), b"\x17\x03\x03\x00\x1f")
    nonce = (int.from_bytes(keys.iv, "big") ^ 1).to_bytes(12, "big")
    only_padding = aead.encrypt(nonce, bytes(4), b"\x17\x03\x03\x00\x14")

    assert opener.open(23, 0x0303, padded) == (23, b"ping")
    with pytest.raises(RecordProtectionError, match="only padding"):
        opener.open(23, 0x0303, only_padding)
    with pytest.raises(RecordProtectionError, match="shorter than its authentication"):
        opener.open(23, 0x0303, b"short")


def test_tlsrecord_tls12_gcm_needs_its_explicit_nonce() -> None:
    opener = RecordOpener(SUITES[0xC02F], WriteKeys(b"", b"k" * 16, b"salt"), False)

    with pytest.raises(RecordProtectionError, match="explicit nonce"):
        opener.open(23, 0x0303, b"1234")
    with pytest.raises(RecordProtectionError, match="authentication tag mismatch"):
        opener.open(23, 0x0303, bytes(40))
