"""The simulated toy: Bramble the Talking Bear talking to its cloud.

Run as ``ip netns exec <toy> python -m tests.lab.toy <config.json>`` by
:meth:`tests.lab.Lab.run_toy`. The configuration (written by the lab) holds the
persona, the DNS server, the lab CA and the server names. The toy plays the
demo's story with the habits of a badly made toy, one step after another:

1. ``hello``: plaintext HTTP GET to the API, the child's first name and the
   toy's serial in the query string;
2. ``profile``: HTTPS POST of the child's name and birthdate, from a client
   that checks no certificate (``CERT_NONE``), so an interception works;
3. ``voice``: a short WAV recording POSTed by the same careless client;
4. ``telemetry``: the serial and MAC sent to a third-party tracker, carelessly;
   ``wifi`` and ``analytics`` (setup): the home Wi-Fi's name and password, the
   home's coordinates and the child's name in base64 to the API, and an
   analytics event with the phone's advertising id and the SHA-256 of the
   parent's e-mail to an analytics SDK's collector (``app-measurement.com``,
   answered inside the lab like every other name);
5. ``stories``: HTTPS GET from a careful client that trusts only the lab's
   public CA. Behind an interception it refuses the certificate, waits a
   moment and tries again (at most three times), as real firmware does;
6. ``mqtt``: MQTT 3.1.1 CONNECT (client id = serial, user name and password),
   PUBLISH at QoS 1 of telemetry with the home coordinates, PINGREQ,
   DISCONNECT.

Each step resolves its host through the lab's DNS server first, with its own
small resolver. Every wait is bounded (per operation and overall), so a broken
lab makes steps fail, never hang. When the script is done the toy prints one
JSON summary on stdout and exits 0, whatever succeeded.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import secrets
import socket
import ssl
import sys
import time
import wave
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from tests.lab import dnswire, mqttwire
from toyaudit.synthmessages import dns_query

logger = logging.getLogger(__name__)

MAX_RESPONSE = 4 << 20
"""Bytes of an HTTP response the toy reads at most."""
DNS_TRIES = 2
REJECTED = "certificate-rejected"


def voice_clip() -> bytes:
    """A quarter second of 8 kHz, 16-bit mono PCM as WAV: a 400 Hz triangle."""
    frames = b"".join(
        ((abs(index % 20 * 4 - 40) - 20) * 400).to_bytes(2, "little", signed=True)
        for index in range(2000)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(frames)
    return buffer.getvalue()


def read_response(connection: socket.socket) -> tuple[int, bytes]:
    """The status and body of an HTTP/1.1 response (Content-Length or close)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk or len(received) > 65536:
            raise ConnectionError("the server closed before the end of the headers")
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = MAX_RESPONSE
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = min(int(value), MAX_RESPONSE)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, body


STEP_NAMES = (
    "hello",
    "wifi",
    "analytics",
    "profile",
    "voice",
    "telemetry",
    "stories",
    "mqtt",
)
"""The toy's script, in order; a config's ``steps`` picks some of them."""


