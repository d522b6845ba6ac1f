"""A loopback TLS lab: a throwaway CA, an HTTPS origin, and scripted toy clients.

The origin listens on 127.0.0.1 with a certificate for every lab host name,
issued by a CA made for the test run. Clients reach it through an HTTP proxy
(a ``CONNECT`` tunnel, then TLS with the host name as SNI) and behave like
the toys whose verdicts the capture must tell apart: one that validates
certificates against the lab CA only, one that validates nothing
(``CERT_NONE``, the classic toy bug), and one that completes the handshake
and then checks the leaf against a pin, leaving without a byte when it
differs, as certificate-pinning HTTP clients do.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.lab.pki import issue_shared_pki

HOSTS = ("api.careful.test", "api.careless.test", "api.pinned.test")
"""Lab host names, one per client behaviour; the origin serves them all."""
ORIGIN_REPLY = b'{"ok": true}'
TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class LabFiles:
    """PEM files of the lab CA and the origin's certificate."""

    ca: Path
    certificate: Path
    key: Path


def make_lab_files(folder: Path) -> LabFiles:
    """Create a CA and an origin certificate for :data:`HOSTS` in ``folder``.

    The lab's PKI (:mod:`tests.lab.pki`) issues them: one certificate names
    every lab host, so the one origin can answer for all of them.
    """
    pki = issue_shared_pki(folder, HOSTS)
    origin = pki.credentials[HOSTS[0]]
    return LabFiles(pki.ca_path, origin.certificate_path, origin.key_path)


class _OriginHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET and POST with a small JSON body."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._reply()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._reply()

    def _reply(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ORIGIN_REPLY)))
        self.end_headers()
        self.wfile.write(ORIGIN_REPLY)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep the test output quiet."""


@contextmanager
def https_origin(files: LabFiles) -> Iterator[int]:
    """Serve HTTPS on 127.0.0.1 for the lab hosts; yields the port."""
    settings = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    settings.load_cert_chain(files.certificate, files.key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OriginHandler)
    server.socket = settings.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A TCP (or UDP) port on 127.0.0.1 that nothing uses right now."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Tunnel:
    """How a client reaches the origin: through the proxy, to host:port."""

    proxy_port: int
    origin_port: int

    def open(self) -> socket.socket:
        """A TCP connection to the proxy, tunnelled to the origin by CONNECT."""
        connection = socket.create_connection(("127.0.0.1", self.proxy_port), TIMEOUT)
        target = f"127.0.0.1:{self.origin_port}"
        connection.sendall(
            f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
        if not answer.startswith(b"HTTP/1.1 200"):
            connection.close()
            raise ConnectionError(f"the proxy refused CONNECT: {answer[:80]!r}")
        return connection


def validating_client(tunnel: Tunnel, ca: Path, host: str) -> bytes:
    """Trust only the lab CA; GET / and return the body (raises if refused)."""
    settings = ssl.create_default_context(cafile=str(ca))
    with settings.wrap_socket(tunnel.open(), server_hostname=host) as connection:
        return _exchange(connection, f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode())


def careless_client(tunnel: Tunnel, host: str, document: dict[str, str]) -> bytes:
    """Validate nothing and POST ``document`` as JSON; returns the reply body."""
    settings = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    settings.check_hostname = False
    settings.verify_mode = ssl.CERT_NONE
    body = json.dumps(document).encode()
    head = (
        f"POST /v1/profile HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    )
    with settings.wrap_socket(tunnel.open(), server_hostname=host) as connection:
        return _exchange(connection, head.encode(), body)


def pinning_client(tunnel: Tunnel, host: str, pin: bytes) -> bool:
    """Complete the handshake, compare the leaf's SHA-256 with ``pin``, leave.

    Returns whether the pin matched; on a mismatch nothing is sent.
    """
    settings = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    settings.check_hostname = False
    settings.verify_mode = ssl.CERT_NONE
    with settings.wrap_socket(tunnel.open(), server_hostname=host) as connection:
        leaf = connection.getpeercert(binary_form=True) or b""
        return hashlib.sha256(leaf).digest() == pin


def certificate_pin(certificate: Path) -> bytes:
    """SHA-256 of a PEM certificate's DER form, as pinning clients store it."""
    pem = certificate.read_bytes()
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.decode())).digest()


def _exchange(connection: ssl.SSLSocket, head: bytes, body: bytes = b"") -> bytes:
    """Send one request (closing after it), return the response body."""
    connection.sendall(head + b"Connection: close\r\n\r\n" + body)
    response = b""
    while chunk := connection.recv(65536):
        response += chunk
    return response.partition(b"\r\n\r\n")[2]
