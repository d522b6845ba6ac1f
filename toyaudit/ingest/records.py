"""The observation records that every capture reader produces.

Whatever the evidence file (a pcap, a pcapng, a mitmproxy flow file), ingest
turns it into the same small set of frozen records. Each carries an
:class:`Evidence` reference so that a finding built from it points at the exact
packets or flow that prove it, and a regulator can open the same bytes in
Wireshark or mitmproxy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Transport(StrEnum):
    """How an observation travelled on the wire."""

    PLAINTEXT = "plaintext"
    """Readable by anyone on the path (HTTP, plain DNS)."""
    TLS = "tls"
    """Inside TLS; toyaudit saw it only because the session decrypted it."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where in the session an observation came from.

    ``file`` is relative to the session folder. ``packets`` are 1-based frame
    numbers, the numbers Wireshark and tshark show, of every packet that carried
    part of the observation. ``flow_id`` is the mitmproxy flow id for flow files.
    """

    file: str
    """Evidence file name, relative to the session folder."""
    packets: tuple[int, ...] = ()
    """1-based frame numbers of the packets that carried the observation."""
    flow_id: str | None = None
    """mitmproxy flow id, when the observation comes from a flow file."""

    def describe(self) -> str:
        """Render the reference the way a person would look it up."""
        if self.flow_id is not None:
            return f"{self.file} flow {self.flow_id}"
        if not self.packets:
            return self.file
        return f"{self.file} {_describe_frames(self.packets)}"


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


Observation = DnsQuery | TlsClientHello | HttpRequest
"""Every kind of observation a reader can yield."""


@dataclass(slots=True)
class Coverage:
    """What the readers could not read, so the report can say what was skipped.

    Readers append to it as they go and keep streaming; nothing here stops an
    audit. ``problems`` are one-line, human-readable notes that name the file
    and the place (packet number or byte offset).
    """

    files_read: list[str] = field(default_factory=list)
    packets: int = 0
    """Packets (frames) read from packet captures."""
    flows: int = 0
    """Flows read from mitmproxy flow files."""
    problems: list[str] = field(default_factory=list)
    """Input skipped or lost, each naming the file and where it started."""

    def skip(self, note: str) -> None:
        """Record that part of the input was skipped."""
        self.problems.append(note)


def host_of(observation: Observation) -> str:
    """The host an observation was addressed to, as reports name it.

    HTTP uses its Host header, a TLS ClientHello its server name, a DNS query
    the name looked up; without a name the server's IP address stands in.
    """
    if isinstance(observation, HttpRequest):
        return observation.host or observation.server.ip
    if isinstance(observation, TlsClientHello):
        return observation.sni or observation.server.ip
    return observation.name
