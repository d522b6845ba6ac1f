"""End-to-end tests of the ``toyaudit`` command on the demo session.

Each test runs the real command in a child process, as a user would, and reads
its exit code, its output and the reports it wrote.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.audit.conftest import build_large_pcap_session
from tests.capture.auditrun import run_toyaudit
from toyaudit.errors import ExitCode
from toyaudit.session import seal_session

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "captures" / "demo-plushbear"
CAPTURE = "traffic.pcapng"
"""The demo's packet capture, as ``toyaudit capture`` names it."""


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Audit the bundled demo once, the way the README's first command does."""
    workdir = tmp_path_factory.mktemp("demo-run")
    completed = run_toyaudit("audit", str(DEMO), cwd=workdir)
    assert completed.returncode == ExitCode.OK, completed.stderr
    return workdir / "reports" / "demo-plushbear", completed.stdout


def load_findings(report_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((report_dir / "findings.json").read_text())
    return document


def finding_keys(document: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(category id, tier, recipient host, transport) of every finding."""
    return {
        (
            finding["category"]["id"],
            finding["category"]["tier"],
            finding["recipient"]["host"],
            finding["transport"],
        )
        for finding in document["findings"]
    }


def copy_demo(tmp_path: Path) -> Path:
    session = tmp_path / "session"
    shutil.copytree(DEMO, session)
    return session


def test_audit_demo_writes_private_reports(demo_run: tuple[Path, str]) -> None:
    report_dir, _ = demo_run

    assert sorted(path.name for path in report_dir.iterdir()) == [
        "findings.json",
        "report.html",
        "report.md",
    ]
    assert stat.S_IMODE(report_dir.stat().st_mode) == 0o700
    for path in report_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_audit_demo_redacts_persona_values(demo_run: tuple[Path, str]) -> None:
    report_dir, stdout = demo_run
    secrets = ("Mirabel", "hollis.quince@example.org", "PPB2-00417-XK", "QuinceHome")

    for path in report_dir.iterdir():
        text = path.read_text()
        for secret in secrets:
            assert secret not in text, f"{secret} leaked into {path.name}"
    for secret in secrets:
        assert secret not in stdout


def test_audit_demo_is_reproducible_byte_for_byte(
    demo_run: tuple[Path, str], tmp_path: Path
) -> None:
    report_dir, _ = demo_run

    completed = run_toyaudit("audit", str(DEMO), "--out", "again", cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stderr
    again = tmp_path / "again"
    for name in ("findings.json", "report.md", "report.html"):
        assert (again / name).read_bytes() == (report_dir / name).read_bytes(), name


def test_audit_reveal_shows_values(tmp_path: Path) -> None:
    completed = run_toyaudit(
        "audit", str(DEMO), "--out", "out", "--reveal", cwd=tmp_path
    )

    assert completed.returncode == ExitCode.OK, completed.stderr
    findings = (tmp_path / "out" / "findings.json").read_text()
    assert "Mirabel" in findings
    assert json.loads(findings)["run"]["redacted"] is False


def test_audit_missing_session_is_one_line_error(tmp_path: Path) -> None:
    completed = run_toyaudit("audit", str(tmp_path / "absent"), cwd=tmp_path)

    assert completed.returncode == ExitCode.SESSION
    assert "absent" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "reports").exists()


def test_audit_refuses_tampered_evidence(tmp_path: Path) -> None:
    session = copy_demo(tmp_path)
    pcap = session / CAPTURE
    content = pcap.read_bytes()
    pcap.write_bytes(content[:-1] + bytes([content[-1] ^ 0xFF]))

    completed = run_toyaudit("audit", str(session), cwd=tmp_path)

    assert completed.returncode == ExitCode.SESSION
    assert CAPTURE in completed.stderr
    assert "manifest" in completed.stderr
    assert not (tmp_path / "reports").exists()


def test_audit_refuses_tampered_large_evidence_before_any_report(
    tmp_path: Path,
) -> None:
    session = build_large_pcap_session(tmp_path / "session")
    pcap = session / "traffic.pcap"
    content = bytearray(pcap.read_bytes())
    content[-100] ^= 0xFF  # inside a datagram that carries nothing
    pcap.write_bytes(bytes(content))

    for jobs in ("1", "2"):
        completed = run_toyaudit("audit", str(session), "--jobs", jobs, cwd=tmp_path)

        assert completed.returncode == ExitCode.SESSION
        assert "traffic.pcap: does not match manifest.json" in completed.stderr
        assert "audit the original copy" in completed.stderr
        assert not (tmp_path / "reports").exists()


def test_audit_truncated_pcap_reports_partial_results(tmp_path: Path) -> None:
    session = copy_demo(tmp_path)
    pcap = session / CAPTURE
    content = pcap.read_bytes()
    pcap.write_bytes(content[: len(content) * 2 // 3 + 7])
    seal_session(session)

    completed = run_toyaudit("audit", str(session), "--out", "out", cwd=tmp_path)

    assert completed.returncode == ExitCode.PARTIAL, completed.stderr
    document = load_findings(tmp_path / "out")
    assert any(CAPTURE in note for note in document["coverage"]["problems"])
    assert document["findings"], "findings before the cut must still be reported"


def test_audit_unreadable_flows_file(tmp_path: Path) -> None:
    session = copy_demo(tmp_path)
    (session / "flows.mitm").write_bytes(b"\x00garbage that is no flow file" * 4)
    seal_session(session)

    completed = run_toyaudit("audit", str(session), "--out", "out", cwd=tmp_path)

    assert completed.returncode == ExitCode.SESSION
    assert "flows.mitm" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_audit_broken_rule_file_names_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "categories.yaml").write_text(
        "categories:\n  - id: pet-name\n    tier: 7\n"
    )

    completed = run_toyaudit("audit", str(DEMO), "--rules", str(rules), cwd=tmp_path)

    assert completed.returncode == ExitCode.RULES
    assert "categories.yaml:" in completed.stderr
    assert "pet-name" in completed.stderr
    assert not (tmp_path / "reports").exists()


def test_audit_unwritable_output_exits_with_output_code(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file where the report folder should go")

    completed = run_toyaudit("audit", str(DEMO), "--out", str(blocker), cwd=tmp_path)

    assert completed.returncode == ExitCode.OUTPUT
    assert "out" in completed.stderr
    assert blocker.read_text().startswith("a file")


def test_verbose_error_shows_traceback(tmp_path: Path) -> None:
    completed = run_toyaudit("-v", "audit", str(tmp_path / "absent"), cwd=tmp_path)

    assert completed.returncode == ExitCode.SESSION
    assert "Traceback" in completed.stderr


def test_usage_error_exit_code(tmp_path: Path) -> None:
    completed = run_toyaudit("audit", "--no-such-option", cwd=tmp_path)

    assert completed.returncode == ExitCode.USAGE


def test_session_seal_then_verify(tmp_path: Path) -> None:
    session = copy_demo(tmp_path)
    (session / "manifest.json").unlink()

    sealed = run_toyaudit("session", "seal", str(session), cwd=tmp_path)
    verified = run_toyaudit("session", "verify", str(session), cwd=tmp_path)

    assert sealed.returncode == ExitCode.OK, sealed.stderr
    assert verified.returncode == ExitCode.OK, verified.stderr
    assert "manifest verified" in verified.stdout


def test_audit_demo_finds_expected_data_recipients_and_transport(
    demo_run: tuple[Path, str],
) -> None:
    document = load_findings(demo_run[0])
    keys = finding_keys(document)

    api, voice, analytics, mqtt = (
        "api.plushpal.example",
        "voice.plushpal.example",
        "app-measurement.com",
        "mqtt.plushpal.example",
    )
    expected = {
        # the plaintext HTTP call in the pcap: name, serial
        ("child-name", "2", api, "plaintext"),
        ("device-id", "3", api, "plaintext"),
        # plain MQTT to an address the toy looked up as the vendor's broker
        ("precise-location", "1", mqtt, "plaintext"),
        ("password", "S", mqtt, "plaintext"),
        # the decrypted flows: voice clip, analytics SDK, Wi-Fi setup, profile
        ("child-birthdate", "2", api, "tls"),
        ("mac-address", "3", api, "tls"),
        ("voice-recording", "1", voice, "tls"),
        ("advertising-id", "3", analytics, "tls"),
        ("email-address", "2", analytics, "tls"),
        ("wifi-network", "1", api, "tls"),
        ("wifi-password", "S", api, "tls"),
        ("precise-location", "1", api, "tls"),
        ("child-name", "2", api, "tls"),
    }
    assert expected <= keys, sorted(expected - keys)


def test_audit_demo_parties_severities_and_evidence(
    demo_run: tuple[Path, str],
) -> None:
    document = load_findings(demo_run[0])
    by_key = {
        (item["category"]["id"], item["recipient"]["host"], item["transport"]): item
        for item in document["findings"]
    }

    analytics = by_key[("advertising-id", "app-measurement.com", "tls")]
    assert analytics["recipient"]["party"] == "tracker"
    assert analytics["recipient"]["owner"] == "Google"
    # High for tier 3 to a tracker, raised a level: sent before setup ended.
    assert analytics["severity"] == "critical"
    assert analytics["phase"] == "setup"

    name = by_key[("child-name", "api.plushpal.example", "plaintext")]
    assert name["recipient"]["party"] == "first party"
    assert name["severity"] == "critical"
    assert "sent before setup was finished" in name["severity_reason"]
    places = {item["evidence"]["reference"] for item in name["detections"]}
    assert any(place.startswith(f"{CAPTURE} frames") for place in places)
    assert all(item["method"] == "persona" for item in name["detections"])

    broker = by_key[("precise-location", "mqtt.plushpal.example", "plaintext")]
    assert broker["recipient"]["party"] == "first party"
    named = broker["detections"][0]["evidence"]["dns_name"]
    assert named["name"] == "mqtt.plushpal.example"
    assert named["answer"]["file"] == CAPTURE

    hashed = by_key[("email-address", "app-measurement.com", "tls")]["detections"][0]
    assert hashed["form"] == "sha256"
    assert hashed["evidence"]["flow_id"]

    base64_name = by_key[("child-name", "api.plushpal.example", "tls")]["detections"]
    assert any(item["form"] == "base64" for item in base64_name)

    voice = by_key[("voice-recording", "voice.plushpal.example", "tls")]
    assert voice["detections"][0]["method"] == "content"


def test_audit_demo_does_not_flag_downloaded_story(demo_run: tuple[Path, str]) -> None:
    document = load_findings(demo_run[0])

    voice_hosts = {
        item["recipient"]["host"]
        for item in document["findings"]
        if item["category"]["id"] == "voice-recording"
    }
    assert voice_hosts == {"voice.plushpal.example"}


def test_audit_demo_summary_names_what_who_how(demo_run: tuple[Path, str]) -> None:
    _, stdout = demo_run

    assert "Bramble the Talking Bear" in stdout
    assert "app-measurement.com" in stdout
    assert "plaintext" in stdout
    assert "findings.json" in stdout


def test_audit_never_writes_into_the_session(tmp_path: Path) -> None:
    session = copy_demo(tmp_path)

    def snapshot() -> dict[str, tuple[int, int, bytes]]:
        return {
            path.name: (path.stat().st_mtime_ns, path.stat().st_mode, path.read_bytes())
            for path in sorted(session.iterdir())
        }

    before = snapshot()
    completed = run_toyaudit("audit", str(session), cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stderr
    assert snapshot() == before
    assert (tmp_path / "reports" / "session" / "findings.json").is_file()


def test_audit_single_capture_file_without_session(tmp_path: Path) -> None:
    capture = tmp_path / "toy-capture.pcapng"
    shutil.copyfile(DEMO / CAPTURE, capture)

    completed = run_toyaudit("audit", str(capture), cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stderr
    document = load_findings(tmp_path / "reports" / "toy-capture")
    assert document["session"]["toy"]["name"] == "unknown toy"
    assert any(
        "without a session folder" in note for note in document["session"]["notes"]
    )
    hosts = {
        (item["recipient"]["host"], item["recipient"]["party"])
        for item in document["findings"]
    }
    assert ("api.plushpal.example", "unknown") in hosts
    assert "without a session folder" in completed.stdout


def test_rules_check_passes_on_the_shipped_rules(tmp_path: Path) -> None:
    alone = run_toyaudit(
        "rules", "check", "--no-builtin", str(REPO / "rules"), cwd=tmp_path
    )
    default = run_toyaudit("rules", "check", cwd=tmp_path)

    assert alone.returncode == ExitCode.OK, alone.stderr
    assert default.returncode == ExitCode.OK, default.stderr
    assert "rules valid:" in alone.stdout
    assert "examples passed" in default.stdout


def _pet_rules(tmp_path: Path, examples: str) -> Path:
    """A rule folder with one pet-name detector and the given examples (line 8 on)."""
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "pets.yaml").write_text(
        "categories:\n"
        "  - {id: pet-name, tier: 2, label: your pet's name}\n"
        "detectors:\n"
        "  - id: pet-name\n"
        "    category: pet-name\n"
        "    keys: {include: ['^pet_name$']}\n"
        "    examples:\n" + examples
    )
    return rules


def test_rules_check_lists_every_missing_and_extra_example(tmp_path: Path) -> None:
    rules = _pet_rules(
        tmp_path,
        "      positive:\n"
        "        - {key: pet, value: Rex}\n"
        "        - {key: pet_name, value: rex@example.com}\n"
        "      negative:\n"
        "        - {key: pet_name, value: Rex}\n",
    )

    completed = run_toyaudit("rules", "check", str(rules), cwd=tmp_path)

    assert completed.returncode == ExitCode.RULES
    assert "pets.yaml:9: rule pet-name:" in completed.stderr
    assert "(missing)" in completed.stderr
    assert "pets.yaml:10: rule pet-name:" in completed.stderr
    assert "email-address (email-address) (extra)" in completed.stderr
    assert "pets.yaml:12: rule pet-name:" in completed.stderr
    assert "3 detector example check(s) failed" in completed.stderr


def test_rules_check_fails_a_detector_without_a_negative_example(
    tmp_path: Path,
) -> None:
    rules = _pet_rules(tmp_path, "      positive: [{key: pet_name, value: Rex}]\n")

    checked = run_toyaudit("rules", "check", str(rules), cwd=tmp_path)
    audited = run_toyaudit(
        "audit", str(DEMO), "--rules", str(rules), "--out", "out", cwd=tmp_path
    )

    assert checked.returncode == ExitCode.RULES
    assert (
        "pets.yaml:4: rule pet-name: has no negative example (unexampled); add one "
        "under 'examples: negative:', a field it must leave alone, ideally a near "
        "miss, e.g. [{key: ..., value: ...}]"
    ) in checked.stderr
    assert "positive example" not in checked.stderr
    assert "1 detector example check(s) failed" in checked.stderr
    # Loading rules for an audit does not ask for examples.
    assert audited.returncode == ExitCode.OK, audited.stderr


def test_rules_check_broken_rule_names_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "checks.yaml").write_text(
        "checks:\n  - id: tls-legacy-version\n    title: old\n    severity: severe\n"
    )

    completed = run_toyaudit("rules", "check", str(rules), cwd=tmp_path)

    assert completed.returncode == ExitCode.RULES
    assert "checks.yaml:4: rule tls-legacy-version:" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_rules_check_no_builtin_needs_a_folder(tmp_path: Path) -> None:
    completed = run_toyaudit("rules", "check", "--no-builtin", cwd=tmp_path)

    assert completed.returncode == ExitCode.USAGE


def test_audit_user_rules_override_and_extend_the_shipped_ones(tmp_path: Path) -> None:
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "mine.yaml").write_text(
        "categories:\n"
        "  - {id: wifi-network, tier: 3, label: your Wi-Fi name}\n"
        "  - {id: toy-serial, tier: 2, label: the serial number of your toy}\n"
        "persona:\n"
        "  toy.serial: toy-serial\n"
    )

    completed = run_toyaudit(
        "audit", str(DEMO), "--rules", str(rules), "--out", "out", cwd=tmp_path
    )

    assert completed.returncode == ExitCode.OK, completed.stderr
    categories = {
        (finding["category"]["id"], finding["category"]["tier"])
        for finding in load_findings(tmp_path / "out")["findings"]
    }
    assert ("wifi-network", "3") in categories
    assert ("toy-serial", "2") in categories
    assert not any(category == "device-id" for category, _ in categories)


def test_audit_demo_notes_what_the_capture_passed_through(
    demo_run: tuple[Path, str],
) -> None:
    coverage = load_findings(demo_run[0])["coverage"]

    assert coverage["problems"] == []
    assert any(
        "the toy refused interception of media.plushpal.example" in note
        for note in coverage["notes"]
    )
