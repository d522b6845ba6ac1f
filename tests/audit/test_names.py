"""A capture whose servers DNS names and whose toy refused interception, audited.

The session holds what a live capture of a toy that checks certificates
leaves: a packet capture in which the toy looks its MQTT broker up and then
sends it the child's name over plain MQTT (a broker address that DNS later
gives another name), TLS connections to a host the toy refused interception
of, which the capture passed through with no keys, the key log of the
connections it did intercept, and ``tls-verdicts.jsonl``. Every worker count
must name the servers and word the notes the same, byte for byte.
"""

from __future__ import annotations

import heapq
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from toyaudit import synth
from toyaudit.audit import run_audit
from toyaudit.classify.records import Party
from toyaudit.demo_scenario import PERSONA, SESSION, START
from toyaudit.report import write_reports
from toyaudit.session import seal_session
from toyaudit.synthmessages import (
    dns_query,
    dns_response,
    tls_application_data,
    tls_client_hello,
    tls_server_hello,
)

TOY = synth.Host("02:1a:7d:5e:33:c1", "192.168.4.23")
RESOLVER = synth.Host("02:00:5e:c0:04:01", "192.168.4.1")
BROKER = synth.Host("02:00:5e:c0:04:01", "203.0.113.13")
MEDIA = synth.Host("02:00:5e:c0:04:01", "203.0.113.12")
BEGIN = START.timestamp()
CONNECTIONS = 16
"""MQTT connections: the first half before the broker's address is given
another name, the second half after."""
REPORTS = ("findings.json", "report.md", "report.html")


def _mqtt_string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _mqtt_packet(kind: int, body: bytes) -> bytes:
    """An MQTT control packet (MQTT 3.1.1 §2.2) with a variable length."""
    length, remaining = b"", len(body)
    while True:
        digit, remaining = remaining % 128, remaining // 128
        length += bytes([digit | (0x80 if remaining else 0)])
        if not remaining:
            return bytes([kind]) + length + body


def _mqtt_talk(number: int) -> list[synth.TimedFrame]:
    """CONNECT, then a PUBLISH of the child's name, to the broker's address."""
    connect = _mqtt_packet(
        0x10, _mqtt_string("MQTT") + b"\x04\x02\x00\x3c" + _mqtt_string("bear-1")
    )
    message = json.dumps({"child_name": PERSONA["child"]["name"], "n": number})
    publish = _mqtt_packet(0x30, _mqtt_string("toys/bear-1/profile") + message.encode())
    talk = synth.TcpConversation(
        (TOY, 41000 + number), (BROKER, 1883), BEGIN + 1 + number * 0.1
    )
    return talk.open() + talk.send(True, connect + publish) + talk.close()


def _lookup(at: float, ident: int, name: str, server: synth.Host) -> list[Any]:
    ports = (50000 + ident, 53)
    query = synth.udp_frame(TOY, RESOLVER, ports, dns_query(ident, name))
    answer = dns_response(ident, name, [server.ip])
    reply = synth.udp_frame(RESOLVER, TOY, ports[::-1], answer)
    return [synth.TimedFrame(at, query), synth.TimedFrame(at + 0.002, reply)]


def _passed_through(number: int) -> list[synth.TimedFrame]:
    """A TLS connection to the refused host, its handshake and some data."""
    hello = tls_client_hello("media.plushpal.example", seed=number)
    talk = synth.TcpConversation(
        (TOY, 43000 + number), (MEDIA, 443), BEGIN + 2 + number
    )
    frames = talk.open() + talk.send(True, hello)
    frames += talk.send(False, tls_server_hello(hello, seed=number))
    frames += talk.send(True, tls_application_data(200, seed=number))
    return frames + talk.close()


def _frames() -> Any:
    halfway = BEGIN + 1 + CONNECTIONS / 2 * 0.1 - 0.05
    streams = [
        _lookup(BEGIN + 0.5, 1, "mqtt.plushpal.example", BROKER),
        _lookup(halfway, 2, "ads.tracker.example", BROKER),
        _lookup(BEGIN + 1.5, 3, "media.plushpal.example", MEDIA),
    ]
    streams += [_mqtt_talk(number) for number in range(CONNECTIONS)]
    streams += [_passed_through(number) for number in range(3)]
    return heapq.merge(*streams, key=lambda timed: timed.timestamp)


@pytest.fixture(scope="module")
def named_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sealed session described in the module docstring."""
    folder = tmp_path_factory.mktemp("named") / "session"
    folder.mkdir()
    with (folder / "traffic.pcap").open("wb") as stream:
        synth.PcapWriter(stream).write_frames(_frames())
    # Secrets of a connection the capture intercepted (its flows are not here).
    (folder / "keylog.txt").write_text(f"CLIENT_RANDOM {'ab' * 32} {'cd' * 48}\n")
    verdict = {
        "time": "2026-11-20T10:00:01.200Z",
        "client": f"{TOY.ip}:42999",
        "server": f"{MEDIA.ip}:443",
        "sni": "media.plushpal.example",
        "verdict": "rejected",
        "detail": "tlsv1 alert unknown ca",
    }
    (folder / "tls-verdicts.jsonl").write_text(json.dumps(verdict) + "\n")
    (folder / "session.yaml").write_text(yaml.safe_dump(SESSION), encoding="utf-8")
    (folder / "persona.yaml").write_text(yaml.safe_dump(PERSONA), encoding="utf-8")
    seal_session(folder)
    return folder


def test_audit_names_servers_and_notes_passed_through_hosts_for_any_jobs(
    named_session: Path, tmp_path: Path
) -> None:
    reports = {}
    for jobs in (1, 2, 3):
        write_reports(run_audit(named_session, jobs=jobs), tmp_path / f"j{jobs}", True)
        reports[jobs] = {
            name: (tmp_path / f"j{jobs}" / name).read_bytes() for name in REPORTS
        }

    assert reports[2] == reports[1] and reports[3] == reports[1]


def test_audit_names_the_broker_by_the_latest_answer(named_session: Path) -> None:
    assessment = run_audit(named_session, jobs=2)

    child_name = {
        finding.recipient.host: finding
        for finding in assessment.findings
        if finding.category.id == "child-name"
    }
    assert set(child_name) == {"mqtt.plushpal.example", "ads.tracker.example"}
    vendor = child_name["mqtt.plushpal.example"]
    assert vendor.recipient.party is Party.FIRST_PARTY
    evidence = vendor.detections[0].evidence
    assert evidence.dns_name is not None
    assert evidence.dns_name.address == BROKER.ip
    assert (
        "server mqtt.plushpal.example (203.0.113.13, from the DNS answer in frame"
        in (evidence.describe())
    )
    hosts = {contact.recipient.host for contact in assessment.contacts}
    assert BROKER.ip not in hosts


def test_audit_passed_through_connections_are_notes_not_problems(
    named_session: Path,
) -> None:
    coverage = run_audit(named_session, jobs=3).coverage

    assert coverage.problems == []
    assert coverage.notes == [
        "traffic.pcap: content not visible: the toy refused interception of "
        "media.plushpal.example, so the capture passed it through (3 TLS "
        f"connections, the first {TOY.ip}:43000 -> {MEDIA.ip}:443 at frame "
        f"{_first_hello_frame()})"
    ]


def _first_hello_frame() -> int:
    """The frame of the first ClientHello to the refused host."""
    for number, timed in enumerate(_frames(), start=1):
        if b"media.plushpal.example" in timed.frame and timed.frame[36:38] == (
            (443).to_bytes(2, "big")
        ):
            return number
    raise AssertionError("no ClientHello to media.plushpal.example")
