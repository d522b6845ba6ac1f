"""The lab's "public" certificate authority and the cloud servers' certificates.

A careful toy trusts this CA the way a real toy trusts the public web PKI, so
it accepts the cloud servers and refuses mitmproxy's forged certificates. The
capture is given the same CA file (``ssl_verify_upstream_trusted_ca``) so
mitmproxy can validate the cloud without turning verification off.
:func:`issue_pki` gives each server name its own certificate;
:func:`issue_shared_pki` gives one certificate naming them all, for a single
server that answers for every name (the capture tests' HTTPS origin,
tests/capture/tlslab.py).

Keys are P-256 (fast to generate, so every lab run has its own CA), and the
certificates carry the extensions strict X.509 checking asks for (key
identifiers, critical basic constraints, key usage), since Python 3.13's
default context and mitmproxy both verify strictly.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

VALIDITY = dt.timedelta(days=7)
"""How long the lab's certificates stay valid (a lab run lasts seconds)."""
BACKDATE = dt.timedelta(hours=1)
"""Tolerance for a clock that differs slightly between processes."""


@dataclass(frozen=True, slots=True)
class ServerCredential:
    """One server name's certificate and private key, as PEM files."""

    certificate_path: Path
    key_path: Path


@dataclass(frozen=True, slots=True)
class LabPki:
    """The lab CA's certificate and one credential per server name."""

    ca_path: Path
    """The CA certificate (PEM) that careful clients and mitmproxy trust."""
    credentials: Mapping[str, ServerCredential]


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "toyaudit lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, signs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signs,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs,
        crl_sign=signs,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    )


def _issue_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name("PlushPal lab public root CA")
    certificate = (
        _builder(subject, subject, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(signs=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _issue_leaf(
    hosts: Sequence[str], ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A server certificate for every name in ``hosts``, named after the first."""
    key = ec.generate_private_key(ec.SECP256R1())
    authority = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    names = x509.SubjectAlternativeName([x509.DNSName(host) for host in hosts])
    certificate = (
        _builder(_name(hosts[0]), ca.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signs=False), critical=True)
        .add_extension(authority, critical=False)
        .add_extension(names, critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


def _write_private(path: Path, content: bytes) -> None:
    """Write ``content`` to a new file only its owner can read."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(content)


def issue_pki(folder: Path, hosts: Sequence[str]) -> LabPki:
    """Create the lab CA and a certificate for each of ``hosts`` in ``folder``."""
    ca, ca_key, ca_path = _write_ca(folder)
    credentials = {
        host: _write_credential(folder, (host,), ca, ca_key) for host in hosts
    }
    logger.debug("issued lab CA %s and %d server certificates", ca_path, len(hosts))
    return LabPki(ca_path, credentials)


def issue_shared_pki(folder: Path, hosts: Sequence[str]) -> LabPki:
    """Create the lab CA and one certificate naming all of ``hosts`` in ``folder``.

    For a single server that answers for every host: each host's credential
    is that one certificate and key.
    """
    ca, ca_key, ca_path = _write_ca(folder)
    shared = _write_credential(folder, hosts, ca, ca_key)
    logger.debug("issued lab CA %s and one certificate for %s", ca_path, hosts)
    return LabPki(ca_path, dict.fromkeys(hosts, shared))


def _write_ca(
    folder: Path,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]:
    """Issue the lab CA and write its certificate to ``folder/lab-ca.pem``."""
    ca, ca_key = _issue_ca()
    ca_path = folder / "lab-ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca, ca_key, ca_path


def _write_credential(
    folder: Path,
    hosts: Sequence[str],
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
) -> ServerCredential:
    """Issue a certificate for ``hosts`` and write it, named after the first."""
    certificate, key = _issue_leaf(hosts, ca, ca_key)
    credential = ServerCredential(
        folder / f"{hosts[0]}.pem", folder / f"{hosts[0]}.key"
    )
    credential.certificate_path.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
    )
    _write_private(
        credential.key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return credential
