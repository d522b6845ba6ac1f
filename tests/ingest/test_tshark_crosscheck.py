"""Cross-check the pcap readers against tshark on small synthetic captures.

tshark is the reference dissector: on the same file, our readers must count
the same packets and find the same TLS server names, DNS questions and HTTP
hosts. The capture is written with :mod:`toyaudit.synth` in the test: DNS and
mDNS lookups, a TLS ClientHello cut across several segments, kept-alive HTTP
on ports 80 and 8080 with bodies longer than one segment, TLS through a
proxy's CONNECT tunnel, all interleaved by timestamp. tshark must be installed
(``apt-get install tshark``); without it these tests fail rather than skip, so
a CI run cannot pass them silently.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from toyaudit import synth, synthmessages
from toyaudit.ingest import read_evidence
from toyaudit.ingest.records import (
    Coverage,
    DnsQuery,
    HttpRequest,
    Observation,
    TlsClientHello,
)
from toyaudit.synth import TcpConversation, TimedFrame

START = 1_795_000_000.0
TOY = synth.Host("02:1a:7d:5e:33:c1", "192.168.7.23")
PHONE = synth.Host("02:5c:11:a0:7e:42", "192.168.7.31")
GATEWAY = synth.Host("02:00:5e:00:07:01", "192.168.7.1")
MDNS_GROUP = synth.Host("01:00:5e:00:00:fb", "224.0.0.251")
SERVERS = {
    "api.toy.example": synth.Host(GATEWAY.mac, "203.0.113.10"),
    "cdn.toy.example": synth.Host(GATEWAY.mac, "203.0.113.11"),
    "app-measurement.com": synth.Host(GATEWAY.mac, "198.51.100.7"),
}


@pytest.fixture(scope="module")
def tshark() -> str:
    """The tshark executable; fail, never skip, when it is missing."""
    path = shutil.which("tshark")
    if path is None:
        pytest.fail(
            "tshark is not installed, and these tests compare our readers with it: "
            "install it (Debian/Ubuntu: 'sudo apt-get install tshark'; macOS: "
            "'brew install wireshark'), then run the tests again",
            pytrace=False,
        )
    return path


def _lookups() -> list[TimedFrame]:
    """Unicast DNS queries and answers for every server, plus one mDNS question."""
    frames: list[TimedFrame] = []
    for index, (name, server) in enumerate(SERVERS.items()):
        at = START + index * 0.5
        ports = (53000 + index, 53)
        query = synthmessages.dns_query(0x1000 + index, name)
        answer = synthmessages.dns_response(0x1000 + index, name, [server.ip])
        frames.append(TimedFrame(at, synth.udp_frame(TOY, GATEWAY, ports, query)))
        frames.append(
            TimedFrame(at + 0.01, synth.udp_frame(GATEWAY, TOY, ports[::-1], answer))
        )
    question = synthmessages.dns_query(0, "bear-setup.local")
    frames.append(
        TimedFrame(
            START + 0.2, synth.udp_frame(PHONE, MDNS_GROUP, (5353, 5353), question)
        )
    )
    return frames


def _tls(client: synth.Host, port: int, name: str, start: float) -> list[TimedFrame]:
    """A TLS connection whose ClientHello spans segments of 100 bytes."""
    conversation = TcpConversation((client, port), (SERVERS[name], 443), start, mss=100)
    hello = synthmessages.tls_client_hello(name, seed=port)
    frames = conversation.open() + conversation.send(True, hello)
    frames += conversation.send(False, synthmessages.tls_server_hello(hello, seed=port))
    frames += conversation.send(
        True, synthmessages.tls_application_data(900, seed=port)
    )
    return frames + conversation.close()


def _proxied_tls(port: int, name: str, start: float) -> list[TimedFrame]:
    """A TLS connection to ``name`` through a CONNECT tunnel of the gateway's proxy."""
    conversation = TcpConversation((TOY, port), (GATEWAY, 3128), start)
    hello = synthmessages.tls_client_hello(name, seed=port)
    connect = f"CONNECT {name}:443 HTTP/1.1\r\nHost: {name}:443\r\n\r\n"
    frames = conversation.open() + conversation.send(True, connect.encode())
    frames += conversation.send(False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    frames += conversation.send(True, hello)
    frames += conversation.send(False, synthmessages.tls_server_hello(hello, seed=port))
    return frames + conversation.close()


def _http(port: int, server_port: int, host: str, start: float) -> list[TimedFrame]:
    """Two kept-alive exchanges; the first request body spans several segments."""
    name = host.lower().partition(":")[0]
    conversation = TcpConversation((TOY, port), (SERVERS[name], server_port), start)
    json_type = {"Content-Type": "application/json"}
    body = b'{"events":[' + b",".join(b'{"n":%d}' % n for n in range(600)) + b"]}"
    frames = conversation.open()
    for method, path, payload in (("POST", "/v1/events", body), ("GET", "/v1/ok", b"")):
        request = synthmessages.http_request(method, host, path, json_type, payload)
        frames += conversation.send(True, request)
        frames += conversation.send(
            False, synthmessages.http_response(200, json_type, b"{}")
        )
    return frames + conversation.close()


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pcap of interleaved DNS, mDNS, TLS (direct and tunnelled) and HTTP."""
    frames = _lookups()
    frames += _tls(TOY, 50001, "api.toy.example", START + 1.0)
    frames += _tls(PHONE, 50002, "app-measurement.com", START + 1.004)
    frames += _http(50003, 80, "api.toy.example", START + 1.002)
    frames += _http(50004, 8080, "Cdn.Toy.Example:8080", START + 1.006)
    frames += _proxied_tls(50005, "cdn.toy.example", START + 1.008)
    path = tmp_path_factory.mktemp("crosscheck") / "traffic.pcap"
    with path.open("wb") as stream:
        synth.PcapWriter(stream).write_frames(sorted(frames))
    return path


@pytest.fixture(scope="module")
def ours(capture: Path) -> tuple[list[Observation], Coverage]:
    """What our readers make of the capture."""
    coverage = Coverage()
    observations = list(read_evidence(capture, capture.name, coverage))
    return observations, coverage


def _fields(
    tshark: str, capture: Path, display_filter: str, fields: Iterable[str]
) -> list[list[str]]:
    """tshark's values of ``fields`` for each packet matching ``display_filter``."""
    command = [tshark, "-r", str(capture), "-T", "fields", "-E", "separator=\t"]
    if display_filter:
        command += ["-Y", display_filter]
    for field in fields:
        command += ["-e", field]
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    return [line.split("\t") for line in completed.stdout.splitlines()]


def test_read_evidence_counts_the_packets_tshark_counts(
    tshark: str, capture: Path, ours: tuple[list[Observation], Coverage]
) -> None:
    frames = _fields(tshark, capture, "", ["frame.number"])

    assert ours[1].packets == len(frames)
    assert ours[1].problems == []


def test_read_evidence_finds_the_server_names_tshark_finds(
    tshark: str, capture: Path, ours: tuple[list[Observation], Coverage]
) -> None:
    rows = _fields(
        tshark,
        capture,
        "tls.handshake.type == 1",
        ["frame.number", "tls.handshake.extensions_server_name"],
    )
    hellos = [item for item in ours[0] if isinstance(item, TlsClientHello)]

    assert len(rows) == 3, "tshark should see every ClientHello, one in a tunnel"
    assert sorted(hello.sni or "" for hello in hellos) == sorted(
        name.lower() for _frame, name in rows
    )
    frames_of = {hello.sni: hello.evidence.packets for hello in hellos}
    for frame, name in rows:
        assert int(frame) in frames_of[name.lower()]


def test_read_evidence_finds_the_dns_questions_tshark_finds(
    tshark: str, capture: Path, ours: tuple[list[Observation], Coverage]
) -> None:
    rows = _fields(
        tshark, capture, "dns.flags.response == 0", ["frame.number", "dns.qry.name"]
    )
    queries = [item for item in ours[0] if isinstance(item, DnsQuery)]

    assert len(rows) == len(SERVERS) + 1, "tshark should see every question"
    assert Counter((query.evidence.packets[0], query.name) for query in queries) == (
        Counter((int(frame), name.lower().rstrip(".")) for frame, name in rows)
    )


def test_read_evidence_finds_the_http_hosts_tshark_finds(
    tshark: str, capture: Path, ours: tuple[list[Observation], Coverage]
) -> None:
    rows = _fields(tshark, capture, "http.request", ["frame.number", "http.host"])
    requests = [item for item in ours[0] if isinstance(item, HttpRequest)]

    assert len(rows) == 5, "tshark should see every request, and the CONNECT"
    assert Counter(request.host for request in requests) == Counter(
        host.lower().partition(":")[0] for _frame, host in rows
    )
    frames_of: dict[str, set[int]] = {}
    for request in requests:
        frames_of.setdefault(request.host, set()).update(request.evidence.packets)
    for frame, host in rows:
        assert int(frame) in frames_of[host.lower().partition(":")[0]]
