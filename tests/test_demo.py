"""Tests for toyaudit.demo: the bundled session is complete, readable and current."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.io import FlowReader
from mitmproxy.version import VERSION as MITMPROXY_VERSION
from scapy.layers.inet import IP, TCP
from scapy.utils import rdpcap

from toyaudit.demo import DEMO_FILES, PERSONA, build_demo, main
from toyaudit.errors import SessionError
from toyaudit.session import MANIFEST_FILE, load_session

COMMITTED = Path(__file__).resolve().parents[1] / "captures" / "demo-plushbear"
REGENERATE = "stale demo: run '.venv/bin/python -m toyaudit.demo' and commit the result"
COMMITTED_WITH_MITMPROXY = "11.0.2"
"""flows.mitm (and so manifest.json) holds mitmproxy's own serialisation."""
ALL_FILES = {*DEMO_FILES, MANIFEST_FILE}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One freshly generated demo session, shared by the read-only tests."""
    return build_demo(tmp_path_factory.mktemp("demo") / "demo-plushbear")


def _flows(folder: Path) -> list[http.HTTPFlow]:
    with (folder / "flows.mitm").open("rb") as stream:
        flows = FlowReader(stream).stream()
        return [flow for flow in flows if isinstance(flow, http.HTTPFlow)]


def _json_body(flow: http.HTTPFlow) -> Any:
    return json.loads(flow.request.get_content() or b"")


def test_build_demo_is_byte_identical_across_runs(demo: Path, tmp_path: Path) -> None:
    again = build_demo(tmp_path / "x")
    assert {path.name for path in again.iterdir()} == ALL_FILES
    for name in sorted(ALL_FILES):
        assert (again / name).read_bytes() == (demo / name).read_bytes(), name


def test_build_demo_matches_the_committed_copy(demo: Path) -> None:
    assert {path.name for path in COMMITTED.iterdir()} == ALL_FILES, REGENERATE
    for name in ("session.yaml", "persona.yaml", "traffic.pcap"):
        committed = (COMMITTED / name).read_bytes()
        assert committed == (demo / name).read_bytes(), f"{name}: {REGENERATE}"


@pytest.mark.skipif(
    MITMPROXY_VERSION != COMMITTED_WITH_MITMPROXY,
    reason=f"flows.mitm was committed with mitmproxy {COMMITTED_WITH_MITMPROXY}, "
    f"whose serialisation may differ from {MITMPROXY_VERSION}",
)
def test_build_demo_flows_and_manifest_match_the_committed_copy(demo: Path) -> None:
    for name in ("flows.mitm", MANIFEST_FILE):
        committed = (COMMITTED / name).read_bytes()
        assert committed == (demo / name).read_bytes(), f"{name}: {REGENERATE}"


def test_build_demo_folder_is_private(demo: Path) -> None:
    assert stat.S_IMODE(demo.stat().st_mode) == 0o700


def test_build_demo_refuses_a_folder_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SessionError, match="notes.txt"):
        build_demo(tmp_path)


def test_main_writes_the_given_folder(tmp_path: Path) -> None:
    assert main([str(tmp_path / "out")]) == 0
    assert load_session(tmp_path / "out").toy.model == "BRB-200"


@pytest.mark.parametrize("source", ["generated", "committed"])
def test_demo_loads_as_a_session(demo: Path, source: str) -> None:
    session = load_session(demo if source == "generated" else COMMITTED)
    assert session.toy.name == "Bramble the Talking Bear"
    assert session.first_party_domains == ("plushpal.example",)
    assert [phase.name for phase in session.phases] == ["setup", "play"]
    assert session.evidence == ("flows.mitm", "traffic.pcap")
    assert len(session.persona) == 14 and session.notes == ()


def test_demo_flows_have_the_expected_hosts(demo: Path) -> None:
    flows = _flows(demo)
    assert [(flow.request.method, flow.request.pretty_url) for flow in flows] == [
        ("POST", "https://api.plushpal.example/v1/setup/wifi"),
        ("POST", "https://app-measurement.com/a"),
        ("POST", "https://voice.plushpal.example/v2/voice"),
        ("GET", "https://api.plushpal.example/v1/stories?lang=en"),
    ]
    assert all(flow.response is not None for flow in flows)


def test_demo_flows_carry_the_persona(demo: Path) -> None:
    setup, analytics, voice, story = _flows(demo)
    wifi = _json_body(setup)
    assert (wifi["ssid"], wifi["password"]) == ("QuinceHome-5G", "Marmalade-Otter-42")
    assert [wifi["location"]["lat"], wifi["location"]["lon"]] == [51.47793, -0.00147]
    assert base64.b64decode(wifi["child_name_b64"]) == b"Mirabel Quince"
    email_hash = hashlib.sha256(PERSONA["parent"]["email"].lower().encode())
    body = _json_body(analytics)
    assert body["user_properties"]["hashed_email"] == email_hash.hexdigest()
    assert body["adid"] == PERSONA["phone"]["advertising_id"]
    assert voice.request.headers["Content-Type"] == "audio/wav"
    assert voice.request.headers["X-Device-Id"] == "PPB2-00417-XK"
    assert (voice.request.content or b"")[:4] == b"RIFF"
    assert story.response is not None
    assert story.response.headers["Content-Type"] == "audio/mpeg"


def test_demo_pcap_holds_the_plaintext_hello(demo: Path) -> None:
    packets = rdpcap(str(demo / "traffic.pcap"))
    hellos = [
        packet
        for packet in packets
        if TCP in packet and bytes(packet[TCP].payload).startswith(b"GET /v1/hello?")
    ]
    assert len(hellos) == 1
    assert b"child=Mirabel&serial=PPB2-00417-XK" in bytes(hellos[0][TCP].payload)
    assert (hellos[0][IP].src, hellos[0][TCP].dport) == ("192.168.4.23", 80)
    assert hellos[0].src == PERSONA["toy"]["mac"]
