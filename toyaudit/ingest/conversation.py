"""Turn what the protocol readers of one TCP connection deliver into observations.

Every reader of a connection (HTTP, TLS, DNS, MQTT, WebSocket, raw payload)
reports to the connection's :class:`Conversation`, which knows the two
endpoints and the capture file, pairs HTTP requests with their responses,
computes the JA4 fingerprint of a ClientHello, and appends finished
observations to the reassembler's ``ready`` list. It also handles the
protocol changes inside a connection that toyaudit follows: an HTTP upgrade
to WebSocket, and a CONNECT tunnel through a proxy, read on as whatever it
carries (usually TLS to the host it names).

Each observation's evidence names the frames that carried it and is timed by
the capture time of the frame that carried its first byte; a request paired
with its response keeps the request's time.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from toyaudit.ingest import http
from toyaudit.ingest.ja4 import ja4_fingerprint
from toyaudit.ingest.mqtt import MqttPacket
from toyaudit.ingest.records import (
    DnsQuery,
    Endpoint,
    Evidence,
    HttpRequest,
    HttpResponse,
    MqttMessage,
    Observation,
    PayloadKind,
    RawPayload,
    TlsClientHello,
    TlsServerHello,
    WebSocketMessage,
)
from toyaudit.ingest.streambuf import Headers
from toyaudit.ingest.tls import ClientHello, ServerHello
from toyaudit.ingest.tlsstream import TlsRecordConsumer
from toyaudit.ingest.websocket import negotiated_deflate

if TYPE_CHECKING:
    from toyaudit.ingest.tcp import Connection

logger = logging.getLogger(__name__)

MAX_WAITING = 32
"""Requests (or responses) held per connection waiting for their other half."""

TlsConsumerFactory = Callable[
    [Endpoint, Endpoint, Callable[[Observation], None]], TlsRecordConsumer | None
]
"""Makes the TLS record consumer of a connection: given (client, server,
emit), it returns a consumer, or None to leave that connection alone. See
:class:`~toyaudit.ingest.tlsstream.TlsRecordConsumer`."""


def _frames(frames: list[int]) -> tuple[int, ...]:
    return tuple(sorted(set(frames)))


class Conversation:
    """The observations of one TCP connection, built as its readers report."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.name = connection.reassembler.name
        self.ready = connection.reassembler.ready
        self.requests: deque[HttpRequest] = deque()
        self.responses: deque[tuple[HttpResponse, list[int]]] = deque()
        self.websocket: tuple[str, str] | None = None
        """(host, path) of the upgrade request, once upgraded to WebSocket."""
        self.consumer: TlsRecordConsumer | None = None
        self.consumer_asked = False

    def close(self) -> None:
        """Deliver every request still waiting for a response."""
        while self.requests:
            self.ready.append(self.requests.popleft())
        if self.responses:
            logger.debug("%d responses without a request dropped", len(self.responses))
            self.responses.clear()

    def _evidence(self, frames: list[int]) -> Evidence:
        time = self.connection.sent_at(frames)
        return Evidence(self.name, _frames(frames), time=time)

    def add_request(
        self,
        head: tuple[str, str, Headers],
        body: bytes,
        frames: list[int],
        truncated: bool,
    ) -> None:
        """Hold a request until its response arrives (or pair it at once)."""
        method, target, headers = head
        client, server = self.connection.endpoints()
        authority, path, query = http.split_target(target)
        host_header = http.header_value(headers, "host") or authority or ""
        request = HttpRequest(
            evidence=self._evidence(frames),
            client=client,
            server=server,
            transport=self.connection.reassembler.transport,
            method=method,
            host=http.host_without_port(host_header) or server.ip,
            path=path,
            query=query,
            headers=headers,
            body=body,
            truncated=truncated,
        )
        if self.responses:
            response, response_frames = self.responses.popleft()
            self._pair(request, response, response_frames)
            return
        self.requests.append(request)
        if len(self.requests) > MAX_WAITING:
            self.ready.append(self.requests.popleft())

    def add_response(
        self, head: tuple[int, Headers], body: bytes, frames: list[int]
    ) -> None:
        """Attach a response to the oldest request still waiting for one."""
        response = HttpResponse(status=head[0], headers=head[1], body=body)
        if not self.requests:
            self.responses.append((response, list(frames)))
            if len(self.responses) > MAX_WAITING:
                self.responses.popleft()
            return
        request = self.requests.popleft()
        self._pair(request, response, frames)
        if request.method.upper() == "CONNECT":
            if 200 <= response.status < 300:
                self.connection.open_tunnel()
            else:
                self.connection.resume_requests()
            return
        if http.header_value(request.headers, "upgrade") is None:
            return
        upgrade = http.header_value(request.headers, "upgrade") or ""
        if response.status == 101 and upgrade.strip().lower() == "websocket":
            self.websocket = (request.host, request.path)
            deflate = negotiated_deflate(
                http.header_value(response.headers, "sec-websocket-extensions")
            )
            self.connection.upgrade_to_websocket(deflate)
        elif response.status != 101:
            self.connection.resume_requests()

    def response_method(self) -> str | None:
        """Method of the oldest request still waiting for its response."""
        return self.requests[0].method if self.requests else None

    def _pair(
        self, request: HttpRequest, response: HttpResponse, frames: list[int]
    ) -> None:
        """Deliver a request with its response; evidence covers both."""
        packets = _frames([*request.evidence.packets, *frames])
        evidence = Evidence(request.evidence.file, packets, time=request.evidence.time)
        self.ready.append(replace(request, response=response, evidence=evidence))

    def add_client_hello(self, hello: ClientHello, frames: list[int]) -> None:
        """Deliver a TLS ClientHello observation, with its JA4 fingerprint."""
        client, server = self.connection.endpoints()
        self.ready.append(
            TlsClientHello(
                evidence=self._evidence(frames),
                client=client,
                server=server,
                sni=hello.sni,
                legacy_version=hello.legacy_version,
                supported_versions=hello.supported_versions,
                cipher_suites=hello.cipher_suites,
                alpn=hello.alpn,
                ja4=ja4_fingerprint(hello),
            )
        )

    def add_server_hello(
        self, hello: ServerHello, certificates: tuple[bytes, ...], frames: list[int]
    ) -> None:
        """Deliver a TLS ServerHello observation."""
        client, server = self.connection.endpoints()
        self.ready.append(
            TlsServerHello(
                evidence=self._evidence(frames),
                client=client,
                server=server,
                version=hello.version,
                cipher_suite=hello.cipher_suite,
                alpn=hello.alpn,
                certificates=certificates,
            )
        )

    def tls_consumer(self) -> TlsRecordConsumer | None:
        """The TLS record consumer of this connection, made on first use."""
        factory = self.connection.reassembler.tls_consumer_factory
        if not self.consumer_asked and factory is not None:
            self.consumer_asked = True
            client, server = self.connection.endpoints()
            self.consumer = factory(client, server, self.ready.append)
        return self.consumer

    def add_dns_queries(
        self, questions: list[tuple[str, int]], frames: list[int]
    ) -> None:
        """Deliver the questions of one DNS query sent over TCP."""
        client, server = self.connection.endpoints()
        evidence = self._evidence(frames)
        for name, qtype in questions:
            self.ready.append(DnsQuery(evidence, client, server, name, qtype))

    def add_mqtt(self, packet: MqttPacket, frames: list[int]) -> None:
        """Deliver an MQTT CONNECT or PUBLISH sent by the client."""
        client, server = self.connection.endpoints()
        self.ready.append(
            MqttMessage(
                evidence=self._evidence(frames),
                client=client,
                server=server,
                transport=self.connection.reassembler.transport,
                packet_type=packet.packet_type,
                protocol_level=packet.protocol_level,
                client_id=packet.client_id,
                username=packet.username,
                password=packet.password,
                topic=packet.topic,
                payload=packet.payload,
            )
        )

    def add_websocket(
        self, from_client: bool, text: bool, payload: bytes, frames: list[int]
    ) -> None:
        """Deliver one WebSocket message."""
        client, server = self.connection.endpoints()
        host, path = self.websocket or (server.ip, "/")
        self.ready.append(
            WebSocketMessage(
                evidence=self._evidence(frames),
                client=client,
                server=server,
                transport=self.connection.reassembler.transport,
                host=host,
                path=path,
                from_client=from_client,
                text=text,
                payload=payload,
            )
        )

    def add_raw(
        self,
        side: int,
        sample: bytes,
        size: int,
        frames: list[int],
        verdict: tuple[PayloadKind, str | None],
    ) -> None:
        """Deliver one stream direction of no recognised protocol."""
        client, server = self.connection.endpoints()
        kind, media_type = verdict
        self.ready.append(
            RawPayload(
                evidence=self._evidence(frames),
                client=client,
                server=server,
                protocol="tcp",
                from_client=side == self.connection.client_side,
                kind=kind,
                size=size,
                payload=sample if kind == PayloadKind.PLAINTEXT else b"",
                media_type=media_type,
                transport=self.connection.reassembler.transport,
            )
        )
