"""The observation records that every capture reader produces.

Whatever the evidence file (a pcap, a pcapng, a mitmproxy flow file), ingest
turns it into the same small set of frozen records. Each carries an
:class:`Evidence` reference so that a finding built from it points at the exact
packets or flow that prove it, and a regulator can open the same bytes in
Wireshark or mitmproxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Bluetooth records, the evidence reference and coverage live in their own
# modules; they are imported from here with the records they always came with.
from toyaudit.ingest.blerecords import BleAddressType as BleAddressType
from toyaudit.ingest.blerecords import BleAdvertisement as BleAdvertisement
from toyaudit.ingest.blerecords import BleEncryption as BleEncryption
from toyaudit.ingest.blerecords import BlePairing as BlePairing
from toyaudit.ingest.blerecords import GattOperation as GattOperation
from toyaudit.ingest.blerecords import PairingMethod as PairingMethod
from toyaudit.ingest.coverage import Coverage as Coverage
from toyaudit.ingest.evidence import DnsName as DnsName
from toyaudit.ingest.evidence import Evidence as Evidence
from toyaudit.ingest.evidence import Transport as Transport


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One side of a conversation: an IP address and a port."""

    ip: str
    port: int

    def __str__(self) -> str:
        if ":" in self.ip:
            return f"[{self.ip}]:{self.port}"
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True, slots=True)
class DnsQuery:
    """A DNS question sent by a client (the toy or its app)."""

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    name: str
    """Queried name, lower-cased, without the trailing dot."""
    qtype: int
    """Numeric query type (1 = A, 28 = AAAA, ...)."""
    transport: Transport = Transport.PLAINTEXT


@dataclass(frozen=True, slots=True)
class TlsClientHello:
    """The first message of a TLS handshake, which travels unencrypted."""

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    sni: str | None
    """Server name indication, lower-cased, or None when the client sent none."""
    legacy_version: int
    """The record's ``client_version`` field (0x0303 for TLS 1.2 and 1.3)."""
    supported_versions: tuple[int, ...] = ()
    """Versions from the ``supported_versions`` extension, in the client's order."""
    cipher_suites: tuple[int, ...] = ()
    alpn: tuple[str, ...] = ()
    ja4: str = ""
    """A JA4-style fingerprint of the client (docs/ingest.md), "" if not computed."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """The server's answer to an :class:`HttpRequest`, when the capture has it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request sent by the toy or its app, with its response if seen.

    ``path`` excludes the query string, which is kept raw in ``query`` so that
    classification can decode it and record how. ``body`` is the message body
    after de-chunking but before any content encoding is undone.
    """

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    transport: Transport
    method: str
    host: str
    """Host header (or authority) lower-cased without port; server IP if absent."""
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    scheme: str = "http"
    response: HttpResponse | None = None
    truncated: bool = False
    """True when the capture ended or lost bytes before the body was complete."""


@dataclass(frozen=True, slots=True)
class TlsServerHello:
    """The server's answer to a ClientHello: what was actually negotiated."""

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    version: int
    """Negotiated version: ``supported_versions`` if present, else the legacy field."""
    cipher_suite: int
    alpn: str | None = None
    certificates: tuple[bytes, ...] = ()
    """DER certificates the server sent, leaf first; visible only up to TLS 1.2."""


@dataclass(frozen=True, slots=True)
class DhcpMessage:
    """A DHCP message from a client, which often names the device."""

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    client_mac: str
    """Client hardware address, lower-case colon form."""
    message_type: int
    """DHCP option 53 (1 discover, 3 request, ...), 0 when absent (BOOTP)."""
    host_name: str | None = None
    """Option 12: the name the device gives itself."""
    vendor_class: str | None = None
    """Option 60: vendor class identifier, e.g. ``android-dhcp-13``."""
    requested_address: str | None = None


@dataclass(frozen=True, slots=True)
class SsdpMessage:
    """An SSDP (UPnP discovery) or similar HTTP-over-UDP message."""

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    start_line: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """An MQTT CONNECT or PUBLISH sent by the toy (MQTT 3.1.1 or 5)."""

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    transport: Transport
    packet_type: str
    """``connect`` or ``publish``."""
    protocol_level: int
    """4 for MQTT 3.1.1, 5 for MQTT 5."""
    from_client: bool = True
    client_id: str | None = None
    username: str | None = None
    password: bytes | None = None
    topic: str | None = None
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class WebSocketMessage:
    """One WebSocket message (reassembled from its frames)."""

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    transport: Transport
    host: str
    path: str
    from_client: bool
    """True when the toy or app sent it; False for messages it received."""
    text: bool
    """True for text messages, False for binary ones."""
    payload: bytes


