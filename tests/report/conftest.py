"""Hand-built assessments for the report tests, including hostile strings.

The sample session audits an invented plush toy. Its findings cover every
severity but medium, every party and both transports, and its strings are
chosen to break careless renderers: a host that is an HTML script element, a
location with an ESC sequence and with ``|`` and ``*`` in a key, a coverage
problem carrying rich markup and a terminal escape, a coverage note carrying
HTML, and the persona's child name quoted inside a cookie location. One
contact was first seen in traffic named by a DNS answer. Its security checks
(not pre-sorted) add a TLS verdict whose capture note carries HTML, a bidi
override and the child's name, and a Bluetooth device named by the child's
name.
``tests/cli/test_terminal.py`` loads :func:`sample_assessment` from this file
by path (tests have no packages).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from toyaudit.assess.records import (
    Assessment,
    CheckFinding,
    Contact,
    Detection,
    Finding,
    RunInfo,
    Severity,
)
from toyaudit.classify.records import Category, Method, Party, Recipient, Tier
from toyaudit.ingest.records import Coverage, DnsName, Evidence, Transport
from toyaudit.session import PersonaValue, Phase, Session, Toy

CHILD_NAME = "Emma Lou"
"""The persona's child name; redacted reports must never contain it."""
WIFI_PERSONA_VALUE = "hunter2-Sesame"
HOSTILE_HOST = "<script>alert(1)</script>"
ESCAPE_LOCATION = "header 'X-Serial\x1b[31m'"
PIPE_LOCATION = "json key 'n|a*m_e'"
HOSTILE_PROBLEM = "traffic.pcap: packet 881 cut short [bold]\x1b[2J"
PASSED_THROUGH_NOTE = (
    "traffic.pcap: content not visible: the toy refused interception of "
    "media.cuddly.example, so the capture passed it through (1 TLS connection, "
    "192.168.4.23:49811 -> 203.0.113.12:443 at frame 77) <i>"
)
HOSTILE_VERDICT_NOTE = f"<b>alert</b> \u202eunknown ca\u202c for {CHILD_NAME}"

UTC = dt.UTC
CAPTURED_AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

CHILD_NAME_CATEGORY = Category("child-name", Tier.IDENTIFYING, "your child's name")
VOICE = Category("voice", Tier.MOST_SENSITIVE, "your child's voice")
SERIAL = Category("device-serial", Tier.TRACKING, "the toy's serial number")
WIFI = Category("wifi-password", Tier.SECRET, "your Wi-Fi password")
USAGE = Category("usage", Tier.TELEMETRY, "how long the toy is played with")

VENDOR_API = Recipient(
    "api.cuddly.example", Party.FIRST_PARTY, "Cuddly Corp", "toy backend"
)
TRACKER = Recipient(HOSTILE_HOST, Party.TRACKER, "AdNet Ltd", "advertising")
SPEECH = Recipient(
    "speech.cloud.example", Party.PROCESSOR, "Cloud Inc", "speech to text"
)
STRANGER = Recipient("203.0.113.9", Party.UNKNOWN, "", "")
CLOCK = Recipient("time.example.net", Party.UNKNOWN, "", "")

PCAP = "traffic.pcap"
FLOWS = "flows.mitm"


def _session() -> Session:
    return Session(
        path=Path("/sessions/plushbear-2026-11-20"),
        name="plushbear-2026-11-20",
        toy=Toy("PlushBear <Pro>", "Cuddly Corp", "PB-2", "1.4.2"),
        first_party_domains=("cuddly.example",),
        captured_at=CAPTURED_AT,
        captured_by="Test lab",
        phases=(
            Phase("setup", CAPTURED_AT, CAPTURED_AT + dt.timedelta(minutes=5)),
            Phase(
                "play",
                CAPTURED_AT + dt.timedelta(minutes=5),
                CAPTURED_AT + dt.timedelta(minutes=20),
            ),
        ),
        persona=(
            PersonaValue("child.name", CHILD_NAME),
            PersonaValue("wifi.password", WIFI_PERSONA_VALUE),
        ),
        evidence=(PCAP, FLOWS),
        manifest_sha256="b" * 64,
        notes=("phase 'idle' had no end; it was dropped",),
    )


