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

# Coverage lives beside the records it has always been imported with.
from toyaudit.ingest.coverage import Coverage as Coverage


class Transport(StrEnum):
    """How an observation travelled on the wire."""

    PLAINTEXT = "plaintext"
    """Readable by anyone on the path (HTTP, plain DNS)."""
    TLS = "tls"
    """Inside TLS; toyaudit saw it only because the session decrypted it."""
    BLUETOOTH = "bluetooth"
    """Over a Bluetooth LE link without encryption: anyone in radio range reads it."""
    BLUETOOTH_ENCRYPTED = "bluetooth-encrypted"
    """Over an encrypted Bluetooth LE link."""

    @property
    def readable_on_path(self) -> bool:
        """Whether anyone on the network path or in radio range can read it."""
        return self in (Transport.PLAINTEXT, Transport.BLUETOOTH)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where in the session an observation came from.

    ``file`` is relative to the session folder. ``packets`` are 1-based frame
    numbers, the numbers Wireshark and tshark show, of every packet that carried
    part of the observation. ``flow_id`` is the mitmproxy flow id for flow files.
    ``time`` places the observation in the session's phases.
    """

    file: str
    """Evidence file name, relative to the session folder."""
    packets: tuple[int, ...] = ()
    """1-based frame numbers of the packets that carried the observation."""
    flow_id: str | None = None
    """mitmproxy flow id (or HAR entry number) when from a flow or HAR file."""
    time: float | None = None
    """When the observation was sent, in seconds since the Unix epoch, if known.

    In a pcap, pcapng or btsnoop file, the capture time of the packet that
    carried its first byte (a request paired with its response keeps the
    request's); in a flow or HAR file, when the request started."""
    dns_name: DnsName | None = None
    """The name the client had looked up for the server's address, when the
    observation names no host itself (MQTT, raw TCP or UDP, TLS without SNI),
    and the DNS answer that gave it; None otherwise (:mod:`.names`)."""

    def describe(self) -> str:
        """Render the reference the way a person would look it up."""
        if self.flow_id is not None:
            place = f"{self.file} flow {self.flow_id}"
        elif not self.packets:
            place = self.file
        else:
            place = f"{self.file} {_describe_frames(self.packets)}"
        if self.dns_name is None:
            return place
        return f"{place}, server {self.dns_name.describe(self.file)}"


@dataclass(frozen=True, slots=True)
class DnsName:
    """The host name a client had looked up for a server address, and where.

    Traffic that carries no host name of its own (MQTT, raw TCP or UDP, TLS
    without SNI) goes to an address; the DNS answer the client received for
    that address before the traffic says which name it meant.
    """

    name: str
    """The name the client asked for, lower-cased, without the trailing dot
    (CNAME chains are followed back to it)."""
    address: str
    """The server address the answer gave and the traffic went to."""
    answer: Evidence
    """Where the DNS answer is: file and frame."""

    def describe(self, file: str) -> str:
        """``name (address, from the DNS answer in frame N)``, naming the
        answer's file when it is not ``file``."""
        answer = self.answer
        if answer.file == file and answer.packets:
            where = _describe_frames(answer.packets)
        else:
            where = answer.describe()
        return f"{self.name} ({self.address}, from the DNS answer in {where})"


def _describe_frames(packets: tuple[int, ...]) -> str:
    if len(packets) == 1:
        return f"frame {packets[0]}"
    if len(packets) <= 4:
        return "frames " + ", ".join(str(number) for number in packets)
    return f"frames {packets[0]}-{packets[-1]} ({len(packets)} packets)"


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


class BleAddressType(StrEnum):
    """Kinds of Bluetooth LE device address (Core spec Vol 6 Part B 1.3)."""

    PUBLIC = "public"
    RANDOM_STATIC = "random static"
    RESOLVABLE_PRIVATE = "resolvable private"
    NON_RESOLVABLE_PRIVATE = "non-resolvable private"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BleAdvertisement:
    """A Bluetooth LE advertisement (or scan response) broadcast by a device."""

    evidence: Evidence
    address: str
    """Advertiser address, upper-case colon form."""
    address_type: BleAddressType
    name: str | None = None
    manufacturer_data: tuple[tuple[int, bytes], ...] = ()
    """(company identifier, data) pairs."""
    service_data: tuple[tuple[str, bytes], ...] = ()
    """(service UUID, data) pairs."""
    service_uuids: tuple[str, ...] = ()
    """Service UUIDs, 128-bit lower-case string form."""
    connectable: bool | None = None
    rssi: int | None = None


@dataclass(frozen=True, slots=True)
class GattOperation:
    """One ATT operation on a characteristic: a read, write or notification."""

    evidence: Evidence
    device: str
    """Address of the peripheral (the toy), or a connection label if unknown."""
    operation: str
    """``read``, ``write``, ``write-command``, ``notify``, ``indicate`` or ``error``."""
    handle: int
    from_central: bool
    """True when the phone (central) sent it, False when the toy did."""
    uuid: str | None = None
    """Characteristic UUID, when the capture showed the discovery that maps it."""
    value: bytes = b""
    error_code: int | None = None
    """ATT error code for ``error`` (0x05 authentication, 0x0F encryption...)."""
    encrypted_link: bool = False
    """True when the link was encrypted at the time."""


class PairingMethod(StrEnum):
    """How two BLE devices authenticated when they paired."""

    JUST_WORKS = "just works"
    PASSKEY = "passkey entry"
    NUMERIC_COMPARISON = "numeric comparison"
    OUT_OF_BAND = "out of band"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BlePairing:
    """An SMP pairing exchange between the phone and the toy."""

    evidence: Evidence
    device: str
    method: PairingMethod
    secure_connections: bool
    """True for LE Secure Connections, False for LE legacy pairing."""
    mitm_protection: bool
    bonding: bool


@dataclass(frozen=True, slots=True)
class BleEncryption:
    """The start of link-layer encryption on a BLE connection."""

    evidence: Evidence
    device: str


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