class Toy:
    """One run of the toy's script; :meth:`run` returns the JSON summary."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.persona: dict[str, Any] = config["persona"]
        self.hosts: dict[str, str] = config["hosts"]
        self.deadline = time.monotonic() + float(config["deadline"])
        self.lookups: dict[str, str | None] = {}
        self.steps: list[dict[str, Any]] = []

    def timeout(self) -> float:
        """Seconds the next operation may take: the per-operation limit or less."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the toy's overall deadline passed")
        return min(float(self.config["timeout"]), remaining)

    def resolve(self, name: str) -> str:
        """The address of ``name`` from the lab's DNS server (UDP, two tries)."""
        server = (self.config["dns_server"], 53)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as resolver:
            resolver.connect(server)  # connected, so ICMP errors are reported
            for attempt in range(DNS_TRIES):
                ident = secrets.randbelow(65536)
                resolver.settimeout(self.timeout())
                resolver.send(dns_query(ident, name))
                try:
                    response = resolver.recv(4096)
                except TimeoutError:
                    if attempt + 1 == DNS_TRIES:
                        raise
                    continue
                code, addresses = dnswire.decode_answer(response, ident)
                self.lookups[name] = addresses[0] if addresses else None
                if not addresses:
                    raise LookupError(f"{name} did not resolve (rcode {code})")
                return addresses[0]
        raise LookupError(f"{name} did not resolve")

    def connect(
        self, host: str, port: int, context: ssl.SSLContext | None
    ) -> socket.socket:
        """A connection to ``host``, resolved by the lab DNS; TLS if ``context``."""
        address = self.resolve(host)
        connection = socket.create_connection((address, port), timeout=self.timeout())
        if context is None:
            return connection
        try:
            return context.wrap_socket(connection, server_hostname=host)
        except BaseException:
            connection.close()
            raise

    def http(
        self,
        context: ssl.SSLContext | None,
        method: str,
        url: tuple[str, str],
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> int:
        """Send one request to ``url`` (host, path) and return the status."""
        host, path = url
        port = 443 if context else 80
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host}",
            f"User-Agent: {self.config['agent']}",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        with self.connect(host, port, context) as connection:
            connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            status, _ = read_response(connection)
        return status

    def record(
        self,
        name: str,
        host: str,
        port: int,
        action: Callable[[], int],
        attempts: list[str] | None = None,
    ) -> None:
        """Run one step, and record its status, or the error that stopped it."""
        step: dict[str, Any] = {"name": name, "host": host, "port": port}
        try:
            step["status"] = action()
            step.update(ok=step["status"] < 300, error=None)
        except (OSError, ValueError, LookupError) as error:
            step.update(status=None, ok=False, error=f"{type(error).__name__}: {error}")
        step["attempts"] = attempts or []
        self.steps.append(step)

    def careful_get(self, url: tuple[str, str], attempts: list[str]) -> int:
        """GET ``url`` validating the server against the lab CA, retrying refusals."""
        careful = ssl.create_default_context(cafile=self.config["ca_path"])
        for _ in range(int(self.config["careful_attempts"])):
            try:
                status = self.http(
                    careful, "GET", url, headers={"Accept": "audio/mpeg"}
                )
            except ssl.SSLCertVerificationError:
                attempts.append(REJECTED)
                time.sleep(min(float(self.config["retry_delay"]), self.timeout()))
                continue
            except OSError:
                attempts.append("failed")
                raise
            attempts.append("answered")
            return status
        raise ConnectionError("the server's certificate was refused at every attempt")

    def mqtt(self, host: str) -> int:
        """Connect, publish the toy's position at QoS 1, ping, disconnect."""
        serial = self.persona["toy"]["serial"]
        latitude, longitude = self.persona["home"]["coordinates"]
        telemetry = {"lat": latitude, "lon": longitude, "battery": 87}
        topic = f"plushpal/devices/{serial}/telemetry"
        credentials = self.config["mqtt"]
        with self.connect(host, 1883, None) as connection:
            connect = mqttwire.connect_packet(
                serial, credentials["username"], credentials["password"]
            )
            connection.sendall(connect)
            code = _expect(connection, mqttwire.CONNACK)[1]
            if code != 0:
                raise ConnectionError(f"the broker refused the connection ({code})")
            payload = json.dumps(telemetry).encode()
            connection.sendall(mqttwire.publish_packet(topic, payload, 1))
            if _expect(connection, mqttwire.PUBACK) != b"\x00\x01":
                raise ValueError("PUBACK does not acknowledge packet 1")
            connection.sendall(mqttwire.encode(mqttwire.PINGREQ, 0))
            _expect(connection, mqttwire.PINGRESP)
            connection.sendall(mqttwire.encode(mqttwire.DISCONNECT, 0))
        return code

    def uploads(self) -> list[tuple[str, str, str, bytes, dict[str, str]]]:
        """The careless client's POSTs: step name, host, path, body and headers."""
        child, toy = self.persona["child"], self.persona["toy"]
        profile = {
            "child_name": child["name"],
            "birthdate": child["birthdate"],
            "device_mac": toy["mac"],
        }
        event = {"device_id": toy["serial"], "mac": toy["mac"], "event": "story"}
        home, wifi = self.persona["home"], self.persona["wifi"]
        setup = {
            "ssid": wifi["ssid"],
            "password": wifi["password"],
            "location": dict(zip(("lat", "lon"), home["coordinates"], strict=True)),
            "child_name_b64": base64.b64encode(child["name"].encode()).decode(),
            "serial": toy["serial"],
        }
        email = self.persona["parent"]["email"].strip().lower().encode()
        analytics = {
            "adid": self.persona["phone"]["advertising_id"],
            "user_properties": {"hashed_email": hashlib.sha256(email).hexdigest()},
            "event": "child_profile_created",
            "app_version": "3.2.0",
        }
        json_type = {"Content-Type": "application/json"}
        wav = {"Content-Type": "audio/wav", "X-Device-Id": toy["serial"]}
        return [
            ("wifi", self.hosts["api"], "/v1/setup/wifi", _json(setup), json_type),
            ("analytics", self.hosts["analytics"], "/a", _json(analytics), json_type),
            ("profile", self.hosts["api"], "/v1/profile", _json(profile), json_type),
            ("voice", self.hosts["voice"], "/v2/voice", voice_clip(), wav),
            (
                "telemetry",
                self.hosts["tracker"],
                "/v1/collect",
                _json(event),
                json_type,
            ),
        ]

    def run(self) -> dict[str, Any]:
        """Play the script (or the steps the config names) and return the summary."""
        careless = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        careless.check_hostname = False
        careless.verify_mode = ssl.CERT_NONE  # the classic toy bug being simulated
        api, media, broker = self.hosts["api"], self.hosts["media"], self.hosts["mqtt"]
        wanted = set(self.config.get("steps") or STEP_NAMES)
        first_name = self.persona["child"]["first_name"]
        serial = self.persona["toy"]["serial"]
        hello = (
            f"/v1/hello?child={first_name}&serial={serial}&fw={self.config['firmware']}"
        )
        if "hello" in wanted:
            self.record("hello", api, 80, partial(self.http, None, "GET", (api, hello)))
        for name, host, path, body, headers in self.uploads():
            if name in wanted:
                post = partial(self.http, careless, "POST", (host, path), body, headers)
                self.record(name, host, 443, post)
        if "stories" in wanted:
            attempts: list[str] = []
            stories = partial(
                self.careful_get, (media, "/v1/stories?lang=en"), attempts
            )
            self.record("stories", media, 443, stories, attempts)
        if "mqtt" in wanted:
            self.record("mqtt", broker, 1883, partial(self.mqtt, broker))
        return {"lookups": self.lookups, "steps": self.steps}


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _expect(connection: socket.socket, kind: int) -> bytes:
    """The body of the next MQTT packet, which must be of type ``kind``."""
    packet = mqttwire.read_packet(connection)
    if packet is None or packet.kind != kind:
        raise ConnectionError(f"expected MQTT packet type {kind}, got {packet}")
    return packet.body


def main(arguments: list[str]) -> int:
    """Play the script configured by the JSON file ``arguments[0]``."""
    config = json.loads(Path(arguments[0]).read_text(encoding="utf-8"))
    summary = Toy(config).run()
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
