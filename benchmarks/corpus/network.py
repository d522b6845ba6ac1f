"""A toy's captured network, message by message, with the frames of each known.

:class:`PacketCapture` gathers frames built with :mod:`toyaudit.synth` and
tags the frames of every labelled message with a message id. On writing, the
frames are put in time order (ties kept in the order they were made) and
each message id is resolved to its 1-based frame numbers: the numbers the
audit's evidence references carry, which is how the benchmark ties a
classifier match to the labels of the same message.

:class:`Network` adds the pieces a toy session needs: DNS look-ups, TLS
handshakes that show a server name, plaintext HTTP exchanges on kept-alive
connections, MQTT sessions and WebSocket connections (RFC 6455 framing:
client frames masked, server frames not).
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from benchmarks import protocols
from toyaudit import synth, synthmessages

_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B65"  # RFC 6455 section 1.3
_TEXT_FRAME, _BINARY_FRAME = 0x1, 0x2
_FIN = 0x80


@dataclass(slots=True)
class PacketCapture:
    """Frames of one pcap file, each tagged with the message it carries, if any."""

    frames: list[tuple[float, int, bytes, str | None]] = field(default_factory=list)
    """(timestamp, order of creation, frame, message id)."""

    def add(self, frames: Sequence[synth.TimedFrame], message: str | None) -> None:
        """Append frames; ``message`` tags them for the labels."""
        for timed in frames:
            entry = (timed.timestamp, len(self.frames), timed.frame, message)
            self.frames.append(entry)

    def write(self) -> tuple[bytes, dict[str, tuple[int, ...]]]:
        """The pcap bytes and, per message id, the frame numbers carrying it."""
        ordered = sorted(self.frames, key=lambda entry: (entry[0], entry[1]))
        stream = io.BytesIO()
        writer = synth.PcapWriter(stream)
        numbers: dict[str, list[int]] = {}
        for number, (timestamp, _, frame, message) in enumerate(ordered, start=1):
            writer.write(timestamp, frame)
            if message is not None:
                numbers.setdefault(message, []).append(number)
        return stream.getvalue(), {key: tuple(value) for key, value in numbers.items()}


class Connection:
    """One TCP connection of a toy; every send may be tagged with a message id."""

    def __init__(
        self,
        capture: PacketCapture,
        client: tuple[synth.Host, int],
        server: tuple[synth.Host, int],
        start: float,
        isn: tuple[int, int],
    ) -> None:
        self._capture = capture
        self._tcp = synth.TcpConversation(client, server, start, isn=isn)
        capture.add(self._tcp.open(), None)

    @property
    def clock(self) -> float:
        """When the next frame is sent, in seconds since the epoch."""
        return self._tcp.clock

    def send(
        self,
        payload: bytes,
        message: str | None = None,
        *,
        from_client: bool = True,
        delay: float = 0.02,
    ) -> None:
        """Send ``payload`` after ``delay`` seconds; the peer acknowledges it."""
        self._tcp.wait(delay)
        frames = self._tcp.send(from_client, payload)
        self._capture.add(frames[:-1], message)
        self._capture.add(frames[-1:], None)

    def close(self) -> None:
        """Close the connection from the client side."""
        self._capture.add(self._tcp.close(), None)


@dataclass(frozen=True, slots=True)
class HttpMessage:
    """An HTTP/1.1 request to send, and the response the server gives."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""
    status: int = 200
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: bytes = b""


