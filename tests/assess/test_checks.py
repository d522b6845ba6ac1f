"""Tests for the security checks, each on hand-built observations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from toyaudit.assess import Assessor, RunInfo
from toyaudit.assess.checks import (
    IMPLEMENTATIONS,
    Checker,
    SecurityChecks,
    build_checks,
)
from toyaudit.assess.records import CheckFinding, Detection, Finding, Severity
from toyaudit.assess.tally import (
    DETAILS_PER_CHECK,
    EVIDENCE_PER_CHECK,
    CheckTally,
    evidence_order,
)
from toyaudit.classify import SeverityRules, default_rules_dir, load_rules
from toyaudit.classify.records import Category, Match, Method, Party, Recipient, Tier
from toyaudit.errors import RulesError
from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    BleEncryption,
    BlePairing,
    Coverage,
    DhcpMessage,
    DnsQuery,
    Endpoint,
    Evidence,
    GattOperation,
    InterceptionVerdict,
    Observation,
    PairingMethod,
    TlsClientHello,
    TlsServerHello,
    TlsVerdict,
    Transport,
)
from toyaudit.session import Session, Toy

FILES = ("traffic.pcap", "ble.jsonl", "tls-verdicts.jsonl")
TOY = Endpoint("192.168.4.23", 49731)
SERVER = Endpoint("203.0.113.10", 443)
TOY_BLE = "C0:FF:EE:12:34:56"
NAME = Category("child-name", Tier.IDENTIFYING, "your child's name")
VOICE = Category("voice-recording", Tier.MOST_SENSITIVE, "your child's voice")
WIFI = Category("wifi-password", Tier.SECRET, "your home Wi-Fi password")
USAGE = Category("usage", Tier.TELEMETRY, "how the toy is used")
VENDOR = Recipient("api.toy.example", Party.FIRST_PARTY, "ToyCo", "the vendor")
WEAK_SUITES = {
    "RC4": {0x0004: "TLS_RSA_WITH_RC4_128_MD5", 0x0005: "TLS_RSA_WITH_RC4_128_SHA"},
    "MD5": {0x0004: "TLS_RSA_WITH_RC4_128_MD5"},
    "3DES": {"0x000A": "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
}

Added = tuple[Observation, list[Match]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A check rule as the loader makes them, built by hand."""

    id: str
    severity: str = "high"
    parameters: Mapping[str, object] = field(default_factory=dict)
    title: str = "a check failed"
    description: str = ""
    needs: tuple[str, ...] = ()
    regulations: tuple[str, ...] = ("GDPR Art. 32",)
    source: str = "rules/checks.yaml:1"


RULES = {
    "plaintext-personal-data": Rule(
        "plaintext-personal-data",
        parameters={"tiers": ["1", "2", "3"], "transports": ["plaintext"]},
    ),
    "plaintext-credentials": Rule(
        "plaintext-credentials",
        "critical",
        {"tiers": ["S"], "transports": ["plaintext", "bluetooth"]},
    ),
    "tls-old-version-offered": Rule(
        "tls-old-version-offered", "medium", {"minimum_version": 0x0303}
    ),
    "tls-old-version-negotiated": Rule(
        "tls-old-version-negotiated", parameters={"minimum_version": "0x0303"}
    ),
    "tls-weak-cipher-offered": Rule(
        "tls-weak-cipher-offered", "low", {"weak_suites": WEAK_SUITES}
    ),
    "tls-weak-cipher-negotiated": Rule(
        "tls-weak-cipher-negotiated", parameters={"weak_suites": WEAK_SUITES}
    ),
    "tls-interception-accepted": Rule("tls-interception-accepted", "critical"),
    "tls-interception-rejected": Rule("tls-interception-rejected", "info"),
    "ble-read-without-pairing": Rule(
        "ble-read-without-pairing",
        "medium",
        {"ignored_characteristics": ["2a00"]},
    ),
    "ble-write-without-pairing": Rule(
        "ble-write-without-pairing", parameters={"ignored_characteristics": []}
    ),
    "ble-just-works-pairing": Rule(
        "ble-just-works-pairing", "medium", {"methods": ["just works"]}
    ),
    "ble-legacy-pairing": Rule("ble-legacy-pairing", "medium"),
    "ble-trackable-address": Rule(
        "ble-trackable-address",
        "medium",
        {"address_types": ["public", "random static"]},
    ),
    "child-name-broadcast": Rule(
        "child-name-broadcast",
        parameters={
            "persona_fields": ["child.name", "child.first_name"],
            "places": ["BLE advertised name", "DHCP host name", "mDNS name"],
        },
    ),
}


