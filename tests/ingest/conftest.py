"""Shared builders for the ingest tests: captures written with scapy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from toyaudit.ingest import read_evidence
from toyaudit.ingest.records import Coverage, Observation

CLIENT = ("10.0.0.2", 50000)
SERVER = ("93.184.216.34", 80)

ReadCapture = Callable[..., tuple[list[Observation], Coverage]]


class TcpTalk:
    """Builds the packets of one TCP connection, tracking sequence numbers.

    ``packets`` is a plain list, so a test can reorder, repeat or drop
    packets before writing them.
    """

    def __init__(
        self,
        client: tuple[str, int] = CLIENT,
        server: tuple[str, int] = SERVER,
        client_isn: int = 1000,
        server_isn: int = 5000,
    ) -> None:
        self.ends = {True: client, False: server}
        self.seq = {True: client_isn, False: server_isn}
        self.packets: list[Any] = []

    def handshake(self) -> None:
        """SYN, SYN/ACK, ACK."""
        self.send(b"", True, "S")
        self.seq[True] += 1
        self.send(b"", False, "SA")
        self.seq[False] += 1
        self.send(b"", True, "A")

    def send(self, payload: bytes, from_client: bool = True, flags: str = "PA") -> Any:
        """Append one segment and advance that side's sequence number."""
        source, destination = self.ends[from_client], self.ends[not from_client]
        packet = (
            Ether()
            / IP(src=source[0], dst=destination[0])
            / TCP(
                sport=source[1],
                dport=destination[1],
                flags=flags,
                seq=self.seq[from_client],
                ack=self.seq[not from_client],
            )
        )
        if payload:
            packet = packet / payload
        self.packets.append(packet)
        self.seq[from_client] += len(payload)
        return packet

    def send_pieces(self, payload: bytes, size: int, from_client: bool = True) -> None:
        """Send ``payload`` in segments of at most ``size`` bytes."""
        for start in range(0, len(payload), size):
            self.send(payload[start : start + size], from_client)

    def close(self) -> None:
        """FIN from both sides."""
        self.send(b"", True, "FA")
        self.seq[True] += 1
        self.send(b"", False, "FA")
        self.seq[False] += 1


@pytest.fixture
def read_capture(tmp_path: Path) -> ReadCapture:
    """Write packets to a pcap with scapy and read it back with ingest."""

    def run(
        packets: list[Any], name: str = "traffic.pcap", **options: Any
    ) -> tuple[list[Observation], Coverage]:
        path = tmp_path / name
        wrpcap(str(path), packets, **options)
        coverage = Coverage()
        return list(read_evidence(path, name, coverage)), coverage

    return run


@pytest.fixture
def talk() -> Callable[..., Any]:
    """A factory of :class:`TcpTalk` connections."""
    return TcpTalk
