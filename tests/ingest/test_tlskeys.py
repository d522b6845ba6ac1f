"""Tests of TLS key derivation against published test vectors and the RFCs."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from toyaudit.ingest.tlskeys import (
    AES_CBC,
    SUITES,
    hkdf_expand_label,
    legacy_prf,
    next_traffic_secret,
    prf,
    tls12_write_keys,
    tls13_write_keys,
)


def test_tlskeys_prf_sha256_vector() -> None:
    # The TLS 1.2 P_SHA256 vector circulated on the IETF TLS list (msg03416)
    output = prf(
        "sha256",
        bytes.fromhex("9bbe436ba940f017b17652849a71db35"),
        b"test label",
        bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c"),
        100,
    )

    assert output.hex() == (
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
        "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
        "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
        "87347b66"
    )


def test_tlskeys_prf_sha384_vector_prefix() -> None:
    output = prf(
        "sha384",
        bytes.fromhex("b80b733d6ceefcdc71566ea48e5567df"),
        b"test label",
        bytes.fromhex("cd665cf6a8447dd6ff8b27555edb7465"),
        48,
    )

    assert output.hex() == (
        "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
        "e9ca0faa60be9fe34f82b1233c9146a0"
    )


@pytest.mark.parametrize(
    ("secret", "key", "iv"),
    [
        (  # RFC 8448 §3, server handshake traffic
            "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
            "3fce516009c21727d0f2e4e86ee403bc",
            "5d313eb2671276ee13000b30",
        ),
        (  # RFC 8448 §3, client handshake traffic
            "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
            "dbfaa693d1762c5b666af5d950258d01",
            "5bd3c71b836e0b76bb73265f",
        ),
    ],
)
def test_tlskeys_tls13_write_keys_match_rfc8448(secret: str, key: str, iv: str) -> None:
    keys = tls13_write_keys(SUITES[0x1301], bytes.fromhex(secret))

    assert (keys.key.hex(), keys.iv.hex(), keys.mac_key) == (key, iv, b"")


def test_tlskeys_next_traffic_secret_is_expand_label_traffic_upd() -> None:
    secret = bytes(range(48))

    following = next_traffic_secret(SUITES[0x1302], secret)

    assert len(following) == 48
    assert following == hkdf_expand_label("sha384", secret, b"traffic upd", b"", 48)


def test_tlskeys_tls12_key_block_layout() -> None:
    suite = SUITES[0xC013]  # ECDHE-RSA-AES128-SHA: 20-byte MACs, 16-byte keys
    master, client_random, server_random = bytes(48), b"c" * 32, b"s" * 32
    block = prf("sha256", master, b"key expansion", server_random + client_random, 72)

    client, server = tls12_write_keys(suite, master, client_random, server_random)

    assert (client.mac_key, server.mac_key) == (block[:20], block[20:40])
    assert (client.key, server.key) == (block[40:56], block[56:72])
    assert client.iv == server.iv == b""


def _p_hash_stdlib(name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 2246 §5's P_hash written with the standard library's hmac."""
    chain, output = seed, b""
    while len(output) < length:
        chain = hmac.new(secret, chain, name).digest()
        output += hmac.new(secret, chain + seed, name).digest()
    return output[:length]


@pytest.mark.parametrize("secret_length", [48, 47])
def test_tlskeys_legacy_prf_xors_md5_and_sha1_over_the_secrets_halves(
    secret_length: int,
) -> None:
    secret = hashlib.sha256(b"master").digest() + bytes(range(secret_length - 32))
    seed = b"s" * 32 + b"c" * 32
    # RFC 2246 §5: an odd-length secret's halves share its middle byte.
    half = (secret_length + 1) // 2
    md5 = _p_hash_stdlib("md5", secret[:half], b"key expansion" + seed, 104)
    sha1 = _p_hash_stdlib("sha1", secret[-half:], b"key expansion" + seed, 104)

    output = legacy_prf(secret, b"key expansion", seed, 104)

    assert output == bytes(a ^ b for a, b in zip(md5, sha1, strict=True))


def test_tlskeys_tls10_key_block_has_cbc_ivs_and_tls11_uses_the_same_keys() -> None:
    suite = SUITES[0x002F]  # AES128-SHA: 20-byte MACs, 16-byte keys
    master, client_random, server_random = bytes(48), b"c" * 32, b"s" * 32
    seed = server_random + client_random
    block = legacy_prf(master, b"key expansion", seed, 104)

    client, server = tls12_write_keys(
        suite, master, client_random, server_random, 0x0301
    )
    later = tls12_write_keys(suite, master, client_random, server_random, 0x0302)

    assert (client.mac_key, server.mac_key) == (block[:20], block[20:40])
    assert (client.key, server.key) == (block[40:56], block[56:72])
    assert (client.iv, server.iv) == (block[72:88], block[88:104])
    assert [(keys.mac_key, keys.key) for keys in later] == [
        (client.mac_key, client.key),
        (server.mac_key, server.key),
    ]


def test_tlskeys_suite_table_is_consistent() -> None:
    for code, suite in SUITES.items():
        assert code == suite.code
        assert suite.key_length in (16, 32)
        assert suite.tls13 == (code >> 8 == 0x13)
        assert (suite.mac_hash is not None) == (suite.cipher == AES_CBC)
        assert suite.name.endswith("SHA384") == (suite.prf_hash == "sha384")