class PayloadKind(StrEnum):
    """What an otherwise unrecognised payload looks like."""

    PLAINTEXT = "plaintext"
    COMPRESSED = "compressed"
    MEDIA = "media"
    ENCRYPTED = "encrypted"
    """High entropy and no known format: encrypted or random."""
    BINARY = "binary"
    """Low entropy but not text: an unknown binary protocol."""


@dataclass(frozen=True, slots=True)
class RawPayload:
    """A TCP stream direction or UDP datagram of no recognised protocol."""

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    protocol: str
    """``tcp`` or ``udp``."""
    from_client: bool
    kind: PayloadKind
    size: int
    """Bytes seen in this direction (or datagram)."""
    payload: bytes = b""
    """The bytes to scan: kept (bounded) only when ``kind`` is plaintext."""
    media_type: str | None = None
    """What the magic bytes say, e.g. ``audio/ogg``, for media and compressed."""
    transport: Transport = Transport.PLAINTEXT


class InterceptionVerdict(StrEnum):
    """How the toy answered a TLS connection the capture intercepted.

    The live capture presents its own certificate, which the toy has no
    reason to trust (docs/session-format.md, ``tls-verdicts.jsonl``).
    """

    REJECTED = "rejected"
    """The toy refused the certificate with a TLS alert during the handshake."""
    ACCEPTED = "accepted"
    """The toy completed the handshake and sent data: it trusted the certificate."""
    SILENT = "silent"
    """The handshake completed but the toy sent nothing: no conclusion."""
    ABORTED = "aborted"
    """The handshake ended without an alert, or failed otherwise: no conclusion."""


@dataclass(frozen=True, slots=True)
class TlsVerdict:
    """The outcome of presenting an untrusted certificate on one TLS connection."""

    evidence: Evidence
    client: Endpoint
    server: Endpoint
    sni: str | None
    """Server name the toy asked for, lower-cased, or None when it sent none."""
    verdict: InterceptionVerdict
    detail: str = ""
    """What the capture saw, in its words (e.g. the TLS alert the toy sent)."""


NetworkObservation = (
    DnsQuery
    | TlsClientHello
    | TlsServerHello
    | HttpRequest
    | DhcpMessage
    | SsdpMessage
    | MqttMessage
    | WebSocketMessage
    | RawPayload
    | TlsVerdict
)
"""Observations of IP traffic, which have a client and a server."""

BluetoothObservation = BleAdvertisement | GattOperation | BlePairing | BleEncryption
"""Observations of Bluetooth LE traffic."""

Observation = NetworkObservation | BluetoothObservation
"""Every kind of observation a reader can yield."""


def host_of(observation: Observation) -> str:
    """The host an observation was addressed to, as reports name it.

    HTTP and WebSocket use the Host header, TLS the server name, DNS the name
    looked up; without a name the server's IP address stands in. Bluetooth
    observations name the device's address; DHCP and SSDP the sender's MAC or IP.
    Where the server's IP would stand in, the name the client had looked up for
    it in DNS does, when the capture holds the answer (:attr:`Evidence.dns_name`).
    """
    dns_name = observation.evidence.dns_name
    if dns_name is not None:
        return dns_name.name
    match observation:
        case HttpRequest() | WebSocketMessage():
            return observation.host or observation.server.ip
        case TlsClientHello() | TlsVerdict():
            return observation.sni or observation.server.ip
        case DnsQuery():
            return observation.name
        case DhcpMessage():
            return observation.client_mac
        case BleAdvertisement():
            return observation.address
        case GattOperation() | BlePairing() | BleEncryption():
            return observation.device
        case _:
            return observation.server.ip


def transport_of(observation: Observation) -> Transport:
    """How an observation travelled: TLS handshakes count as TLS."""
    match observation:
        case TlsClientHello() | TlsServerHello() | TlsVerdict():
            return Transport.TLS
        case HttpRequest() | MqttMessage() | WebSocketMessage() | RawPayload():
            return observation.transport
        case GattOperation():
            if observation.encrypted_link:
                return Transport.BLUETOOTH_ENCRYPTED
            return Transport.BLUETOOTH
        case BleAdvertisement() | BlePairing() | BleEncryption():
            return Transport.BLUETOOTH
        case _:
            return Transport.PLAINTEXT