def _checks(*ids: str) -> SecurityChecks:
    return build_checks([RULES[check] for check in ids])


def _run(
    checks: SecurityChecks,
    added: Sequence[Added],
    findings: Sequence[Finding] = (),
) -> tuple[CheckFinding, ...]:
    rank = {name: position for position, name in enumerate(FILES)}
    checker = Checker(checks, rank)
    tally = CheckTally()
    for observation, matches in added:
        order = evidence_order(observation.evidence, rank)
        checker.add(observation, matches, order, tally)
    return checker.finish(tally, findings)


def _only(checks: Sequence[CheckFinding]) -> CheckFinding:
    assert len(checks) == 1, checks
    return checks[0]


def _hello(
    frame: int,
    versions: tuple[int, ...] = (0x0304, 0x0303),
    legacy: int = 0x0303,
    suites: tuple[int, ...] = (0x1301, 0xC02F),
    sni: str | None = "api.toy.example",
    client: Endpoint = TOY,
) -> TlsClientHello:
    return TlsClientHello(
        Evidence("traffic.pcap", (frame,)),
        client,
        SERVER,
        sni,
        legacy,
        versions,
        suites,
    )


def _server_hello(
    frame: int, version: int = 0x0304, suite: int = 0x1301, client: Endpoint = TOY
) -> TlsServerHello:
    return TlsServerHello(
        Evidence("traffic.pcap", (frame,)), client, SERVER, version, suite
    )


# -- TLS versions and suites -------------------------------------------------------


def test_tls_old_version_offered_names_old_versions() -> None:
    hello = _hello(4, versions=(0x0304, 0x0303, 0x0302, 0x0301))

    check = _only(_run(_checks("tls-old-version-offered"), [(hello, [])]))

    assert check.check == "tls-old-version-offered"
    assert check.severity is Severity.MEDIUM
    assert check.subject == "api.toy.example"
    assert check.explanation == (
        "The toy offered TLS 1.0 and TLS 1.1, older than TLS 1.2."
    )
    assert check.evidence == (Evidence("traffic.pcap", (4,)),)
    assert check.regulations == ("GDPR Art. 32",)


def test_tls_old_version_offered_reads_legacy_version_without_extension() -> None:
    old = _hello(4, versions=(), legacy=0x0301)
    modern = _hello(5, versions=(), legacy=0x0303, client=Endpoint(TOY.ip, 50000))

    check = _only(_run(_checks("tls-old-version-offered"), [(old, []), (modern, [])]))

    assert "TLS 1.0" in check.explanation
    assert check.occurrences == 1


def test_tls_old_version_offered_ignores_modern_and_grease_versions() -> None:
    hello = _hello(4, versions=(0x0A0A, 0x0304, 0x0303))

    assert _run(_checks("tls-old-version-offered"), [(hello, [])]) == ()


def test_tls_old_version_negotiated_takes_the_client_hello_name() -> None:
    other = Endpoint(TOY.ip, 50001)
    added: list[Added] = [
        (_hello(4), []),
        (_server_hello(6, version=0x0301), []),
        (_server_hello(9, version=0x0302, client=other), []),
    ]

    checks = _run(_checks("tls-old-version-negotiated"), added)

    assert [(check.subject, check.explanation) for check in checks] == [
        (SERVER.ip, "The connection used TLS 1.1, older than TLS 1.2."),
        ("api.toy.example", "The connection used TLS 1.0, older than TLS 1.2."),
    ]


