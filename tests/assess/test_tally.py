"""What an assessor gathers does not depend on order, and merges exactly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest

from toyaudit.assess import DETECTIONS_PER_FINDING, Assessment, Assessor, RunInfo
from toyaudit.assess.records import Detection
from toyaudit.assess.tally import (
    DetectionOrder,
    FindingTally,
    detection_order,
    evidence_order,
)
from toyaudit.classify import SeverityRules, default_rules_dir, load_rules
from toyaudit.classify.records import Category, Match, Method, Party, Recipient, Tier
from toyaudit.ingest.records import (
    Coverage,
    DnsQuery,
    Endpoint,
    Evidence,
    HttpRequest,
    Transport,
)
from toyaudit.session import Phase, Session, Toy

TOY = Endpoint("192.168.4.23", 49731)
SERVER = Endpoint("203.0.113.10", 80)
NAME = Category("child-name", Tier.IDENTIFYING, "your child's name")
VENDOR = Recipient("api.toy.example", Party.FIRST_PARTY, "ToyCo", "the vendor")
FILES = ("traffic.pcap", "flows.mitm")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
PHASES = (
    Phase("setup", EPOCH, EPOCH + dt.timedelta(seconds=1)),
    Phase("play", EPOCH + dt.timedelta(seconds=1), EPOCH + dt.timedelta(seconds=3)),
    Phase(
        "after-opt-out",
        EPOCH + dt.timedelta(seconds=3),
        EPOCH + dt.timedelta(seconds=10),
    ),
)
"""Phases over the times of :func:`_traffic`: data in setup and after opt-out."""

Added = tuple[HttpRequest | DnsQuery, list[Match]]
DETECTION = Detection(
    method=Method.PATTERN,
    rule="rule-0",
    location="query parameter 'p0'",
    decoding=(),
    value="Quill",
    confidence=0.9,
    evidence=Evidence("traffic.pcap", (1,)),
)


@pytest.fixture(scope="module")
def severity_rules() -> SeverityRules:
    return load_rules([default_rules_dir()]).severity


def _request(evidence: Evidence) -> HttpRequest:
    return HttpRequest(
        evidence=evidence,
        client=TOY,
        server=SERVER,
        transport=Transport.PLAINTEXT,
        method="GET",
        host=VENDOR.host,
        path="/",
        query="",
        headers=(),
        body=b"",
    )


def _match(observation: HttpRequest, number: int) -> Match:
    method = [Method.PERSONA, Method.PATTERN, Method.KEY][number % 3]
    return Match(
        category=NAME,
        rule=f"rule-{number % 4}",
        method=method,
        location=f"query parameter 'p{number % 5}'",
        decoding=(),
        value="Quill",
        confidence=[1.0, 0.9, 0.5][number % 3],
        observation=observation,
        recipient=VENDOR,
        count=1 + number % 2,
    )


def _traffic() -> list[Added]:
    """Many observations of one finding, two files, ties in every field but one."""
    added: list[Added] = []
    for number in range(3 * DETECTIONS_PER_FINDING):
        file = FILES[number % 2]
        if file == "flows.mitm":
            evidence = Evidence(file, flow_id=f"f{number % 7}", time=float(number % 4))
        else:
            frames = (number % 11 + 1, number % 11 + 2)
            evidence = Evidence(file, frames, time=float(number % 5))
        request = _request(evidence)
        added.append((request, [_match(request, number), _match(request, number + 1)]))
    lookup = DnsQuery(Evidence("traffic.pcap", (30,)), TOY, SERVER, VENDOR.host, 1)
    added.append((lookup, []))
    return added


def _finish(assessor: Assessor) -> Assessment:
    session = Session(
        path=Path("s"),
        name="s",
        toy=Toy("Bear"),
        first_party_domains=("toy.example",),
        captured_at=None,
        captured_by="",
        phases=(),
        persona=(),
        evidence=FILES,
        manifest_sha256="0" * 64,
    )
    return assessor.finish(session, RunInfo("0", "1" * 64, "0" * 64), Coverage())


def _assess(
    severity_rules: SeverityRules, added: list[Added], phases: Sequence[Phase] = ()
) -> Assessment:
    assessor = Assessor(severity_rules, FILES, phases=phases)
    for observation, matches in added:
        assessor.add(observation, VENDOR, matches)
    return _finish(assessor)


def test_assessor_result_does_not_depend_on_order(
    severity_rules: SeverityRules,
) -> None:
    added = _traffic()
    expected = _assess(severity_rules, added)

    reorders = [added[::-1], added[40:] + added[:40], added[1::2] + added[::2]]
    for reordered in reorders:
        assert _assess(severity_rules, reordered) == expected
    [finding] = expected.findings
    assert len(finding.detections) == DETECTIONS_PER_FINDING
    assert finding.occurrences > 2 * DETECTIONS_PER_FINDING


def test_assessor_merged_parts_equal_one_assessor(
    severity_rules: SeverityRules,
) -> None:
    added = _traffic()
    expected = _assess(severity_rules, added)

    for parts in (2, 3):
        merged = Assessor(severity_rules, FILES)
        for index in range(parts):
            part = Assessor(severity_rules, FILES)
            for observation, matches in added[index::parts]:
                part.add(observation, VENDOR, matches)
            merged.merge(part.partial())
        assert _finish(merged) == expected


def test_assessor_phase_does_not_depend_on_order_or_shards(
    severity_rules: SeverityRules,
) -> None:
    added = _traffic()
    expected = _assess(severity_rules, added, PHASES)

    for reordered in (added[::-1], added[1::2] + added[::2]):
        assert _assess(severity_rules, reordered, PHASES) == expected
    for parts in (2, 3):
        merged = Assessor(severity_rules, FILES, phases=PHASES)
        for index in range(parts):
            part = Assessor(severity_rules, FILES, phases=PHASES)
            for observation, matches in added[index::parts]:
                part.add(observation, VENDOR, matches)
            merged.merge(part.partial())
        assert _finish(merged) == expected
    # Setup and after-opt-out both raise one level: the phase declared first
    # wins, proved by its earliest evidence in session order.
    [finding] = expected.findings
    assert finding.phase == "setup"
    assert finding.severity_reason.endswith(
        "raised one level: sent before setup was finished (traffic.pcap frames 1, 2)"
    )


def test_assessor_contact_keeps_the_earliest_evidence(
    severity_rules: SeverityRules,
) -> None:
    later = _request(Evidence("traffic.pcap", (9,)))
    earlier = _request(Evidence("traffic.pcap", (2, 40)))

    contacts = _assess(severity_rules, [(later, []), (earlier, [])]).contacts

    assert contacts[0].first_evidence == earlier.evidence
    assert contacts[0].observations == 2


def test_evidence_order_follows_the_session_files_then_frames_then_time() -> None:
    rank = {name: index for index, name in enumerate(FILES)}
    evidence = [
        Evidence("zz.har", flow_id="entry 1"),
        Evidence("flows.mitm", flow_id="b", time=2.0),
        Evidence("flows.mitm", flow_id="a"),
        Evidence("flows.mitm", flow_id="c", time=1.0),
        Evidence("traffic.pcap", (7,)),
        Evidence("traffic.pcap", (3, 9)),
    ]

    ordered = sorted(evidence, key=lambda item: evidence_order(item, rank))

    assert [item.flow_id or item.packets for item in ordered] == [
        (3, 9),
        (7,),
        "c",
        "b",
        "a",
        "entry 1",
    ]


def test_finding_keeps_the_strongest_detections_of_all_it_was_given(
    severity_rules: SeverityRules,
) -> None:
    added = _traffic()
    ranks = {name: rank for rank, name in enumerate(FILES)}
    strongest: dict[tuple[str, str, Evidence], DetectionOrder] = {}
    for observation, matches in added:
        order = evidence_order(observation.evidence, ranks)
        for match in matches:
            place = (match.rule, match.location, observation.evidence)
            strength = detection_order(match, order)
            strongest[place] = min(strength, strongest.get(place, strength))
    expected = sorted(strongest, key=strongest.__getitem__)[:DETECTIONS_PER_FINDING]

    (finding,) = _assess(severity_rules, added).findings

    assert [
        (detection.rule, detection.location, detection.evidence)
        for detection in finding.detections
    ] == expected


def test_a_full_finding_is_beaten_only_by_heads_after_its_weakest() -> None:
    finding = FindingTally(NAME, VENDOR, Transport.PLAINTEXT)
    ranks = {"traffic.pcap": 0}
    for number in range(DETECTIONS_PER_FINDING):
        evidence = Evidence("traffic.pcap", (number + 1,))
        match = _match(_request(evidence), 0)
        strength = detection_order(match, evidence_order(evidence, ranks))
        assert not finding.beaten(strength[:3])
        finding.keep(
            (match.rule, match.location, str(number), evidence), strength, DETECTION
        )
    method, confidence, weakest = max(order for order, _ in finding.kept.values())[:3]
    later = evidence_order(
        Evidence("traffic.pcap", (DETECTIONS_PER_FINDING + 1,)), ranks
    )
    earlier = evidence_order(Evidence("traffic.pcap", (0,)), ranks)

    assert finding.beaten((method, confidence, later))
    assert not finding.beaten((method, confidence, weakest))  # later fields decide
    assert not finding.beaten((method, confidence, earlier))
    assert not finding.beaten((method - 1, confidence, later))
