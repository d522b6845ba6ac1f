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
from toyaudit.ingest import capture_kind, read_evidence, read_session
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


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("a.pcap", b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(16), "packet capture"),
        ("a.bin", b"\x0a\x0d\x0d\x0a" + bytes(24), "packet capture"),
        ("flows", b"1234:5:state;", "mitmproxy flows"),
        ("hci.log", b"btsnoop\x00" + bytes(8), "btsnoop"),
        ("session.har", b'\xef\xbb\xbf{ "log" : {"version": "1.2"}}', "HAR"),
        ("export.json", b'{\n  "log": {"entries": []}}', "HAR"),
        ("capture.har", b"{}", "HAR"),
        ("ble.jsonl", b"{}\n", "ble.jsonl"),
        ("scan.jsonl", b'{"type": "advertisement"}\n', "ble.jsonl"),
        ("findings.json", b'{\n  "format": "toyaudit-findings"}', None),
        ("events.jsonl", b'{"event": "x"}\n', None),
        ("tls-verdicts.jsonl", b'{"type": "verdict"}\n', None),
        ("keylog.txt", b"CLIENT_RANDOM " + b"00" * 32 + b" " + b"11" * 48, None),
        ("notes.txt", b"toys audited\n", None),
        ("empty.pcap", b"", None),
    ],
)
def test_capture_kind_finds_captures_among_other_files(
    tmp_path: Path, name: str, content: bytes, kind: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    assert capture_kind(path) == kind


def test_capture_kind_of_a_missing_or_unreadable_path_is_none(tmp_path: Path) -> None:
    assert capture_kind(tmp_path / "gone.pcap") is None
    assert capture_kind(tmp_path) is None
