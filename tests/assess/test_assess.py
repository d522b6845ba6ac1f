"""Tests for turning matches into findings, contacts and severities."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from toyaudit.assess import DETECTIONS_PER_FINDING, Assessor, RunInfo
from toyaudit.assess.records import Contact, Finding, Severity
from toyaudit.assess.severity import rate
from toyaudit.classify import SeverityRules, default_rules_dir, load_rules
from toyaudit.classify.records import Category, Match, Method, Party, Recipient, Tier
from toyaudit.ingest.records import (
    Coverage,
    DnsQuery,
    Endpoint,
    Evidence,
    HttpRequest,
    TlsClientHello,
    Transport,
)
from toyaudit.session import Phase, Session, Toy

TOY = Endpoint("192.168.4.23", 49731)
SERVER = Endpoint("203.0.113.10", 80)
NAME = Category("child-name", Tier.IDENTIFYING, "your child's name")
VOICE = Category("voice-recording", Tier.MOST_SENSITIVE, "your child's voice")
VENDOR = Recipient("api.toy.example", Party.FIRST_PARTY, "ToyCo", "the vendor")
TRACKER = Recipient("ads.example", Party.TRACKER, "AdCo", "advertising")


@pytest.fixture(scope="module")
def severity_rules() -> SeverityRules:
    return load_rules([default_rules_dir()]).severity


def request(frame: int, transport: Transport = Transport.PLAINTEXT) -> HttpRequest:
    return HttpRequest(
        evidence=Evidence("traffic.pcap", (frame,)),
        client=TOY,
        server=SERVER,
        transport=transport,
        method="GET",
        host="api.toy.example",
        path="/",
        query="",
        headers=(),
        body=b"",
    )


def match(
    observation: HttpRequest,
    category: Category = NAME,
    recipient: Recipient = VENDOR,
    method: Method = Method.PERSONA,
    value: str = "Quill",
) -> Match:
    return Match(
        category=category,
        rule=f"persona:{category.id}" if method is Method.PERSONA else "rule",
        method=method,
        location="query parameter 'child'",
        decoding=("url-decode",),
        value=value,
        confidence=1.0 if method is Method.PERSONA else 0.5,
        observation=observation,
        recipient=recipient,
    )


def finish(assessor: Assessor) -> tuple[tuple[Finding, ...], tuple[Contact, ...]]:
    session = Session(
        path=Path("s"),
        name="s",
        toy=Toy("Bear"),
        first_party_domains=("toy.example",),
        captured_at=None,
        captured_by="",
        phases=(),
        persona=(),
        evidence=(),
        manifest_sha256="0" * 64,
    )
    run = RunInfo("0", "1" * 64, "0" * 64)
    assessment = assessor.finish(session, run, Coverage())
    return assessment.findings, assessment.contacts


def test_rate_plaintext_raises_to_its_floor(severity_rules: SeverityRules) -> None:
    over_tls, _ = rate(
        Tier.IDENTIFYING, Party.FIRST_PARTY, Transport.TLS, severity_rules
    )
    plain, reason = rate(
        Tier.IDENTIFYING, Party.FIRST_PARTY, Transport.PLAINTEXT, severity_rules
    )

    assert over_tls is Severity.LOW
    assert plain is Severity.HIGH
    assert "without encryption" in reason and "vendor" in reason


def test_rate_recipient_matters_over_tls(severity_rules: SeverityRules) -> None:
    ranks = [
        rate(Tier.TRACKING, party, Transport.TLS, severity_rules)[0].rank
        for party in (Party.FIRST_PARTY, Party.PROCESSOR, Party.UNKNOWN, Party.TRACKER)
    ]

    assert ranks == sorted(ranks)
    assert ranks[0] < ranks[-1]


def test_rate_reads_severity_from_rules() -> None:
    everything_low = SeverityRules(
        over_tls={(tier, party): "low" for tier in Tier for party in Party},
        plaintext=dict.fromkeys(Tier, "info"),
    )

    severity, _ = rate(
        Tier.MOST_SENSITIVE, Party.TRACKER, Transport.PLAINTEXT, everything_low
    )

    assert severity is Severity.LOW


def test_assessor_groups_by_category_recipient_transport(
    severity_rules: SeverityRules,
) -> None:
    assessor = Assessor(severity_rules)
    first, second, encrypted = request(3), request(9), request(12, Transport.TLS)
    assessor.add(first, VENDOR, [match(first)])
    assessor.add(second, VENDOR, [match(second), match(second, VOICE, TRACKER)])
    assessor.add(encrypted, VENDOR, [match(encrypted)])

    findings, _ = finish(assessor)

    keys = [(f.category.id, f.recipient.host, f.transport.value) for f in findings]
    assert keys == [
        ("voice-recording", "ads.example", "plaintext"),
        ("child-name", "api.toy.example", "plaintext"),
        ("child-name", "api.toy.example", "tls"),
    ]
    plain_name = findings[1]
    assert [e.packets for e in plain_name.evidence] == [(3,), (9,)]
    assert plain_name.occurrences == 2
    assert findings[0].severity is Severity.CRITICAL


def test_assessor_ids_are_stable_and_distinct(severity_rules: SeverityRules) -> None:
    ids = []
    for _ in range(2):
        assessor = Assessor(severity_rules)
        observation = request(1)
        assessor.add(
            observation, VENDOR, [match(observation), match(observation, VOICE)]
        )
        ids.append([finding.id for finding in finish(assessor)[0]])

    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 2
    assert all(finding_id.startswith("F-") for finding_id in ids[0])


def test_assessor_keeps_strongest_detections_and_counts_the_rest(
    severity_rules: SeverityRules,
) -> None:
    assessor = Assessor(severity_rules)
    total = DETECTIONS_PER_FINDING + 10
    for frame in range(1, total + 1):
        observation = request(frame)
        method = Method.PERSONA if frame == total else Method.KEY
        assessor.add(observation, VENDOR, [match(observation, method=method)])

    [finding], _ = finish(assessor)

    assert finding.occurrences == total
    assert len(finding.detections) == DETECTIONS_PER_FINDING
    assert finding.detections[0].method is Method.PERSONA
    assert finding.detections[0].evidence.packets == (total,)


def test_assessor_ignores_repeated_identical_detection(
    severity_rules: SeverityRules,
) -> None:
    assessor = Assessor(severity_rules)
    observation = request(5)
    assessor.add(observation, VENDOR, [match(observation), match(observation)])

    [finding], _ = finish(assessor)

    assert finding.occurrences == 1
    assert len(finding.detections) == 1


def test_assessor_contacts_count_and_transport(severity_rules: SeverityRules) -> None:
    assessor = Assessor(severity_rules)
    lookup = DnsQuery(Evidence("traffic.pcap", (1,)), TOY, SERVER, "ads.example", 1)
    hello = TlsClientHello(
        Evidence("traffic.pcap", (4,)), TOY, SERVER, "ads.example", 0x0303
    )
    only_looked_up = DnsQuery(Evidence("traffic.pcap", (6,)), TOY, SERVER, "cdn.x", 1)
    assessor.add(lookup, TRACKER, [])
    assessor.add(hello, TRACKER, [])
    unknown = Recipient("cdn.x", Party.UNKNOWN, "", "unknown")
    assessor.add(only_looked_up, unknown, [])

    _, contacts = finish(assessor)

    by_host = {contact.recipient.host: contact for contact in contacts}
    assert by_host["ads.example"].observations == 2
    assert by_host["ads.example"].transports == (Transport.TLS,)
    assert by_host["ads.example"].first_evidence.packets == (1,)
    assert by_host["cdn.x"].transports == ()


def test_assessor_adds_match_count_to_occurrences(
    severity_rules: SeverityRules,
) -> None:
    assessor = Assessor(severity_rules)
    batch, single = request(3), request(9)
    assessor.add(batch, VENDOR, [replace(match(batch), count=80)])
    assessor.add(single, VENDOR, [match(single)])

    [finding], _ = finish(assessor)

    assert finding.occurrences == 81
    assert [detection.evidence.packets for detection in finding.detections] == [
        (3,),
        (9,),
    ]


def test_assessor_counted_match_repeated_in_one_observation_counts_once(
    severity_rules: SeverityRules,
) -> None:
    assessor = Assessor(severity_rules)
    batch = request(4)
    counted = replace(match(batch), count=80)
    assessor.add(batch, VENDOR, [counted, counted])

    [finding], _ = finish(assessor)

    assert finding.occurrences == 80
    assert len(finding.detections) == 1


def test_assessor_detections_name_their_phase_and_the_finding_its_raise(
    severity_rules: SeverityRules,
) -> None:
    start = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    phases = (
        Phase("setup", start, start + dt.timedelta(minutes=5)),
        Phase("play", start + dt.timedelta(minutes=5), start + dt.timedelta(hours=1)),
    )
    assessor = Assessor(severity_rules, phases=phases)
    for frame, minutes in ((1, 2.0), (2, 30.0), (3, 90.0)):
        evidence = Evidence(
            "traffic.pcap", (frame,), time=start.timestamp() + 60 * minutes
        )
        observation = replace(request(frame), evidence=evidence)
        assessor.add(observation, VENDOR, [match(observation, value=f"v{frame}")])
    late = replace(request(4, Transport.TLS), evidence=Evidence("traffic.pcap", (4,)))
    assessor.add(late, VENDOR, [match(late)])

    plain, sealed = finish(assessor)[0]

    assert plain.transport is Transport.PLAINTEXT and plain.phase == "setup"
    assert plain.severity is Severity.CRITICAL
    phases_by_frame = {
        detection.evidence.packets[0]: detection.phase for detection in plain.detections
    }
    assert phases_by_frame == {1: "setup", 2: "play", 3: None}
    assert sealed.phase is None and sealed.severity is Severity.LOW
    assert sealed.detections[0].phase is None
