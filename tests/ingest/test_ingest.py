"""Tests of the ingest entry points: format detection, sessions, errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter, wrpcap

from toyaudit.errors import IngestError
from toyaudit.ingest import read_evidence, read_session
from toyaudit.ingest.records import BleAdvertisement, Coverage, DnsQuery
from toyaudit.session import Session, Toy, open_evidence, seal_session

QUERY = Ether() / IP() / UDP(dport=53) / DNS(qd=[DNSQR(qname="toy.example")])


def _session(path: Path, evidence: tuple[str, ...]) -> Session:
    return Session(
        path=path,
        name=path.name,
        toy=Toy(name="Test toy", vendor="", model="", firmware=""),
        first_party_domains=(),
        captured_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        captured_by="tests",
        phases=(),
        persona=(),
        evidence=evidence,
        manifest_sha256="0" * 64,
    )


def test_ingest_reads_every_evidence_file_of_a_session(tmp_path: Path) -> None:
    wrpcap(str(tmp_path / "traffic.pcap"), [QUERY])
    writer = PcapNgWriter(str(tmp_path / "traffic.pcapng"))
    writer.write(QUERY)
    writer.write(QUERY)
    writer.close()
    (tmp_path / "ble.jsonl").write_text(
        '{"type": "session", "tool": "toyaudit", "format": 1}\n'
        '{"type": "advertisement", "address": "C0:FF:EE:00:00:01", "name": "Bear"}\n'
    )
    coverage = Coverage()
    calls: list[tuple[str, int, int]] = []

    observations = list(
        read_session(
            _session(tmp_path, ("traffic.pcap", "traffic.pcapng", "ble.jsonl")),
            coverage,
            lambda *call: calls.append(call),
        )
    )

    assert [(type(item), item.evidence.file) for item in observations] == [
        (DnsQuery, "traffic.pcap"),
        (DnsQuery, "traffic.pcapng"),
        (DnsQuery, "traffic.pcapng"),
        (BleAdvertisement, "ble.jsonl"),
    ]
    assert [item.evidence.packets for item in observations] == [(1,), (1,), (2,), (2,)]
    assert coverage.files_read == ["traffic.pcap", "traffic.pcapng", "ble.jsonl"]
    assert coverage.packets == 3
    assert coverage.problems == []
    assert {name for name, done, total in calls if done == total} == {
        "traffic.pcap",
        "traffic.pcapng",
    }


def test_ingest_refuses_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "traffic.pcap"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not a capture")

    with pytest.raises(IngestError) as raised:
        list(read_evidence(path, "traffic.pcap", Coverage()))

    assert raised.value.message.startswith("traffic.pcap: unknown file format")
    assert "expected pcap, pcapng, a mitmproxy flow file, HAR" in raised.value.message
    assert "editcap" in raised.value.hint


def test_ingest_wraps_os_errors(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="traffic.pcap: cannot be") as raised:
        list(read_evidence(tmp_path, "traffic.pcap", Coverage()))

    assert isinstance(raised.value.__cause__, OSError)


def test_ingest_notes_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "flows.mitm"
    path.write_bytes(b"")
    coverage = Coverage()

    assert list(read_evidence(path, "flows.mitm", coverage)) == []
    assert coverage.problems == ["flows.mitm: empty file; nothing was recorded in it"]


def test_ingest_loose_folder_skips_files_that_are_no_capture(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "README.txt").write_text("notes about the toy\n")
    coverage = Coverage()

    observations = list(read_session(open_evidence(folder), coverage))

    assert observations == []
    assert coverage.problems == ["README.txt: skipped, not a capture toyaudit reads"]


def test_ingest_sealed_session_refuses_files_that_are_no_capture(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / "session.yaml").write_text("toy: {name: Bear}\n")
    (folder / "notes.txt").write_text("notes about the toy\n")
    seal_session(folder)

    with pytest.raises(IngestError, match="notes.txt: unknown file format"):
        list(read_session(open_evidence(folder), Coverage()))
