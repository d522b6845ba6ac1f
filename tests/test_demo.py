"""The bundled demo session: a genuine capture, complete, and still current.

``captures/demo-plushbear`` is written by ``tests/lab/demo.py``, which runs
the simulated toy through ``toyaudit capture`` in the namespace lab. A real
capture differs in its bytes every time (times, ports, keys), so these tests
check what the committed copy shows, and that capturing it again today shows
the same.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from mitmproxy import http
from mitmproxy.io import FlowReader
from scapy.layers.inet import TCP
from scapy.utils import rdpcap

from tests.lab.demo import capture_demo
from toyaudit.audit import run_audit
from toyaudit.report.jsondoc import build_document
from toyaudit.session import load_session

COMMITTED = Path(__file__).resolve().parents[1] / "captures" / "demo-plushbear"
REGENERATE = "stale demo: run 'sudo .venv/bin/python -m tests.lab.demo' and commit it"
EVIDENCE = (
    "ble.jsonl",
    "flows.mitm",
    "keylog.txt",
    "tls-verdicts.jsonl",
    "traffic.pcapng",
)


def _flows(folder: Path) -> list[http.HTTPFlow]:
    with (folder / "flows.mitm").open("rb") as stream:
        return [f for f in FlowReader(stream).stream() if isinstance(f, http.HTTPFlow)]


def _verdicts(folder: Path) -> dict[str, set[str]]:
    verdicts: dict[str, set[str]] = {}
    for line in (folder / "tls-verdicts.jsonl").read_text().splitlines():
        entry = json.loads(line)
        verdicts.setdefault(entry["verdict"], set()).add(entry["sni"])
    return verdicts


def _facts(folder: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """What an audit of the folder shows: categories, and checks by named subject.

    Subjects that are lab IP addresses change from run to run, so they are
    compared by check only.
    """
    document: dict[str, Any] = build_document(run_audit(folder, jobs=1))
    categories = {finding["category"]["id"] for finding in document["findings"]}
    checks = set()
    for check in document["checks"]:
        subject = check["subject"].lower()
        try:
            ipaddress.ip_address(subject)
            subject = "<lab address>"
        except ValueError:
            pass
        checks.add((check["check"], subject))
    return categories, checks


def test_demo_is_a_complete_sealed_capture() -> None:
    session = load_session(COMMITTED)
    assert session.toy.name == "Bramble the Talking Bear"
    assert session.first_party_domains == ("plushpal.example",)
    assert [phase.name for phase in session.phases] == ["pre-setup", "setup", "play"]
    assert session.evidence == EVIDENCE
    assert len(session.persona) == 14
    assert not any("incomplete" in note for note in session.notes)
    described = yaml.safe_load((COMMITTED / "session.yaml").read_text())
    assert described["capture"]["complete"] is True
    assert described["capture"]["settings"]["proxy_mode"] == "transparent"
    assert {"packets", "proxy", "ble"} <= set(described["capture"]["recorders"])


def test_demo_pcap_holds_the_toys_plaintext_hello() -> None:
    persona = yaml.safe_load((COMMITTED / "persona.yaml").read_text())
    packets = rdpcap(str(COMMITTED / "traffic.pcapng"))
    hellos = [
        packet
        for packet in packets
        if TCP in packet and bytes(packet[TCP].payload).startswith(b"GET /v1/hello?")
    ]
    assert len(hellos) == 1
    assert b"child=Mirabel&serial=PPB2-00417-XK" in bytes(hellos[0][TCP].payload)
    assert hellos[0][TCP].dport == 80
    assert hellos[0].src == persona["toy"]["mac"]
    assert all(
        persona["toy"]["mac"] in (p.src, p.dst) for p in packets if p.haslayer("Ether")
    )


def test_demo_flows_hold_what_the_proxy_decrypted() -> None:
    requests = {(f.request.method, f.request.pretty_url) for f in _flows(COMMITTED)}
    assert requests == {
        ("POST", "https://api.plushpal.example/v1/setup/wifi"),
        ("POST", "https://app-measurement.com/a"),
        ("POST", "https://api.plushpal.example/v1/profile"),
        ("POST", "https://voice.plushpal.example/v2/voice"),
        ("POST", "https://telemetry.tracker.example/v1/collect"),
        (
            "GET",
            "http://api.plushpal.example/v1/hello?child=Mirabel&serial=PPB2-00417-XK&fw=2.4.1",
        ),
    }


def test_demo_verdicts_show_the_careless_and_the_careful_client() -> None:
    assert _verdicts(COMMITTED) == {
        "accepted": {
            "api.plushpal.example",
            "app-measurement.com",
            "voice.plushpal.example",
            "telemetry.tracker.example",
        },
        "rejected": {"media.plushpal.example"},
    }


def test_demo_audit_shows_the_story() -> None:
    categories, checks = _facts(COMMITTED)
    assert {
        "child-name",
        "child-birthdate",
        "wifi-network",
        "wifi-password",
        "precise-location",
        "voice-recording",
        "advertising-id",
        "email-address",
        "password",
    } <= categories
    assert {
        ("tls-interception-accepted", "api.plushpal.example"),
        ("tls-interception-accepted", "app-measurement.com"),
        ("tls-interception-rejected", "media.plushpal.example"),
        ("plaintext-personal-data", "api.plushpal.example"),
        ("plaintext-credentials", "mqtt.plushpal.example"),
        ("ble-read-without-pairing", "c0:ff:ee:12:34:56"),
        ("ble-trackable-address", "c0:ff:ee:12:34:56"),
    } <= checks


def test_demo_capture_today_shows_what_the_committed_copy_shows(tmp_path: Path) -> None:
    """Capturing the simulated toy again gives the same audit: the demo is current."""
    fresh = capture_demo(tmp_path / "demo-plushbear")

    assert sorted(path.name for path in fresh.iterdir()) == sorted(
        [*EVIDENCE, "manifest.json", "persona.yaml", "session.yaml"]
    )
    assert (fresh / "persona.yaml").read_bytes() == (
        COMMITTED / "persona.yaml"
    ).read_bytes()
    assert _verdicts(fresh) == _verdicts(COMMITTED), REGENERATE
    assert _facts(fresh) == _facts(COMMITTED), REGENERATE


@pytest.mark.parametrize(
    "name", [*EVIDENCE, "manifest.json", "persona.yaml", "session.yaml"]
)
def test_demo_files_hold_no_lab_secrets(name: str) -> None:
    """The lab's CA key never reaches the session; the capture CA's never either."""
    assert b"PRIVATE KEY" not in (COMMITTED / name).read_bytes()
