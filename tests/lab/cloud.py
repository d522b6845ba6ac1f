"""The toy's cloud: DNS, HTTP, HTTPS and MQTT servers in the cloud namespace.

Run as ``ip netns exec <cloud> python -m tests.lab.cloud <config.json>`` by
:class:`tests.lab.Lab`. The configuration names the log folder, the DNS
answers and one certificate per server name. Every service listens on all of
the namespace's addresses and appends what it received to a JSON Lines log in
the folder (``dns.jsonl``, ``http.jsonl``, ``https.jsonl``, ``mqtt.jsonl``),
flushed line by line so the logs are complete even if the process is killed.
Once every socket is bound, the process writes ``cloud.ready``; it runs until
SIGTERM.

The HTTPS server picks the certificate by SNI, like a real multi-tenant front
end, and logs the name the client asked for beside each request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import socket
import socketserver
import ssl
import sys
import threading
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from tests.lab import dnswire, mqttwire

logger = logging.getLogger(__name__)

EVERYWHERE = "0.0.0.0"  # noqa: S104 - the cloud namespace holds only lab addresses
CONNECTION_TIMEOUT = 5.0
"""Seconds a client may stay silent before a server drops it."""
MAX_BODY = 4 << 20
JSON_TYPE = "application/json"
TRANSCRIPT = {
    "transcript": "Hi Bramble, it's Mirabel. Can you tell me a story about a hedgehog?",
    "intent": "tell_story",
    "confidence": 0.93,
}
STORY_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413
"""One silent MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz)."""
ROUTES: dict[tuple[str, str], tuple[int, str, bytes]] = {
    ("GET", "/v1/hello"): (200, JSON_TYPE, b'{"status":"ok"}'),
    ("POST", "/v1/profile"): (201, JSON_TYPE, b'{"id":"p-5521"}'),
    ("POST", "/v2/voice"): (200, JSON_TYPE, json.dumps(TRANSCRIPT).encode()),
    ("GET", "/v1/stories"): (200, "audio/mpeg", STORY_FRAME * 8),
    ("POST", "/v1/collect"): (204, JSON_TYPE, b""),
    ("POST", "/v1/setup/wifi"): (200, JSON_TYPE, b'{"joined":true}'),
    ("POST", "/a"): (204, JSON_TYPE, b""),
}
"""What the cloud answers, by method and path (the query is ignored)."""


class JsonlLog:
    """An append-only JSON Lines file shared by a service's threads."""

    def __init__(self, path: Path) -> None:
        self._stream = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, **record: Any) -> None:
        """Append one record and flush it."""
        line = json.dumps(record, sort_keys=True)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def _body_fields(body: bytes) -> dict[str, Any]:
    """How a log describes a body: its text if it is UTF-8, its size and hash."""
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {
        "body_text": text,
        "body_size": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }


class LabHttpServer(ThreadingHTTPServer):
    """An HTTP server that logs every request; given credentials, HTTPS."""

    daemon_threads = True

    def __init__(
        self, port: int, log: JsonlLog, credentials: dict[str, list[str]] | None
    ) -> None:
        super().__init__((EVERYWHERE, port), LabHttpHandler)
        self.log = log
        self.sni: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self.context = self._tls_context(credentials) if credentials else None

    def _tls_context(self, credentials: dict[str, list[str]]) -> ssl.SSLContext:
        """A server context that picks each name's certificate by SNI."""
        contexts = {}
        for host, (certificate, key) in credentials.items():
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificate, key)
            contexts[host] = context

        def choose(connection: Any, name: str | None, _: ssl.SSLContext) -> None:
            if name:
                self.sni[connection] = name
            if name in contexts:
                connection.context = contexts[name]

        default = next(iter(contexts.values()))
        default.sni_callback = choose
        return default

    def get_request(self) -> tuple[Any, Any]:
        """Accept a connection; for HTTPS the handshake waits for its thread."""
        connection, address = super().get_request()
        if self.context is None:
            return connection, address
        wrapped = self.context.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a broken connection instead of printing a traceback."""
        error = repr(sys.exc_info()[1])
        self.log.write(event="error", client=client_address[0], error=error)


class LabHttpHandler(BaseHTTPRequestHandler):
    """Answers from :data:`ROUTES` and logs each request with its body."""

    server: LabHttpServer
    protocol_version = "HTTP/1.1"
    timeout = CONNECTION_TIMEOUT

    def handle(self) -> None:
        """Finish the TLS handshake (HTTPS only), then serve requests."""
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError) as error:
                self.server.log.write(
                    event="handshake-failed",
                    client=self.client_address[0],
                    error=str(error),
                )
                return
        super().handle()

    def do_GET(self) -> None:
        """Serve a GET."""
        self._exchange()

    def do_POST(self) -> None:
        """Serve a POST."""
        self._exchange()

    def _exchange(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length) if length else b""
        self.server.log.write(
            event="request",
            client=self.client_address[0],
            server=self.request.getsockname()[0],
            sni=self.server.sni.get(self.request),
            method=self.command,
            host=self.headers.get("Host"),
            path=self.path,
            headers=dict(self.headers.items()),
            **_body_fields(body),
        )
        route = (self.command, self.path.split("?")[0])
        status, content_type, content = ROUTES.get(route, (404, JSON_TYPE, b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(content)
        self.close_connection = True

    def log_message(self, format: str, *arguments: Any) -> None:
        """Keep http.server's access log off stderr; the JSONL log has it all."""
        logger.debug(format, *arguments)