def test_tls_weak_cipher_offered_lists_suites_with_their_weaknesses() -> None:
    hello = _hello(4, suites=(0x1301, 0x000A, 0x0004))

    check = _only(_run(_checks("tls-weak-cipher-offered"), [(hello, [])]))

    assert check.severity is Severity.LOW
    assert check.explanation == (
        "The toy offered weak cipher suites: "
        "0x0004 TLS_RSA_WITH_RC4_128_MD5 (RC4, MD5) and "
        "0x000a TLS_RSA_WITH_3DES_EDE_CBC_SHA (3DES)."
    )


def test_tls_weak_cipher_negotiated_reads_the_chosen_suite() -> None:
    added: list[Added] = [(_hello(4), []), (_server_hello(6, 0x0303, 0x0005), [])]

    check = _only(_run(_checks("tls-weak-cipher-negotiated"), added))

    assert check.subject == "api.toy.example"
    assert "0x0005 TLS_RSA_WITH_RC4_128_SHA (RC4)" in check.explanation
    assert _run(_checks("tls-weak-cipher-negotiated"), [(_server_hello(6), [])]) == ()


@pytest.mark.parametrize(
    ("parameters", "problem"),
    [
        ({}, "parameter 'minimum_version' is missing"),
        ({"minimum_version": "TLS 9"}, "not a 16-bit code point"),
        ({"minimum_version": 0x10000}, "not a 16-bit code point"),
    ],
)
def test_tls_version_check_refuses_bad_parameters(
    parameters: dict[str, object], problem: str
) -> None:
    rule = Rule("tls-old-version-offered", parameters=parameters)

    with pytest.raises(RulesError) as raised:
        build_checks([rule])

    assert raised.value.message.startswith(
        "rules/checks.yaml:1: check tls-old-version-offered: "
    )
    assert problem in raised.value.message


@pytest.mark.parametrize(
    "weak_suites",
    [
        {},
        ["0x0004"],
        {"RC4": {"0x0004": "A"}, "MD5": {4: "B"}},
        {"RC4": {"RC4-MD5": "TLS_RSA_WITH_RC4_128_MD5"}},
    ],
)
def test_tls_suite_check_refuses_bad_suite_tables(weak_suites: object) -> None:
    rule = Rule("tls-weak-cipher-offered", parameters={"weak_suites": weak_suites})

    with pytest.raises(RulesError, match="parameter 'weak_suites'"):
        build_checks([rule])


def test_tls_version_check_reads_the_minimum_by_name() -> None:
    hello = _hello(4, versions=(0x0303, 0x0302))
    for minimum in ("TLS 1.2", "1.2", "0x0303", 771):
        rule = Rule("tls-old-version-offered", parameters={"minimum_version": minimum})
        check = _only(_run(build_checks([rule]), [(hello, [])]))
        assert check.explanation == "The toy offered TLS 1.1, older than TLS 1.2."


def test_build_checks_refuses_needs_the_check_does_not_read() -> None:
    reads = Rule(
        "tls-old-version-negotiated",
        parameters={"minimum_version": 0x0303},
        needs=("tls-server-hello", "tls-client-hello"),
    )
    derived = Rule(
        "plaintext-credentials",
        parameters={"tiers": ["S"], "transports": ["plaintext"]},
        needs=("data-findings",),
    )
    build_checks([reads, derived])

    wrong = Rule("ble-legacy-pairing", needs=("http-request",))
    with pytest.raises(RulesError, match="needs 'http-request'") as raised:
        build_checks([wrong])
    assert raised.value.hint == "list only what it reads: ble-pairing"


def test_build_checks_refuses_an_unknown_check_and_severity() -> None:
    with pytest.raises(RulesError, match="toyaudit has no code for this check"):
        build_checks([Rule("tls-too-old")])
    with pytest.raises(RulesError, match="severity 'dire' is unknown"):
        build_checks([Rule("ble-legacy-pairing", "dire")])


# -- Interception verdicts ---------------------------------------------------------


