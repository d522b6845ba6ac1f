"""Where an observation came from: the evidence reference every record carries.

An :class:`Evidence` names the file and the exact packets (1-based frame
numbers, as Wireshark shows them) or the flow that carried an observation,
so a finding built from it can be checked in the same bytes. A
:class:`DnsName` adds the DNS answer that named a server reached by address
only. :class:`Transport` says how the observation travelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