def _detection(
    location: str,
    value: str,
    evidence: Evidence,
    method: Method = Method.PATTERN,
    rule: str = "rule",
    decoding: tuple[str, ...] = (),
    confidence: float = 0.9,
    persona_field: str | None = None,
    form: str | None = None,
    phase: str | None = None,
) -> Detection:
    return Detection(
        method=method,
        rule=rule,
        location=location,
        decoding=decoding,
        value=value,
        confidence=confidence,
        evidence=evidence,
        persona_field=persona_field,
        form=form,
        phase=phase,
    )


def _findings() -> tuple[Finding, ...]:
    name_hit = _detection(
        method=Method.PERSONA,
        rule="persona:child.name",
        location=PIPE_LOCATION,
        decoding=("url", "base64"),
        value=CHILD_NAME,
        confidence=1.0,
        persona_field="child.name",
        form="base64",
        evidence=Evidence(PCAP, (12, 13)),
    )
    cookie_hit = _detection(
        method=Method.KEY,
        rule="key-child-name",
        location=f"cookie 'kid={CHILD_NAME}'",
        value=CHILD_NAME,
        confidence=0.6,
        evidence=Evidence(PCAP, (14,)),
    )
    return (
        Finding(
            "F-000005",
            USAGE,
            VENDOR_API,
            Transport.TLS,
            Severity.INFO,
            "telemetry sent to the toy's maker over TLS",
            (
                _detection(
                    method=Method.KEY,
                    rule="key-playtime",
                    location="json key 'secs'",
                    decoding=("json",),
                    value="42",
                    evidence=Evidence(FLOWS, flow_id="f-5"),
                ),
            ),
        ),
        Finding(
            "F-000003",
            SERIAL,
            VENDOR_API,
            Transport.TLS,
            Severity.LOW,
            "tracking identifier sent to the toy's maker over TLS",
            (
                _detection(
                    rule="serial-number",
                    location=ESCAPE_LOCATION,
                    value="SN-0042-XYZ",
                    evidence=Evidence(FLOWS, flow_id="f-3"),
                ),
            ),
        ),
        Finding(
            "F-000001",
            VOICE,
            SPEECH,
            Transport.TLS,
            Severity.HIGH,
            "most sensitive data sent to a processor",
            (
                _detection(
                    location="request body",
                    method=Method.CONTENT,
                    rule="audio-opus",
                    value="opus audio, 48213 bytes",
                    confidence=0.95,
                    evidence=Evidence(FLOWS, flow_id="f-1"),
                ),
            ),
        ),
        Finding(
            "F-000002",
            CHILD_NAME_CATEGORY,
            TRACKER,
            Transport.PLAINTEXT,
            Severity.CRITICAL,
            "identifying data sent to a tracker without encryption",
            (name_hit, cookie_hit),
        ),
        Finding(
            "F-000004",
            WIFI,
            STRANGER,
            Transport.PLAINTEXT,
            Severity.CRITICAL,
            "a secret sent to an unknown party without encryption",
            (
                _detection(
                    method=Method.PERSONA,
                    rule="persona:wifi.password",
                    location="form field 'psk'",
                    value=WIFI_PERSONA_VALUE,
                    confidence=1.0,
                    persona_field="wifi.password",
                    form="plain",
                    evidence=Evidence(PCAP, tuple(range(40, 46))),
                    phase="setup",
                ),
            ),
            phase="setup",
        ),
    )


def _contacts() -> tuple[Contact, ...]:
    return (
        Contact(VENDOR_API, (Transport.TLS,), 31, Evidence(PCAP, (3,))),
        Contact(
            TRACKER, (Transport.PLAINTEXT, Transport.TLS), 4, Evidence(PCAP, (11,))
        ),
        Contact(SPEECH, (Transport.TLS,), 7, Evidence(FLOWS, flow_id="f-1")),
        Contact(STRANGER, (Transport.PLAINTEXT,), 2, Evidence(PCAP, (39,))),
        Contact(CLOCK, (Transport.PLAINTEXT,), 1, CLOCK_EVIDENCE),
    )