def _verdict(
    line: int, verdict: InterceptionVerdict, sni: str | None, detail: str = ""
) -> TlsVerdict:
    return TlsVerdict(
        Evidence("tls-verdicts.jsonl", (line,), time=1767225600.0 + line),
        TOY,
        SERVER,
        sni,
        verdict,
        detail,
    )


INTERCEPTION = ("tls-interception-accepted", "tls-interception-rejected")


def test_interception_accepted_is_critical_per_host() -> None:
    added: list[Added] = [
        (_verdict(1, InterceptionVerdict.ACCEPTED, "api.toy.example"), []),
        (_verdict(2, InterceptionVerdict.ACCEPTED, "api.toy.example", "GET /"), []),
        (
            _verdict(3, InterceptionVerdict.REJECTED, "cdn.toy.example", "unknown ca"),
            [],
        ),
        (_verdict(4, InterceptionVerdict.SILENT, "ota.toy.example"), []),
        (_verdict(5, InterceptionVerdict.ABORTED, None), []),
    ]

    accepted, rejected = _run(_checks(*INTERCEPTION), added)

    assert (accepted.severity, accepted.subject) == (
        Severity.CRITICAL,
        "api.toy.example",
    )
    assert accepted.occurrences == 2
    assert accepted.explanation.startswith("The toy completed 2 connections")
    assert accepted.explanation.endswith("The capture noted: GET /.")
    assert (rejected.severity, rejected.subject) == (Severity.INFO, "cdn.toy.example")
    assert rejected.explanation == (
        "The toy refused toyaudit's untrusted test certificate on 1 connection. "
        "The capture noted: unknown ca."
    )


def test_interception_rejected_is_not_praised_where_one_was_accepted() -> None:
    rejected: Added = (_verdict(1, InterceptionVerdict.REJECTED, "api.toy.example"), [])
    accepted: Added = (_verdict(9, InterceptionVerdict.ACCEPTED, "api.toy.example"), [])

    for added in ([rejected, accepted], [accepted, rejected]):
        check = _only(_run(_checks(*INTERCEPTION), added))
        assert check.check == "tls-interception-accepted"


def test_interception_without_server_name_names_the_server_address() -> None:
    added: list[Added] = [(_verdict(1, InterceptionVerdict.ACCEPTED, None), [])]

    assert _only(_run(_checks(*INTERCEPTION), added)).subject == SERVER.ip


# -- Bluetooth LE ------------------------------------------------------------------


def _gatt(
    line: int,
    operation: str,
    handle: int = 0x0012,
    encrypted: bool = False,
    uuid: str | None = "0000ffe1-0000-1000-8000-00805f9b34fb",
    error: int | None = None,
) -> GattOperation:
    return GattOperation(
        Evidence("ble.jsonl", (line,)),
        TOY_BLE,
        operation,
        handle,
        from_central=operation in ("write", "write-command"),
        uuid=uuid,
        value=b"" if error else b"\x01",
        error_code=error,
        encrypted_link=encrypted,
    )


def test_ble_read_without_pairing_reports_unencrypted_reads() -> None:
    added: list[Added] = [
        (_gatt(2, "read"), []),
        (_gatt(3, "read", handle=0x0016, encrypted=True), []),
        (
            _gatt(
                4, "read", handle=0x0003, uuid="00002a00-0000-1000-8000-00805f9b34fb"
            ),
            [],
        ),
        (_gatt(5, "read", handle=0x0020, uuid=None), []),
    ]

    check = _only(_run(_checks("ble-read-without-pairing"), added))

    assert check.subject == TOY_BLE
    assert check.severity is Severity.MEDIUM
    assert check.explanation == (
        "Without pairing or encryption, the capture read "
        "characteristic 0000ffe1-0000-1000-8000-00805f9b34fb (handle 0x0012) and "
        "the characteristic at handle 0x0020."
    )
    assert check.evidence == (
        Evidence("ble.jsonl", (2,)),
        Evidence("ble.jsonl", (5,)),
    )


