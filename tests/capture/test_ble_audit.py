"""End to end: what the Bluetooth LE recorder writes, audited by toyaudit.

A recorded session is replayed through the recorder (tests/capture/blereplay.py)
into a session folder with the demo's persona, the folder is sealed and
audited in process, and the security checks of rules/checks.yaml must
report what the toy let a stranger do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.capture.blereplay import jsonl_lines, replay_backend, wait_until
from toyaudit.assess import Assessment
from toyaudit.assess.records import CheckFinding
from toyaudit.audit import run_audit
from toyaudit.capture.ble import BleRecorder
from toyaudit.demo_scenario import PERSONA, SESSION
from toyaudit.ingest.records import Transport
from toyaudit.session import seal_session

TOY = "C0:FF:EE:12:34:56"
NAMED_TOY = "00:1B:DC:0F:2A:71"


def _audited(folder: Path, recording: str, **options: Any) -> Assessment:
    """Record the replayed session into ``folder``, seal it and audit it."""
    folder.mkdir()
    backend, _ = replay_backend(recording, paired=options.pop("paired", False))
    recorder = BleRecorder(folder, backend=backend, notify_seconds=0.05, **options)
    recorder.start()
    try:
        wait_until(lambda: _done(folder / "ble.jsonl", bool(options.get("connect"))))
    finally:
        recorder.stop()
    (folder / "session.yaml").write_text(yaml.safe_dump(SESSION), encoding="utf-8")
    (folder / "persona.yaml").write_text(yaml.safe_dump(PERSONA), encoding="utf-8")
    seal_session(folder)
    return run_audit(folder, jobs=1)


def _done(path: Path, connect: bool) -> bool:
    lines = jsonl_lines(path)
    adverts = [line for line in lines if line["type"] == "advertisement"]
    probed = any(line.get("detail") == "disconnected by the capture" for line in lines)
    return (probed or not connect) and len(adverts) >= (4 if connect else 3)


def _checks(assessment: Assessment) -> dict[str, CheckFinding]:
    return {check.check: check for check in assessment.checks}


def _line(folder: Path, number: int) -> dict[str, Any]:
    return jsonl_lines(folder / "ble.jsonl")[number - 1]


def test_ble_audit_open_toy_fails_the_bluetooth_checks(tmp_path: Path) -> None:
    folder = tmp_path / "open"
    options = {"target": TOY, "connect": True, "allow_writes": True}
    assessment = _audited(folder, "bramble-bear.jsonl", **options)

    checks = _checks(assessment)
    read, written = (
        checks["ble-read-without-pairing"],
        checks["ble-write-without-pairing"],
    )
    assert read.subject == TOY
    # The GAP device name (0x2a00) is open by design and not reported.
    assert "0000ffe1-0000-1000-8000-00805f9b34fb (handle 0x000b)" in read.explanation
    assert "2a00" not in read.explanation and "0x0011" not in read.explanation
    assert [_line(folder, item.packets[0])["handle"] for item in read.evidence] == [
        11,
        13,
        19,
    ]
    # Handle 0x0013 refused the write-back (ATT 0x03): only 0x000d counts.
    assert "handle 0x000d" in written.explanation
    assert "0x0013" not in written.explanation
    [evidence] = written.evidence
    assert _line(folder, evidence.packets[0])["operation"] == "write"
    assert checks["ble-trackable-address"].subject == TOY
    assert "random static" in checks["ble-trackable-address"].explanation
    assert assessment.coverage.problems == []


def test_ble_audit_child_name_in_a_characteristic_is_personal_data(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "name"
    assessment = _audited(folder, "bramble-bear.jsonl", target=TOY, connect=True)

    [finding] = [f for f in assessment.findings if f.transport is Transport.BLUETOOTH]
    assert finding.category.id == "child-name"
    [detection] = finding.detections
    line = _line(folder, detection.evidence.packets[0])
    assert (line["operation"], line["handle"]) == ("read", 11)
    plaintext = _checks(assessment)["plaintext-personal-data"]
    assert "your child's name" in plaintext.explanation
    assert plaintext.findings == (finding.id,)


def test_ble_audit_paired_link_is_not_reported_as_open(tmp_path: Path) -> None:
    options = {"target": TOY, "connect": True, "allow_writes": True, "paired": True}
    assessment = _audited(tmp_path / "paired", "bramble-bear.jsonl", **options)

    checks = _checks(assessment)
    assert "ble-read-without-pairing" not in checks
    assert "ble-write-without-pairing" not in checks
    assert "plaintext-personal-data" not in checks
    transports = {finding.transport for finding in assessment.findings}
    assert transports == {Transport.BLUETOOTH_ENCRYPTED}


def test_ble_audit_name_broadcast_from_a_public_address(tmp_path: Path) -> None:
    assessment = _audited(tmp_path / "named", "named-bear.jsonl")

    checks = _checks(assessment)
    broadcast = checks["child-name-broadcast"]
    assert broadcast.subject == NAMED_TOY
    assert "BLE advertised name (child.first_name, plain)" in broadcast.explanation
    trackable = checks["ble-trackable-address"]
    assert trackable.subject == NAMED_TOY
    assert "a public address" in trackable.explanation
    # The neighbour's resolvable private address is not reported.
    bluetooth = [item for item in assessment.checks if item.check.startswith("ble-")]
    assert {check.subject for check in bluetooth} == {NAMED_TOY}
    assert "ble-read-without-pairing" not in checks