CLOCK_EVIDENCE = Evidence(
    PCAP,
    (2,),
    dns_name=DnsName("time.example.net", "192.0.2.123", Evidence(PCAP, (1,))),
)
"""A time query that names no host: the DNS answer in frame 1 named it."""


def _checks() -> tuple[CheckFinding, ...]:
    return (
        CheckFinding(
            id="C-00000b",
            check="tls-interception-rejected",
            title="the toy refused a fake security certificate, as it should",
            severity=Severity.INFO,
            subject=VENDOR_API.host,
            explanation="The toy refused the certificate on 2 connections.",
            evidence=(Evidence("tls-verdicts.jsonl", (4,)),),
            occurrences=2,
        ),
        CheckFinding(
            id="C-00000a",
            check="tls-interception-accepted",
            title="the toy trusts a fake security certificate",
            severity=Severity.CRITICAL,
            subject=HOSTILE_HOST,
            explanation=f"The capture noted: {HOSTILE_VERDICT_NOTE}.",
            evidence=tuple(Evidence("tls-verdicts.jsonl", (n,)) for n in (2, 3)),
            occurrences=5,
            description="The toy completed a handshake with an untrusted certificate.",
            regulations=("ETSI EN 303 645 provision 5.5-1", "GDPR Art. 32"),
        ),
        CheckFinding(
            id="C-00000c",
            check="plaintext-credentials",
            title="the toy sends passwords or keys without encryption",
            severity=Severity.CRITICAL,
            subject=STRANGER.host,
            explanation="Sent without encryption: your Wi-Fi password (tier S).",
            evidence=(Evidence(PCAP, tuple(range(40, 46))),),
            occurrences=1,
            findings=("F-000004",),
        ),
        CheckFinding(
            id="C-00000d",
            check="child-name-broadcast",
            title="the toy broadcasts your child's name to everyone nearby",
            severity=Severity.HIGH,
            subject="C0:FF:EE:12:34:56",
            explanation=(
                "The child's name was found in BLE advertised name "
                f"(child.name, plain): {CHILD_NAME}'s bear."
            ),
            evidence=(Evidence("ble.jsonl", (7,)),),
            occurrences=3,
        ),
    )


def sample_assessment() -> Assessment:
    """The hostile sample assessment; findings deliberately not pre-sorted."""
    coverage = Coverage(
        files_read=[PCAP, FLOWS],
        packets=1200,
        flows=34,
        problems=[HOSTILE_PROBLEM],
        notes=[PASSED_THROUGH_NOTE],
    )
    return Assessment(
        session=_session(),
        run=RunInfo("0.1.0", "a" * 64, "b" * 64),
        findings=_findings(),
        contacts=_contacts(),
        coverage=coverage,
        checks=_checks(),
    )


def empty_assessment() -> Assessment:
    """A session in which nothing was found and nothing was skipped."""
    return Assessment(
        session=_session(),
        run=RunInfo("0.1.0", "a" * 64, "b" * 64),
        findings=(),
        contacts=(),
        coverage=Coverage(files_read=[PCAP], packets=10),
    )


@pytest.fixture
def assessment() -> Assessment:
    """The hostile sample assessment."""
    return sample_assessment()


@pytest.fixture
def quiet_assessment() -> Assessment:
    """An assessment without findings, contacts or coverage problems."""
    return empty_assessment()


@pytest.fixture
def child_name() -> str:
    """The persona's child name, which redacted reports must never contain."""
    return CHILD_NAME


@pytest.fixture
def wifi_value() -> str:
    """The persona's Wi-Fi password, sent in plaintext in the sample."""
    return WIFI_PERSONA_VALUE


@pytest.fixture
def hostile_host() -> str:
    """A tracker host name that is an HTML script element."""
    return HOSTILE_HOST


@pytest.fixture
def escape_location() -> str:
    """A detection location carrying a raw ESC colour sequence."""
    return ESCAPE_LOCATION


@pytest.fixture
def pipe_location() -> str:
    """A detection location whose key holds Markdown table and emphasis marks."""
    return PIPE_LOCATION