class DnsServer:
    """A UDP DNS server answering the lab's names with their cloud addresses."""

    def __init__(self, port: int, log: JsonlLog, answers: dict[str, str]) -> None:
        self.log = log
        self.answers = {name.lower(): address for name, address in answers.items()}
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind((EVERYWHERE, port))
        self.socket.settimeout(0.2)
        self.stopping = threading.Event()

    def serve_forever(self) -> None:
        """Answer queries until :meth:`shutdown`."""
        while not self.stopping.is_set():
            try:
                query, client = self.socket.recvfrom(4096)
            except TimeoutError:
                continue
            try:
                question = dnswire.decode_question(query)
            except (ValueError, IndexError, UnicodeDecodeError) as error:
                self.log.write(event="malformed", client=client[0], error=str(error))
                continue
            address = self.answers.get(question.name)
            self.log.write(
                event="query",
                client=client[0],
                name=question.name,
                type=question.record_type,
                answer=address,
            )
            self.socket.sendto(dnswire.encode_answer(query, question, address), client)

    def shutdown(self) -> None:
        """Stop the loop (within 0.2 s) and close the socket."""
        self.stopping.set()


class MqttBroker(socketserver.ThreadingTCPServer):
    """A broker that acknowledges CONNECT, PUBLISH and PINGREQ and logs them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, log: JsonlLog) -> None:
        super().__init__((EVERYWHERE, port), MqttHandler)
        self.log = log


class MqttHandler(socketserver.BaseRequestHandler):
    """One MQTT client's session."""

    server: MqttBroker

    def handle(self) -> None:
        """Read packets until DISCONNECT, a close, an error or the timeout."""
        self.request.settimeout(CONNECTION_TIMEOUT)
        client = self.client_address[0]
        while True:
            try:
                packet = mqttwire.read_packet(self.request)
                if packet is None or not self._answer(packet, client):
                    return
            except (OSError, ValueError, IndexError) as error:
                self.server.log.write(event="error", client=client, error=str(error))
                return

    def _answer(self, packet: mqttwire.MqttPacket, client: str) -> bool:
        """Log and acknowledge ``packet``; False ends the session."""
        if packet.kind == mqttwire.CONNECT:
            connect = mqttwire.parse_connect(packet.body)
            self.server.log.write(event="connect", client=client, **_fields(connect))
            self.request.sendall(mqttwire.encode(mqttwire.CONNACK, 0, b"\x00\x00"))
        elif packet.kind == mqttwire.PUBLISH:
            self._publish(packet, client)
        elif packet.kind == mqttwire.PINGREQ:
            self.server.log.write(event="ping", client=client)
            self.request.sendall(mqttwire.encode(mqttwire.PINGRESP, 0))
        else:
            ending = packet.kind == mqttwire.DISCONNECT
            event = "disconnect" if ending else "unsupported"
            self.server.log.write(event=event, client=client, kind=packet.kind)
            return False
        return True

    def _publish(self, packet: mqttwire.MqttPacket, client: str) -> None:
        """Log a PUBLISH; acknowledge it if it was sent at QoS 1 (§3.4)."""
        topic, packet_id, payload = mqttwire.parse_publish(packet.flags, packet.body)
        qos = (packet.flags >> 1) & 0x03
        fields = _body_fields(payload)
        self.server.log.write(
            event="publish", client=client, topic=topic, qos=qos, **fields
        )
        if packet_id is not None:
            acknowledgement = packet_id.to_bytes(2, "big")
            self.request.sendall(mqttwire.encode(mqttwire.PUBACK, 0, acknowledgement))


def _fields(connect: mqttwire.MqttConnect) -> dict[str, Any]:
    return {
        "protocol": connect.protocol,
        "level": connect.level,
        "keepalive": connect.keepalive,
        "client_id": connect.client_id,
        "username": connect.username,
        "password": connect.password,
    }


def _start(folder: Path, config: dict[str, Any]) -> list[Any]:
    """Bind every service (so a port conflict fails here) and start its thread."""
    ports = config["ports"]
    services: list[Any] = [
        DnsServer(ports["dns"], JsonlLog(folder / "dns.jsonl"), config["answers"]),
        LabHttpServer(ports["http"], JsonlLog(folder / "http.jsonl"), None),
        LabHttpServer(
            ports["https"], JsonlLog(folder / "https.jsonl"), config["credentials"]
        ),
        MqttBroker(ports["mqtt"], JsonlLog(folder / "mqtt.jsonl")),
    ]
    for service in services:
        if isinstance(service, socketserver.BaseServer):
            thread = threading.Thread(
                target=service.serve_forever, args=(0.1,), daemon=True
            )
        else:
            thread = threading.Thread(target=service.serve_forever, daemon=True)
        thread.start()
    return services


def main(arguments: list[str]) -> int:
    """Run the cloud described by the JSON file ``arguments[0]`` until SIGTERM."""
    config = json.loads(Path(arguments[0]).read_text(encoding="utf-8"))
    folder = Path(config["folder"])
    stopping = threading.Event()

    def stop(signal_number: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    services = _start(folder, config)
    ready = folder / "cloud.ready.part"
    ready.write_text("ready\n", encoding="ascii")
    ready.rename(folder / "cloud.ready")
    stopping.wait()
    for service in services:
        service.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
