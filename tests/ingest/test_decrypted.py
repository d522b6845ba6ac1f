"""A pcap plus its key log is audited as if it were plaintext.

The test runs a real TLS session between two in-memory OpenSSL endpoints,
writes what crossed the wire into a pcap with toyaudit.synth, and reads the
pcap back through ingest with and without the key log OpenSSL wrote.
"""

from __future__ import annotations

import datetime
import json
import shutil
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from toyaudit.ingest import Shard, read_session
from toyaudit.ingest.records import Coverage, HttpRequest, Observation, Transport
from toyaudit.ingest.shard import conversation_shard
from toyaudit.session import open_evidence
from toyaudit.synth import Host, PcapWriter, TcpConversation
from toyaudit.synthmessages import http_request

TOY = Host("02:1a:7d:5e:33:c1", "192.168.4.23")
CLOUD = Host("02:00:5e:c0:04:01", "203.0.113.20")
START = 1_764_000_000.0
"""Capture time of the first frame; :class:`TcpConversation` steps 1 ms."""
REQUEST = http_request(
    "POST", "voice.toy.test", "/v2/profile", {"Content-Type": "application/json"},
    b'{"child_name": "Quill Tester"}',
)  # fmt: skip


def _certificate(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "voice.toy.test")])
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
    (folder / "cert.pem").write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
    )
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _tls_wire(folder: Path, version: ssl.TLSVersion) -> list[tuple[bool, bytes]]:
    """Run a TLS session in memory; return what each side put on the wire."""
    _certificate(folder)
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.check_hostname = False
    client_context.verify_mode = ssl.CERT_NONE
    client_context.maximum_version = version
    client_context.keylog_filename = str(folder / "capture.keys")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    if version < ssl.TLSVersion.TLSv1_2:
        # OpenSSL speaks TLS 1.0 and 1.1 only at security level 0.
        for context in (client_context, server_context):
            context.minimum_version = version
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
    bios = [ssl.MemoryBIO() for _ in range(4)]
    client = client_context.wrap_bio(bios[0], bios[1], server_hostname="voice.toy.test")
    server = server_context.wrap_bio(bios[2], bios[3], server_side=True)
    wire: list[tuple[bool, bytes]] = []

    def pump() -> None:
        for from_client, source, target in ((True, 1, 2), (False, 3, 0)):
            chunk = bios[source].read()
            if chunk:
                wire.append((from_client, chunk))
                bios[target].write(chunk)

    for _round in range(6):
        for end in (client, server):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
        pump()
    client.write(REQUEST)
    pump()
    assert server.read(1 << 16) == REQUEST
    server.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    pump()
    return wire


def _write_pcap(
    folder: Path, wire: list[tuple[bool, bytes]], *others: list[tuple[bool, bytes]]
) -> Path:
    """A pcap of one TLS connection per wire, one after the other."""
    frames = []
    for number, chunks in enumerate((wire, *others)):
        conversation = TcpConversation(
            (TOY, 49800 + number), (CLOUD, 443), start=START + number
        )
        frames += conversation.open()
        for from_client, chunk in chunks:
            frames += conversation.send(from_client, chunk)
        frames += conversation.close()
    capture = folder / "capture.pcap"
    with capture.open("wb") as stream:
        PcapWriter(stream).write_frames(frames)
    return capture


def _capture_with_a_keyless_connection(folder: Path) -> Path:
    """Two TLS connections to voice.toy.test; the key log holds the first's only."""
    other = folder / "other"
    other.mkdir()
    passed = _tls_wire(other, ssl.TLSVersion.TLSv1_3)
    shutil.rmtree(other)
    capture = _write_pcap(folder, _tls_wire(folder, ssl.TLSVersion.TLSv1_3), passed)
    for name in ("cert.pem", "key.pem"):
        (folder / name).unlink()
    return capture


def _refuse(folder: Path, host: str) -> None:
    verdict = {
        "time": "2025-11-24T16:00:00Z",
        "client": f"{TOY.ip}:49700",
        "server": f"{CLOUD.ip}:443",
        "sni": host,
        "verdict": "rejected",
        "detail": "tlsv1 alert unknown ca",
    }
    (folder / "tls-verdicts.jsonl").write_text(json.dumps(verdict) + "\n")


def test_decrypted_connection_passed_through_after_a_refusal_is_a_note(
    tmp_path: Path,
) -> None:
    _capture_with_a_keyless_connection(tmp_path)
    _refuse(tmp_path, "voice.toy.test")

    observations, coverage = _read_folder(tmp_path)

    assert len([item for item in observations if isinstance(item, HttpRequest)]) == 1
    assert coverage.problems == []
    [note] = coverage.notes
    assert note.startswith(
        "capture.pcap: content not visible: the toy refused interception of "
        "voice.toy.test, so the capture passed it through (1 TLS connection, "
        "192.168.4.23:49801 -> 203.0.113.20:443 at frame "
    )


def test_decrypted_connection_without_secrets_is_a_note_naming_the_key_log(
    tmp_path: Path,
) -> None:
    _capture_with_a_keyless_connection(tmp_path)
    _refuse(tmp_path, "other.toy.test")

    _observations, coverage = _read_folder(tmp_path)

    assert coverage.problems == []
    [note] = coverage.notes
    assert (
        "the key log holds no secrets for voice.toy.test, so it stays encrypted" in note
    )


