"""Audit every public real capture and check what a careful human would expect.

The captures live outside the repository (``../shared/captures-real`` in the
development workspace; their sources and licences are in its SOURCES.tsv) and
are never copied into it. This script audits each one as a user would (one
file, its key log beside it), counts the observations of each kind, and checks
a short list of expectations written from each capture's description. It
prints one block per capture and exits non-zero if any capture fails to audit.

Run: ``.venv/bin/python benchmarks/real_captures.py [FOLDER]``
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toyaudit.assess import Assessment
from toyaudit.audit import run_audit
from toyaudit.errors import ToyauditError
from toyaudit.ingest import read_session
from toyaudit.ingest.records import Coverage
from toyaudit.session import open_evidence

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "captures-real"


@dataclass(frozen=True)
class Expectation:
    """One thing a careful human expects from a capture, and how to check it."""

    says: str
    holds: Callable[[Counter[str], Assessment], bool]


def _kinds(*names: str) -> Callable[[Counter[str], Assessment], bool]:
    return lambda kinds, _assessment: all(kinds[name] > 0 for name in names)


def _category(category_id: str) -> Callable[[Counter[str], Assessment], bool]:
    return lambda _kinds, assessment: any(
        finding.category.id == category_id for finding in assessment.findings
    )


def _contacted(suffix: str) -> Callable[[Counter[str], Assessment], bool]:
    return lambda _kinds, assessment: any(
        contact.recipient.host.endswith(suffix) for contact in assessment.contacts
    )


def _tracker(suffix: str) -> Callable[[Counter[str], Assessment], bool]:
    return lambda _kinds, assessment: any(
        contact.recipient.host.endswith(suffix)
        and contact.recipient.party.value == "tracker"
        for contact in assessment.contacts
    )


EXPECTATIONS: dict[str, tuple[Expectation, ...]] = {
    "ble_hci_revcar_toy.btsnoop": (
        Expectation("GATT writes and notifications", _kinds("GattOperation")),
        Expectation("no pairing at all", lambda kinds, _a: kinds["BlePairing"] == 0),
    ),
    "ble_ll_crackle_justworks_ltk.pcap": (
        Expectation(
            "advertisements and a pairing", _kinds("BleAdvertisement", "BlePairing")
        ),
        Expectation("link encryption starts", _kinds("BleEncryption")),
    ),
    "ble_ll_crackle_le_secure_connections.pcapng": (
        Expectation("an LE Secure Connections pairing", _kinds("BlePairing")),
    ),
    "ble_ll_whad_legacy_passkey_pairing.pcap": (
        Expectation("a pairing and encryption", _kinds("BlePairing", "BleEncryption")),
    ),
    "iot_mqtt_plaintext_creds.pcap": (
        Expectation("MQTT CONNECT and PUBLISH", _kinds("MqttMessage")),
        Expectation("credentials in clear", _category("password")),
    ),
    "mobile_alexa_app_android.pcapng": (
        Expectation(
            "plaintext HTTP, TLS and DNS",
            _kinds("HttpRequest", "TlsClientHello", "DnsQuery"),
        ),
        Expectation("the ad system is a tracker", _tracker("amazon-adsystem.com")),
        Expectation("DHCP from the phone", _kinds("DhcpMessage")),
    ),
    "mobile_android_wifi.pcap": (
        Expectation("Firebase analytics is a tracker", _tracker("app-measurement.com")),
        Expectation("DHCP host name", _kinds("DhcpMessage")),
        Expectation("mDNS and SSDP", _kinds("SsdpMessage")),
    ),
    "tls13_http_with_keylog.pcap": (
        Expectation(
            "TLS 1.3 decrypted to an HTTP GET", _kinds("HttpRequest", "TlsServerHello")
        ),
    ),
    "har_gaunit_ga_demo_store.har": (
        Expectation("Google Analytics hits", _kinds("HttpRequest")),
        Expectation("Google Analytics is a tracker", _tracker("google-analytics.com")),
    ),
    "mitm_android_launchdarkly_sdk.mitm": (
        Expectation("the SDK's HTTP flows", _kinds("HttpRequest")),
        Expectation("LaunchDarkly contacted", _contacted("launchdarkly.com")),
    ),
}


def check(capture: Path) -> bool:
    """Audit one capture, print what it yields and whether expectations hold."""
    print(f"== {capture.name}")
    try:
        session = open_evidence(capture)
        kinds: Counter[str] = Counter(
            type(observation).__name__
            for observation in read_session(session, Coverage())
        )
        assessment = run_audit(capture)
    except ToyauditError as error:
        print(f"   ERROR {error}")
        return False
    print("   observations: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    categories = sorted({finding.category.id for finding in assessment.findings})
    print(f"   findings: {len(assessment.findings)} ({', '.join(categories) or '-'})")
    for problem in assessment.coverage.problems:
        print(f"   skipped: {problem}")
    for expectation in EXPECTATIONS.get(capture.name, ()):
        verdict = "yes" if expectation.holds(kinds, assessment) else "NO "
        print(f"   expected {verdict} {expectation.says}")
    return True


def main() -> int:
    """Check every capture in the folder; exit 1 if any fails to audit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    folder = parser.parse_args().folder
    captures = sorted(
        path
        for path in folder.iterdir()
        if path.suffix in (".pcap", ".pcapng", ".btsnoop", ".har", ".mitm")
    )
    results = [check(capture) for capture in captures]
    print(f"{sum(results)} of {len(results)} captures audited without an error")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
