"""End to end: an audit's security checks, in findings.json, for --jobs 1 and 2.

The session is generated here: a packet capture in which the toy offers only
TLS 1.0 and 1.1 and posts the home Wi-Fi password and the child's name over
plain HTTP; the TLS verdicts of the live capture (one host accepted the
untrusted certificate, another refused it); and a ble.jsonl in which the
toy advertises the child's name from a public address and lets the capture
read a characteristic without pairing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from toyaudit import synth
from toyaudit.demo_scenario import PERSONA, SESSION, START
from toyaudit.errors import ExitCode
from toyaudit.session import seal_session
from toyaudit.synthmessages import http_request, http_response, tls_client_hello

TOY = synth.Host("02:1a:7d:5e:33:c1", "192.168.4.23")
API = synth.Host("02:00:5e:c0:04:01", "203.0.113.10")
API_HOST = "api.plushpal.example"
BEGIN = START.timestamp()
TOY_BLE = "C0:FF:EE:12:34:56"


def _traffic() -> list[synth.TimedFrame]:
    """An old-TLS handshake, then the Wi-Fi set-up over plain HTTP."""
    tls = synth.TcpConversation((TOY, 40001), (API, 443), BEGIN)
    hello = tls_client_hello(API_HOST, versions=(0x0302, 0x0301))
    frames = tls.open() + tls.send(True, hello) + tls.close()
    http = synth.TcpConversation((TOY, 40002), (API, 80), BEGIN + 1)
    form = (
        f"ssid={PERSONA['wifi']['ssid']}&psk={PERSONA['wifi']['password']}"
        f"&child={PERSONA['child']['first_name']}"
    )
    request = http_request(
        "POST",
        API_HOST,
        "/v1/setup",
        {"Content-Type": "application/x-www-form-urlencoded"},
        form.encode(),
    )
    frames += http.open() + http.send(True, request)
    frames += http.send(False, http_response(204)) + http.close()
    return frames


def _verdicts() -> str:
    lines = [
        {
            "time": "2026-11-20T10:00:02Z",
            "client": "192.168.4.23:40010",
            "server": "203.0.113.10:443",
            "sni": API_HOST,
            "verdict": "accepted",
            "detail": "first request: POST /v1/telemetry",
        },
        {
            "time": "2026-11-20T10:00:03Z",
            "client": "192.168.4.23:40011",
            "server": "198.51.100.30:443",
            "sni": "voice.plushpal.example",
            "verdict": "rejected",
            "detail": "tlsv1 alert unknown ca",
        },
    ]
    return "".join(json.dumps(line) + "\n" for line in lines)


def _ble() -> str:
    lines = [
        {"type": "session", "tool": "toyaudit", "format": 1},
        {
            "type": "advertisement",
            "time": BEGIN + 5,
            "address": TOY_BLE,
            "address_type": "public",
            "name": f"{PERSONA['child']['first_name']}'s Bear",
        },
        {
            "type": "gatt",
            "time": BEGIN + 6,
            "device": TOY_BLE,
            "operation": "read",
            "handle": 11,
            "uuid": "0000ffe1-0000-1000-8000-00805f9b34fb",
            "value": "0102",
            "paired": False,
        },
    ]
    return "".join(json.dumps(line) + "\n" for line in lines)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("checks") / "session"
    folder.mkdir()
    (folder / "session.yaml").write_text(yaml.safe_dump(SESSION), encoding="utf-8")
    (folder / "persona.yaml").write_text(yaml.safe_dump(PERSONA), encoding="utf-8")
    with (folder / "traffic.pcap").open("wb") as stream:
        synth.PcapWriter(stream).write_frames(_traffic())
    (folder / "tls-verdicts.jsonl").write_text(_verdicts(), encoding="utf-8")
    (folder / "ble.jsonl").write_text(_ble(), encoding="utf-8")
    seal_session(folder)
    return folder


def _audit(session: Path, jobs: int, out: Path) -> bytes:
    """Run ``toyaudit audit`` as a user would, and return findings.json."""
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    completed = subprocess.run(
        [sys.executable, "-m", "toyaudit", "audit", str(session), "--out", str(out)]
        + ["--jobs", str(jobs)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == ExitCode.OK, completed.stderr
    assert "security check results" in completed.stdout
    return (out / "findings.json").read_bytes()


@pytest.fixture(scope="module")
def findings(session: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("reports")
    alone = _audit(session, 1, out / "jobs1")
    assert _audit(session, 2, out / "jobs2") == alone
    return json.loads(alone)


def _check(document: Any, check_id: str, subject: str | None = None) -> dict[str, Any]:
    [check] = [
        item
        for item in document["checks"]
        if item["check"] == check_id and subject in (None, item["subject"])
    ]
    result: dict[str, Any] = check
    return result


def test_audit_reports_the_security_checks_in_order(findings: Any) -> None:
    assert findings["$schema"] == "urn:toyaudit:findings-1.2"
    assert [(item["severity"], item["check"]) for item in findings["checks"]] == [
        ("critical", "plaintext-credentials"),
        ("critical", "tls-interception-accepted"),
        ("high", "child-name-broadcast"),
        ("high", "plaintext-personal-data"),
        ("high", "plaintext-personal-data"),
        ("medium", "ble-read-without-pairing"),
        ("medium", "ble-trackable-address"),
        ("medium", "tls-old-version-offered"),
        ("info", "tls-interception-rejected"),
    ]


def test_audit_old_tls_offer_points_at_the_client_hello(findings: Any) -> None:
    check = _check(findings, "tls-old-version-offered")

    assert check["subject"] == API_HOST
    assert check["explanation"] == (
        "The toy offered TLS 1.0 and TLS 1.1, older than TLS 1.2."
    )
    [evidence] = check["evidence"]
    assert evidence["file"] == "traffic.pcap"
    assert evidence["packets"] == [4]
    assert "ETSI EN 303 645 provision 5.5-1" in check["regulations"][0]


def test_audit_plaintext_password_rests_on_its_data_finding(findings: Any) -> None:
    check = _check(findings, "plaintext-credentials")
    wifi = [
        item
        for item in findings["findings"]
        if item["category"]["id"] == "wifi-password"
        and item["transport"] == "plaintext"
    ]

    assert check["subject"] == API_HOST
    assert check["findings"] == [wifi[0]["id"]]
    assert "your home Wi-Fi password (tier S)" in check["explanation"]
    assert check["evidence"] == [wifi[0]["detections"][0]["evidence"]]
    personal = _check(findings, "plaintext-personal-data", API_HOST)
    assert "your child's name (tier 2)" in personal["explanation"]
    # The advertisement carries the name too, unencrypted, over Bluetooth.
    advertised = _check(findings, "plaintext-personal-data", TOY_BLE.lower())
    assert advertised["evidence"][0]["reference"] == "ble.jsonl frame 2"


def test_audit_reads_tls_verdicts_and_ble_checks(findings: Any) -> None:
    accepted = _check(findings, "tls-interception-accepted")
    rejected = _check(findings, "tls-interception-rejected")
    broadcast = _check(findings, "child-name-broadcast")

    assert accepted["subject"] == API_HOST
    assert accepted["evidence"][0]["reference"] == "tls-verdicts.jsonl frame 1"
    assert rejected["subject"] == "voice.plushpal.example"
    assert broadcast["subject"] == TOY_BLE
    assert "BLE advertised name (child.first_name, plain)" in broadcast["explanation"]
    assert _check(findings, "ble-trackable-address")["subject"] == TOY_BLE
    assert "tls-verdicts.jsonl" in findings["coverage"]["files_read"]