def test_decrypted_keyless_notes_merge_across_shards(tmp_path: Path) -> None:
    _capture_with_a_keyless_connection(tmp_path)
    _refuse(tmp_path, "voice.toy.test")
    session = open_evidence(tmp_path)
    whole = Coverage()
    list(read_session(session, whole))

    shards = [Coverage.for_shard() for _ in range(3)]
    for index, coverage in enumerate(shards):
        list(read_session(session, coverage, None, Shard(index, 3)))
    for other in shards[1:]:
        shards[0].merge(other)
    shards[0].settle()

    assert whole.notes and shards[0] == whole


def _read_folder(folder: Path) -> tuple[list[Observation], Coverage]:
    coverage = Coverage()
    observations = list(read_session(open_evidence(folder), coverage))
    return observations, coverage


def _read(capture: Path) -> tuple[list[Observation], Coverage]:
    coverage = Coverage()
    observations = list(read_session(open_evidence(capture), coverage))
    return observations, coverage


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize(
    "version",
    [
        ssl.TLSVersion.TLSv1_3,
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_1,
        ssl.TLSVersion.TLSv1,
    ],
)
def test_decrypted_pcap_with_keylog_reads_https_request(
    tmp_path: Path, version: ssl.TLSVersion
) -> None:
    capture = _write_pcap(tmp_path, _tls_wire(tmp_path, version))

    observations, coverage = _read(capture)

    [request] = [item for item in observations if isinstance(item, HttpRequest)]
    assert request.transport is Transport.TLS
    assert (request.method, request.host, request.path) == (
        "POST",
        "voice.toy.test",
        "/v2/profile",
    )
    assert b"Quill Tester" in request.body
    assert request.response is not None and request.response.status == 200
    assert request.evidence.packets and min(request.evidence.packets) > 3
    # Frames are a millisecond apart from the start; the request is timed by
    # the first frame of the TLS record that carried it.
    first = request.evidence.packets[0]
    assert request.evidence.time == pytest.approx(START + (first - 1) / 1000)
    assert coverage.problems == []
    assert "capture.keys" in coverage.files_read


def test_decrypted_pcap_without_keylog_stays_opaque_and_quiet(tmp_path: Path) -> None:
    capture = _write_pcap(tmp_path, _tls_wire(tmp_path, ssl.TLSVersion.TLSv1_3))
    (tmp_path / "capture.keys").unlink()

    observations, coverage = _read(capture)

    assert not any(isinstance(item, HttpRequest) for item in observations)
    assert coverage.problems == []


def test_decrypted_pcap_with_wrong_keylog_says_why(tmp_path: Path) -> None:
    capture = _write_pcap(tmp_path, _tls_wire(tmp_path, ssl.TLSVersion.TLSv1_3))
    other = tmp_path / "other"
    other.mkdir()
    _tls_wire(other, ssl.TLSVersion.TLSv1_3)
    (tmp_path / "capture.keys").write_bytes((other / "capture.keys").read_bytes())

    observations, coverage = _read(capture)

    assert not any(isinstance(item, HttpRequest) for item in observations)
    # No connection of the file has secrets in the key log: the wrong key log.
    assert coverage.problems == [
        "capture.pcap: TLS connections not decrypted: the key log holds no secrets "
        "for any of the 1 TLS connections, the first 192.168.4.23:49800 -> "
        "203.0.113.20:443 at frame 4; check that the key log belongs to this capture"
    ]
    assert coverage.notes == []


def test_decrypted_every_shard_reads_the_key_log(tmp_path: Path) -> None:
    capture = _write_pcap(tmp_path, _tls_wire(tmp_path, ssl.TLSVersion.TLSv1_3))
    session = open_evidence(capture)

    requests = []
    for index in range(3):
        coverage = Coverage()
        for item in read_session(session, coverage, None, Shard(index, 3)):
            if isinstance(item, HttpRequest):
                requests.append((index, item.transport))
        assert coverage.problems == []

    owner = conversation_shard(TOY.packed_ip, 49800, CLOUD.packed_ip, 443, 3)
    assert requests == [(owner, Transport.TLS)]


def test_decrypted_tls_inside_a_proxy_connect_tunnel(tmp_path: Path) -> None:
    connect = b"CONNECT voice.toy.test:443 HTTP/1.1\r\nHost: voice.toy.test:443\r\n\r\n"
    established = b"HTTP/1.1 200 Connection established\r\n\r\n"
    wire = [
        (True, connect),
        (False, established),
        *_tls_wire(tmp_path, ssl.TLSVersion.TLSv1_3),
    ]
    capture = _write_pcap(tmp_path, wire)

    observations, coverage = _read(capture)

    requests = [item for item in observations if isinstance(item, HttpRequest)]
    assert [(item.method, item.transport) for item in requests] == [
        ("CONNECT", Transport.PLAINTEXT),
        ("POST", Transport.TLS),
    ]
    assert b"Quill Tester" in requests[1].body
    assert requests[1].response is not None and requests[1].response.status == 200
    assert coverage.problems == [] and coverage.notes == []