class Network:
    """The home network of one toy: the toy, the parent's phone, the servers.

    Servers sit behind the gateway at RFC 5737 addresses; names resolve through
    the gateway's DNS. Times advance by :meth:`later`, so conversations do not
    overlap and each message's frames stay together.
    """

    def __init__(
        self,
        capture: PacketCapture,
        rng: random.Random,
        start: float,
        toy: synth.Host,
        servers: Mapping[str, str],
    ) -> None:
        self.capture = capture
        self._rng = rng
        self._clock = start
        self.toy = toy
        self.phone = synth.Host("02:5c:11:a0:7e:42", "192.168.4.31")
        self.gateway = synth.Host("02:00:5e:c0:04:01", "192.168.4.1")
        self._servers = dict(servers)
        self._next_port = 49700
        self._next_dns = 0x4A00

    def later(self, seconds: float = 1.5) -> float:
        """Advance the clock and return the new time."""
        self._clock += seconds
        return self._clock

    def server(self, name: str) -> synth.Host:
        """A server as seen on the LAN: its address behind the gateway's MAC."""
        return synth.Host(self.gateway.mac, self._servers[name])

    def connect(
        self, name: str, port: int, client: synth.Host | None = None
    ) -> Connection:
        """Open a TCP connection from the toy (or ``client``) to a named server."""
        self._next_port += 1
        isn = (self._rng.getrandbits(32), self._rng.getrandbits(32))
        return Connection(
            self.capture,
            (client or self.toy, self._next_port),
            (self.server(name), port),
            self.later(),
            isn,
        )

    def lookup(
        self, name: str, message: str | None = None, client: synth.Host | None = None
    ) -> None:
        """A DNS query for ``name`` and its answer (the server's address or a stub)."""
        self._next_dns += 1
        sender = client or self.toy
        when = self.later(0.2)
        port = 53000 + self._next_dns % 1000
        query = synthmessages.dns_query(self._next_dns, name)
        address = self._servers.get(name, "203.0.113.250")
        answer = synthmessages.dns_response(self._next_dns, name, [address])
        frame = synth.udp_frame(sender, self.gateway, (port, 53), query)
        reply = synth.udp_frame(self.gateway, sender, (53, port), answer)
        self.capture.add([synth.TimedFrame(when, frame)], message)
        self.capture.add([synth.TimedFrame(when + 0.01, reply)], None)

    def tls_hello(self, name: str, sni: str, message: str | None) -> None:
        """A TLS connection to ``name`` whose ClientHello names ``sni``."""
        connection = self.connect(name, 443)
        seed = self._rng.getrandbits(16)
        hello = synthmessages.tls_client_hello(sni, seed=seed)
        connection.send(hello, message, delay=0.0)
        flight = synthmessages.tls_server_hello(hello, seed=seed + 1)
        connection.send(flight, from_client=False, delay=0.03)
        request = synthmessages.tls_application_data(400, seed=seed + 2)
        connection.send(request, delay=0.0)
        connection.close()

    def http(
        self,
        name: str,
        messages: Sequence[tuple[HttpMessage, str]],
        client: synth.Host | None = None,
        port: int = 80,
    ) -> None:
        """Requests on one kept-alive connection; each tagged with its message id."""
        connection = self.connect(name, port, client)
        for request, message in messages:
            connection.send(
                synthmessages.http_request(
                    request.method, name, request.path, request.headers, request.body
                ),
                message,
            )
            response = synthmessages.http_response(
                request.status, request.response_headers, request.response_body
            )
            connection.send(response, message, from_client=False, delay=0.08)
        connection.close()

    def mqtt(
        self,
        name: str,
        connect: tuple[tuple[str, str, str], str],
        publishes: Sequence[tuple[str, bytes, str, bool]],
    ) -> None:
        """An MQTT 3.1.1 session: CONNECT, then PUBLISHes in either direction.

        ``connect`` is ((client id, username, password), message id);
        each publish is (topic, payload, message id, sent by the toy?).
        """
        connection = self.connect(name, 1883)
        (client_id, username, password), message = connect
        connection.send(protocols.mqtt_connect(client_id, username, password), message)
        connection.send(protocols.mqtt_connack(), from_client=False)
        for topic, payload, tag, from_toy in publishes:
            packet = protocols.mqtt_publish(topic, payload)
            connection.send(packet, tag, from_client=from_toy, delay=0.3)
        connection.send(protocols.mqtt_disconnect())
        connection.close()

    def websocket(
        self,
        name: str,
        upgrade: tuple[str, Mapping[str, str], str],
        messages: Sequence[tuple[bytes, bool, str, bool]],
    ) -> None:
        """A WebSocket connection: the upgrade, then messages in both directions.

        ``upgrade`` is (path with query, extra headers, message id); each
        message is (payload, text?, message id, sent by the toy?).
        """
        connection = self.connect(name, 80)
        key = base64.b64encode(self._rng.randbytes(16)).decode("ascii")
        path, extra, tag = upgrade
        headers = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
            **extra,
        }
        connection.send(synthmessages.http_request("GET", name, path, headers), tag)
        accept = hashlib.sha1((key + _WEBSOCKET_GUID).encode(), usedforsecurity=False)
        answer = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Accept": base64.b64encode(accept.digest()).decode(),
        }
        connection.send(synthmessages.http_response(101, answer), from_client=False)
        for payload, text, message, from_toy in messages:
            mask = self._rng.randbytes(4) if from_toy else None
            frame = websocket_frame(payload, text, mask)
            connection.send(frame, message, from_client=from_toy, delay=0.2)
        connection.close()


def websocket_frame(payload: bytes, text: bool, mask: bytes | None) -> bytes:
    """One unfragmented WebSocket frame (RFC 6455 section 5.2)."""
    opcode = _TEXT_FRAME if text else _BINARY_FRAME
    head = bytes([_FIN | opcode])
    mask_bit = 0x80 if mask is not None else 0
    if len(payload) < 126:
        head += bytes([mask_bit | len(payload)])
    elif len(payload) < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", len(payload))
    if mask is None:
        return head + payload
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return head + mask + masked