def test_ble_write_without_pairing_skips_refused_and_unanswered_writes() -> None:
    added: list[Added] = [
        (_gatt(2, "write", 0x0012), []),  # refused just after
        (_gatt(3, "error", 0x0012, error=5), []),
        (_gatt(4, "write", 0x0014), []),  # accepted
        (_gatt(5, "write-command", 0x0018), []),  # no answer to judge
        (_gatt(6, "write", 0x001A, encrypted=True), []),
    ]

    for order in (added, added[::-1]):
        check = _only(_run(_checks("ble-write-without-pairing"), order))
        assert "(handle 0x0014)" in check.explanation
        assert "0x0012" not in check.explanation
        assert "did not refuse" in check.explanation


def _pairing(line: int, method: PairingMethod, secure: bool) -> BlePairing:
    return BlePairing(
        Evidence("ble.jsonl", (line,)), TOY_BLE, method, secure, False, True
    )


def test_ble_pairing_checks_tell_just_works_from_legacy() -> None:
    checks = _checks("ble-just-works-pairing", "ble-legacy-pairing")

    just_works = _run(checks, [(_pairing(2, PairingMethod.JUST_WORKS, True), [])])
    legacy = _run(checks, [(_pairing(2, PairingMethod.PASSKEY, False), [])])
    good = _run(checks, [(_pairing(2, PairingMethod.NUMERIC_COMPARISON, True), [])])

    assert [check.check for check in just_works] == ["ble-just-works-pairing"]
    assert "just works, LE Secure Connections" in just_works[0].explanation
    assert [check.check for check in legacy] == ["ble-legacy-pairing"]
    assert "passkey entry, LE legacy" in legacy[0].explanation
    assert good == ()


def _advertisement(
    line: int, address: str, kind: BleAddressType, name: str | None = None
) -> BleAdvertisement:
    return BleAdvertisement(Evidence("ble.jsonl", (line,)), address, kind, name)


def test_ble_trackable_address_only_for_devices_shown_to_be_the_toy() -> None:
    neighbour = "11:22:33:44:55:66"
    rotating = "5A:11:22:33:44:55"
    added: list[Added] = [
        (_advertisement(1, TOY_BLE, BleAddressType.PUBLIC), []),
        (_advertisement(2, neighbour, BleAddressType.RANDOM_STATIC), []),
        (_advertisement(3, rotating, BleAddressType.RESOLVABLE_PRIVATE), []),
        (_advertisement(4, TOY_BLE, BleAddressType.PUBLIC), []),
        (BleEncryption(Evidence("ble.jsonl", (9,)), rotating), []),
    ]
    checks = _checks("ble-trackable-address")

    assert _run(checks, added) == ()
    connected = [*added, (_gatt(10, "read"), [])]
    check = _only(_run(checks, connected[::-1]))
    assert (check.subject, check.occurrences) == (TOY_BLE, 2)
    assert check.explanation == (
        "The toy advertised twice with a public address, which stays the "
        "same from day to day."
    )


def _persona_match(observation: Observation, location: str, field: str) -> Match:
    return Match(
        category=NAME,
        rule=f"persona:{field}",
        method=Method.PERSONA,
        location=location,
        decoding=(),
        value="Mirabel",
        confidence=1.0,
        observation=observation,
        recipient=VENDOR,
        persona_field=field,
        form="plain",
    )


def test_ble_trackable_address_confirmed_by_personal_data_in_advertisement() -> None:
    advertisement = _advertisement(1, TOY_BLE, BleAddressType.RANDOM_STATIC, "M")
    match = _persona_match(advertisement, "BLE advertised name", "child.first_name")

    check = _only(_run(_checks("ble-trackable-address"), [(advertisement, [match])]))

    assert "a random static address" in check.explanation


# -- The child's name in broadcast names -------------------------------------------


