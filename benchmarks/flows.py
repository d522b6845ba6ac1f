"""The conversations of the benchmark capture, each a lazy stream of frames.

A home network holds the primary toy and the parent's phone (both carrying
the session's persona), a sibling's toy and a tablet (another family
profile), a TV that answers discovery, and the gateway behind which every
server sits. Each builder here plans one conversation up front (who talks to
whom, how many bytes) so its size is known before any frame is built, then
yields its frames in time order when asked. :mod:`benchmarks.generate` merges
many of them by timestamp.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from benchmarks import content, protocols
from toyaudit import synth, synthmessages
from toyaudit.synth import TcpConversation, TimedFrame

_FRAME_OVERHEAD = 16 + 54
"""pcap record header plus Ethernet, IPv4 and TCP headers, per frame."""
_TLS_HOSTS = (
    (f"api.{content.VENDOR_DOMAIN}", 20),
    (f"voice.{content.VENDOR_DOMAIN}", 10),
    (f"cdn.{content.VENDOR_DOMAIN}", 8),
    (f"accounts.{content.VENDOR_DOMAIN}", 4),
    ("app-measurement.com", 10),
    ("firebase-settings.crashlytics.com", 4),
    ("graph.facebook.com", 4),
    ("app.adjust.com", 4),
    ("o4504.ingest.sentry.io", 3),
    ("fcm.googleapis.com", 6),
    ("googleads.g.doubleclick.net", 4),
    ("api.mixpanel.com", 5),
)
_LARGE_TLS_HOSTS = frozenset({f"cdn.{content.VENDOR_DOMAIN}"})
_SSDP = synth.Host("01:00:5e:7f:ff:fa", "239.255.255.250")
_MDNS = synth.Host("01:00:5e:00:00:fb", "224.0.0.251")
_SERVER_NETWORKS = ("203.0.113", "198.51.100", "192.0.2")
"""RFC 5737 documentation networks, so no real server is named by address."""


@dataclass(slots=True)
class Flow:
    """One planned conversation (or DNS lookup) and the frames it will produce."""

    kind: str
    """Traffic class it counts toward: tls, http, voice, mqtt, dns, ssdp, ..."""
    planned: int
    """Estimated bytes in the pcap, record headers included."""
    frames: Iterator[TimedFrame]
    connections: int = 0
    """TCP connections it opens."""
    readable: int = 0
    """Bytes of readable messages: HTTP heads, JSON bodies, MQTT packets."""


@dataclass(frozen=True, slots=True)
class Device:
    """A machine on the home network and the family profile it carries."""

    host: synth.Host
    profile: content.Profile
    weight: int
    """How often it starts a conversation, relative to the other devices."""


@dataclass(slots=True)
class Network:
    """The home network: devices, gateway, servers, ports and a DNS cache."""

    primary: content.Profile
    devices: tuple[Device, ...]
    tv: synth.Host
    gateway: synth.Host
    _next_port: dict[str, int] = field(default_factory=dict)
    _resolved: dict[tuple[str, str], float] = field(default_factory=dict)

    @classmethod
    def build(cls, rng: random.Random) -> Network:
        """Invent the two families and address every device."""
        primary, sibling = content.make_profile(rng), content.make_profile(rng)
        gateway = synth.Host("02:00:5e:10:00:01", "192.168.50.1")
        devices = (
            Device(synth.Host(primary.mac, "192.168.50.23"), primary, 45),
            Device(synth.Host("02:5c:11:a0:7e:42", "192.168.50.31"), primary, 30),
            Device(synth.Host(sibling.mac, "192.168.50.24"), sibling, 15),
            Device(synth.Host("02:5c:11:b3:19:07", "192.168.50.40"), sibling, 10),
        )
        tv = synth.Host("02:7a:00:4c:21:9e", "192.168.50.60")
        return cls(primary, devices, tv, gateway)

    def pick(self, rng: random.Random) -> Device:
        """A device chosen in proportion to its weight."""
        weights = [device.weight for device in self.devices]
        return rng.choices(self.devices, weights)[0]

    def server(self, name: str) -> synth.Host:
        """The server for ``name``: a stable address, reached via the gateway."""
        digest = hashlib.sha256(name.encode()).digest()
        network = _SERVER_NETWORKS[digest[0] % len(_SERVER_NETWORKS)]
        return synth.Host(self.gateway.mac, f"{network}.{1 + digest[1] % 254}")

    def port(self, host: synth.Host) -> int:
        """The next ephemeral port of ``host`` (49152-65535, RFC 6335)."""
        port = self._next_port.get(host.ip, 49152 + sum(host.packed_ip) * 37 % 8000)
        self._next_port[host.ip] = 49152 + (port - 49152 + 1) % 16384
        return port

    def lookup(self, device: Device, name: str, at: float) -> list[Flow]:
        """A DNS query and answer just before ``at``, unless the answer is cached."""
        if self._resolved.get((device.host.ip, name), 0.0) > at:
            return []
        self._resolved[(device.host.ip, name)] = at + 300.0
        ident = sum(name.encode()) * 257 % 65536
        ports = (self.port(device.host), 53)
        query = synthmessages.dns_query(ident, name)
        answer = synthmessages.dns_response(ident, name, [self.server(name).ip])
        frames = [
            TimedFrame(
                at - 0.030, synth.udp_frame(device.host, self.gateway, ports, query)
            ),
            TimedFrame(
                at - 0.012,
                synth.udp_frame(self.gateway, device.host, ports[::-1], answer),
            ),
        ]
        return [Flow("dns", len(query) + len(answer) + 2 * (16 + 42), iter(frames))]


def _send(
    conversation: TcpConversation, from_client: bool, payload: bytes
) -> Iterator[TimedFrame]:
    """Send ``payload`` two segments at a time, so the peer ACKs every second one."""
    span = 2 * conversation.mss
    for offset in range(0, len(payload), span):
        yield from conversation.send(from_client, payload[offset : offset + span])


def _tcp_wire(payload: int, messages: int) -> int:
    """Estimated pcap bytes of a connection carrying ``payload`` bytes."""
    segments = payload // 1460 + messages
    acks = payload // 2920 + messages
    return payload + (segments + acks + 6) * _FRAME_OVERHEAD


def _conversation(
    rng: random.Random,
    client: Device,
    server: synth.Host,
    ports: tuple[int, int],
    start: float,
) -> TcpConversation:
    isn = (rng.getrandbits(32), rng.getrandbits(32))
    step = rng.uniform(0.0002, 0.002)
    return TcpConversation(
        (client.host, ports[0]), (server, ports[1]), start, step=step, isn=isn
    )


def tls_flow(net: Network, rng: random.Random, start: float) -> list[Flow]:
    """A TLS connection: handshake with SNI, then opaque request/response records."""
    device = net.pick(rng)
    names, weights = zip(*_TLS_HOSTS, strict=True)
    name = rng.choices(names, weights)[0]
    large = name in _LARGE_TLS_HOSTS
    plan = [
        (
            int(rng.lognormvariate(6.8, 0.8)),
            min(int(rng.lognormvariate(12.0 if large else 8.8, 1.1)), 8 << 20),
            rng.expovariate(1.0),
        )
        for _ in range(1 + int(rng.expovariate(0.4)))
    ]
    payload = sum(request + response for request, response, _wait in plan) + 4000
    seed = rng.getrandbits(32)
    conversation = _conversation(
        rng, device, net.server(name), (net.port(device.host), 443), start
    )

    def frames() -> Iterator[TimedFrame]:
        yield from conversation.open()
        hello = synthmessages.tls_client_hello(name, seed=seed)
        yield from conversation.send(True, hello)
        certificates = synthmessages.tls_application_data(2800, seed=seed + 1)
        yield from _send(
            conversation,
            False,
            synthmessages.tls_server_hello(hello, seed=seed) + certificates,
        )
        for index, (request, response, wait) in enumerate(plan):
            conversation.wait(wait)
            yield from _send(
                conversation,
                True,
                synthmessages.tls_application_data(request, seed=seed + 2 * index + 2),
            )
            yield from _send(
                conversation,
                False,
                synthmessages.tls_application_data(response, seed=seed + 2 * index + 3),
            )
        yield from conversation.close()

    lookups = net.lookup(device, name, start)
    tls = Flow("tls", _tcp_wire(payload, 3 + 2 * len(plan)), frames(), connections=1)
    return [*lookups, tls]


def http_flow(net: Network, rng: random.Random, start: float) -> list[Flow]:
    """One kept-alive HTTP/1.1 connection: one to six exchanges with one host."""
    device = net.pick(rng)
    first = content.http_exchange(rng, device.profile, start)
    exchanges = [first]
    for _ in range(rng.randrange(6)):
        candidate = content.http_exchange(rng, device.profile, start)
        if candidate.host == first.host:
            exchanges.append(candidate)
    messages = [
        (
            synthmessages.http_request(
                exchange.method,
                exchange.host,
                exchange.target,
                exchange.request_headers,
                exchange.request_body,
            ),
            synthmessages.http_response(
                exchange.status, exchange.response_headers, exchange.response_body
            ),
            rng.expovariate(2.0),
        )
        for exchange in exchanges
    ]
    port = 8080 if rng.random() < 0.2 else 80
    conversation = _conversation(
        rng, device, net.server(first.host), (net.port(device.host), port), start
    )

    def frames() -> Iterator[TimedFrame]:
        yield from conversation.open()
        for request, response, wait in messages:
            yield from _send(conversation, True, request)
            conversation.wait(0.02 + wait / 10)
            yield from _send(conversation, False, response)
            conversation.wait(wait)
        yield from conversation.close()

    payload = sum(len(request) + len(response) for request, response, _ in messages)
    binary = sum(
        len(exchange.request_body) + len(exchange.response_body)
        for exchange in exchanges
        if not exchange.text
    )
    lookups = net.lookup(device, first.host, start)
    wire = _tcp_wire(payload, 2 * len(messages))
    http = Flow("http", wire, frames(), connections=1, readable=payload - binary)
    return [*lookups, http]


def mqtt_flow(net: Network, rng: random.Random, start: float) -> list[Flow]:
    """A toy's MQTT session: CONNECT with credentials, PUBLISHes, pings, DISCONNECT."""
    device = net.devices[0] if rng.random() < 0.7 else net.devices[2]
    profile = device.profile
    name = f"mqtt.{content.VENDOR_DOMAIN}"
    topic = f"toys/{profile.serial}/telemetry"
    connect = protocols.mqtt_connect(profile.serial, profile.device_id, profile.token)
    publishes = [
        (
            protocols.mqtt_publish(topic, content.mqtt_telemetry(rng, profile, start)),
            rng.uniform(2.0, 20.0),
        )
        for _ in range(rng.randrange(3, 40))
    ]
    ping, pong = protocols.mqtt_ping()
    conversation = _conversation(
        rng, device, net.server(name), (net.port(device.host), 1883), start
    )

    def frames() -> Iterator[TimedFrame]:
        yield from conversation.open()
        yield from conversation.send(True, connect)
        yield from conversation.send(False, protocols.mqtt_connack())
        for index, (publish, wait) in enumerate(publishes):
            conversation.wait(wait)
            yield from conversation.send(True, publish)
            if index % 4 == 3:
                yield from conversation.send(True, ping)
                yield from conversation.send(False, pong)
        yield from conversation.send(True, protocols.mqtt_disconnect())
        yield from conversation.close()

    payload = len(connect) + sum(len(publish) for publish, _ in publishes)
    wire = _tcp_wire(payload, 3 + len(publishes) * 3 // 2)
    mqtt = Flow("mqtt", wire, frames(), connections=1, readable=payload)
    return [*net.lookup(device, name, start), mqtt]


def voice_flow(net: Network, rng: random.Random, start: float) -> list[Flow]:
    """An RTP voice call between a toy and the vendor's media server, 20 ms a packet."""
    device = net.devices[0] if rng.random() < 0.7 else net.devices[2]
    name = f"rtc.{content.VENDOR_DOMAIN}"
    server = net.server(name)
    ports = (net.port(device.host), 5004 + 2 * rng.randrange(50))
    count = rng.randrange(400, 3000)
    reply_from = rng.randrange(count // 3, count)
    ssrcs = (rng.getrandbits(32), rng.getrandbits(32))
    noise = random.Random(rng.getrandbits(64))

    def frames() -> Iterator[TimedFrame]:
        for index in range(count):
            at = start + index * 0.020 + noise.uniform(0.0, 0.002)
            stamp = index * protocols.RTP_SAMPLES_PER_PACKET
            packet = protocols.rtp_packet(noise, index, stamp, ssrcs[0], index == 0)
            yield TimedFrame(
                at, synth.udp_frame(device.host, server, ports, packet, index)
            )
            if index >= reply_from:
                packet = protocols.rtp_packet(
                    noise, index, stamp, ssrcs[1], index == reply_from
                )
                frame = synth.udp_frame(server, device.host, ports[::-1], packet, index)
                yield TimedFrame(at + 0.004, frame)

    packets = count + (count - reply_from)
    voice = Flow("voice", packets * (16 + 42 + 172), frames())
    return [*net.lookup(device, name, start), voice]


def ssdp_flow(net: Network, rng: random.Random, start: float) -> list[Flow]:
    """The phone's M-SEARCH and the TV's NOTIFY, to the SSDP multicast group."""
    phone, tv = net.devices[1].host, net.tv
    search = protocols.ssdp_search("urn:dial-multiscreen-org:service:dial:1")
    device_uuid = "4d696e69-444c-164e-9d41-" + tv.mac.replace(":", "")
    notify = protocols.ssdp_notify(
        f"http://{tv.ip}:8008/ssdp/device-desc.xml", device_uuid, "Linux/5.4 UPnP/1.0"
    )
    frames = [
        TimedFrame(
            start, synth.udp_frame(phone, _SSDP, (net.port(phone), 1900), search)
        ),
        TimedFrame(start + 0.3, synth.udp_frame(tv, _SSDP, (1900, 1900), notify)),
    ]
    return [Flow("ssdp", len(search) + len(notify) + 2 * (16 + 42), iter(frames))]


def mdns_flow(net: Network, rng: random.Random, start: float) -> list[Flow]:
    """An mDNS question from the phone and the TV's multicast answer (RFC 6762)."""
    phone, tv = net.devices[1].host, net.tv
    name = rng.choice(("_googlecast._tcp.local", "bb-pip-setup.local", "tv.local"))
    query = synthmessages.dns_query(0, name)
    answer = synthmessages.dns_response(0, name, [tv.ip], ttl=120)
    frames = [
        TimedFrame(start, synth.udp_frame(phone, _MDNS, (5353, 5353), query)),
        TimedFrame(start + 0.05, synth.udp_frame(tv, _MDNS, (5353, 5353), answer)),
    ]
    return [Flow("mdns", len(query) + len(answer) + 2 * (16 + 42), iter(frames))]


def ntp_flow(net: Network, rng: random.Random, start: float) -> list[Flow]:
    """A toy setting its clock: one NTP request and the server's reply."""
    device = net.pick(rng)
    name = "pool.ntp.org"
    server = net.server(name)
    ports = (net.port(device.host), 123)
    request = protocols.ntp_request(rng, int(start) + 2_208_988_800)
    reply = b"\x24" + request[1:]
    frames = [
        TimedFrame(start, synth.udp_frame(device.host, server, ports, request)),
        TimedFrame(
            start + 0.04, synth.udp_frame(server, device.host, ports[::-1], reply)
        ),
    ]
    return [
        *net.lookup(device, name, start),
        Flow("ntp", 2 * (16 + 42 + 48), iter(frames)),
    ]


FlowBuilder = Callable[[Network, random.Random, float], list[Flow]]

MIX: dict[str, tuple[FlowBuilder, float]] = {
    "tls": (tls_flow, 0.515),
    "http": (http_flow, 0.425),
    "voice": (voice_flow, 0.053),
    "mqtt": (mqtt_flow, 0.004),
    "ssdp": (ssdp_flow, 0.001),
    "mdns": (mdns_flow, 0.001),
    "ntp": (ntp_flow, 0.0005),
}
"""Each traffic class, its builder and its target share of the capture's bytes."""