def test_child_name_broadcast_in_advertisement_dhcp_and_mdns() -> None:
    advertisement = _advertisement(1, TOY_BLE, BleAddressType.PUBLIC, "Mirabel")
    dhcp = DhcpMessage(
        Evidence("traffic.pcap", (2,)),
        Endpoint("0.0.0.0", 68),  # noqa: S104 - a DHCP client has no address yet
        Endpoint("255.255.255.255", 67),
        "02:1a:7d:5e:33:c1",
        1,
        host_name="mirabels-bear",
    )
    mdns = DnsQuery(
        Evidence("traffic.pcap", (3,)),
        Endpoint(TOY.ip, 5353),
        Endpoint("224.0.0.251", 5353),
        "mirabels-bear.local",
        255,
    )
    unicast = DnsQuery(
        Evidence("traffic.pcap", (4,)), TOY, Endpoint("192.168.4.1", 53), "m.x", 1
    )
    added: list[Added] = [
        (
            advertisement,
            [_persona_match(advertisement, "BLE advertised name", "child.first_name")],
        ),
        (dhcp, [_persona_match(dhcp, "DHCP host name", "child.name")]),
        (mdns, [_persona_match(mdns, "DNS name", "child.first_name")]),
        (unicast, [_persona_match(unicast, "DNS name", "child.first_name")]),
    ]

    checks = _run(_checks("child-name-broadcast"), added)

    assert [(check.subject, check.explanation) for check in checks] == [
        (
            "02:1a:7d:5e:33:c1",
            "The child's name was found in DHCP host name (child.name, plain), "
            "which anyone nearby can read.",
        ),
        (
            TOY.ip,
            "The child's name was found in mDNS name (child.first_name, plain), "
            "which anyone nearby can read.",
        ),
        (
            TOY_BLE,
            "The child's name was found in BLE advertised name "
            "(child.first_name, plain), which anyone nearby can read.",
        ),
    ]


def test_child_name_broadcast_ignores_other_fields_and_methods() -> None:
    advertisement = _advertisement(1, TOY_BLE, BleAddressType.PUBLIC, "x")
    email = _persona_match(advertisement, "BLE advertised name", "parent.email")
    pattern = Match(
        NAME, "name-key", Method.KEY, "BLE advertised name", (), "Mirabel", 0.5,
        advertisement, VENDOR,
    )  # fmt: skip

    assert (
        _run(_checks("child-name-broadcast"), [(advertisement, [email, pattern])]) == ()
    )


# -- Checks derived from the data findings -----------------------------------------


def _finding(
    identity: str,
    category: Category,
    transport: Transport,
    frames: tuple[int, ...],
    host: str = VENDOR.host,
) -> Finding:
    detections = tuple(
        Detection(
            Method.PATTERN,
            "rule",
            "query parameter 'x'",
            (),
            "value",
            0.9,
            Evidence("traffic.pcap", (frame,)),
        )
        for frame in frames
    )
    recipient = Recipient(host, Party.FIRST_PARTY, "ToyCo", "")
    return Finding(
        identity,
        category,
        recipient,
        transport,
        Severity.HIGH,
        "",
        detections,
        occurrences=len(frames) + 1,
    )


def test_plaintext_checks_derive_from_findings_by_tier_and_transport() -> None:
    findings = [
        _finding("F-1", NAME, Transport.PLAINTEXT, (30, 10)),
        _finding("F-2", VOICE, Transport.PLAINTEXT, (20,)),
        _finding("F-3", VOICE, Transport.TLS, (5,)),
        _finding("F-4", USAGE, Transport.PLAINTEXT, (6,)),
        _finding("F-5", WIFI, Transport.PLAINTEXT, (40,)),
        _finding("F-6", WIFI, Transport.BLUETOOTH, (2,), host=TOY_BLE),
    ]
    checks = _checks("plaintext-personal-data", "plaintext-credentials")

    results = _run(checks, [], findings)

    assert [(check.check, check.subject) for check in results] == [
        ("plaintext-credentials", TOY_BLE),
        ("plaintext-credentials", VENDOR.host),
        ("plaintext-personal-data", VENDOR.host),
    ]
    data = results[2]
    assert data.findings == ("F-1", "F-2")
    assert data.explanation == (
        "Sent without encryption: your child's voice (tier 1); "
        "your child's name (tier 2)."
    )
    assert [evidence.packets for evidence in data.evidence] == [(10,), (20,), (30,)]
    assert data.occurrences == 5
    assert results[1].severity is Severity.CRITICAL
    assert results[1].explanation == (
        "Sent without encryption: your home Wi-Fi password (tier S)."
    )


# -- Merging and the shipped rules -------------------------------------------------


def _mixed_traffic() -> list[Added]:
    added: list[Added] = []
    for number in range(30):
        client = Endpoint(TOY.ip, 40000 + number)
        added.append((_hello(2 * number + 1, (0x0302, 0x0301), client=client), []))
        added.append((_server_hello(2 * number + 2, 0x0301, client=client), []))
        verdict = [InterceptionVerdict.ACCEPTED, InterceptionVerdict.REJECTED][
            number % 2
        ]
        host = f"h{number % 4}.toy.example"
        added.append((_verdict(number + 1, verdict, host, f"note {number}"), []))
    return added


def test_checker_tallies_merge_exactly() -> None:
    checks = _checks(*RULES)
    added = _mixed_traffic()
    rank = {name: position for position, name in enumerate(FILES)}
    expected = _run(checks, added)

    for parts in (2, 3):
        merged = CheckTally()
        # Whole connections per part: a ServerHello is named by its ClientHello.
        connections = [added[start : start + 3] for start in range(0, len(added), 3)]
        for index in range(parts):
            part = CheckTally()
            checker = Checker(checks, rank)
            for connection in connections[index::parts]:
                for observation, matches in connection:
                    order = evidence_order(observation.evidence, rank)
                    checker.add(observation, matches, order, part)
            merged.merge(part)
        assert Checker(checks, rank).finish(merged, ()) == expected
    offered = next(c for c in expected if c.check == "tls-old-version-offered")
    assert len(offered.evidence) == EVIDENCE_PER_CHECK
    assert offered.occurrences == 30
    verdicts = {
        (check.check, check.subject)
        for check in expected
        if check.check.startswith("tls-interception")
    }
    assert verdicts == {
        ("tls-interception-accepted", "h0.toy.example"),
        ("tls-interception-accepted", "h2.toy.example"),
        ("tls-interception-rejected", "h1.toy.example"),
        ("tls-interception-rejected", "h3.toy.example"),
    }


def test_check_details_are_capped_the_same_way_in_any_order() -> None:
    added: list[Added] = [
        (_verdict(n, InterceptionVerdict.ACCEPTED, "api.toy.example", f"n{n:02d}"), [])
        for n in range(DETAILS_PER_CHECK + 5)
    ]
    checks = _checks(*INTERCEPTION)

    forward = _only(_run(checks, added))

    assert forward == _only(_run(checks, added[::-1]))
    assert forward.explanation.endswith(", n11 and others.")


def test_assessor_runs_checks_next_to_findings(severity_rules: SeverityRules) -> None:
    assessor = Assessor(severity_rules, FILES, _checks("tls-old-version-offered"))
    hello = _hello(4, versions=(0x0301,))
    assessor.add(hello, VENDOR, [])
    session = Session(
        path=Path("s"),
        name="s",
        toy=Toy("Bear"),
        first_party_domains=(),
        captured_at=None,
        captured_by="",
        phases=(),
        persona=(),
        evidence=FILES,
        manifest_sha256="0" * 64,
    )
    assessment = assessor.finish(session, RunInfo("0", "1" * 64, "0" * 64), Coverage())

    assert [check.check for check in assessment.checks] == ["tls-old-version-offered"]


@pytest.fixture(scope="module")
def severity_rules() -> SeverityRules:
    return load_rules([default_rules_dir()]).severity


def test_shipped_rules_configure_every_implemented_check() -> None:
    rules = load_rules([default_rules_dir()])

    checks = build_checks(rules.checks.values())

    assert sorted(check.id for check in checks.checks) == sorted(IMPLEMENTATIONS)
    for check in checks.checks:
        rule = rules.checks[check.id]
        assert rule.title and rule.regulations, check.id
