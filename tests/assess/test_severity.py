"""Tests of severity: the matrix, the plaintext floor and the capture phases."""

from __future__ import annotations

import datetime as dt

import pytest

from toyaudit.assess.records import Severity
from toyaudit.assess.severity import PhaseClock, PhaseMark, rate
from toyaudit.classify import SeverityRules, default_rules_dir, load_rules
from toyaudit.classify.records import Party, Tier
from toyaudit.classify.ruleset import PhaseReach, PhaseRule
from toyaudit.ingest.records import Evidence, Transport
from toyaudit.session import Phase

START = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
SETUP_ENDS = START.timestamp() + 300
PHASES = (
    Phase("Setup", START, START + dt.timedelta(minutes=5)),
    Phase("play", START + dt.timedelta(minutes=5), START + dt.timedelta(minutes=10)),
    Phase(
        "after_opt_out",
        START + dt.timedelta(minutes=10),
        START + dt.timedelta(minutes=15),
    ),
    Phase("play", START + dt.timedelta(minutes=15), START + dt.timedelta(minutes=20)),
)
"""Set up, play, opt out, play again: names written the way people do."""
EVIDENCE = Evidence("traffic.pcap", (48, 50), time=SETUP_ENDS - 60)


@pytest.fixture(scope="module")
def severity_rules() -> SeverityRules:
    return load_rules([default_rules_dir()]).severity


@pytest.fixture(scope="module")
def clock(severity_rules: SeverityRules) -> PhaseClock:
    return PhaseClock(PHASES, severity_rules.phases)


def _at(minutes: float) -> float:
    return START.timestamp() + minutes * 60


def _mark(clock: PhaseClock, minutes: float) -> PhaseMark:
    evidence = Evidence("traffic.pcap", (48, 50), time=_at(minutes))
    mark = clock.mark(evidence, (0,))
    assert mark is not None
    return mark


def test_severity_shipped_rules_weigh_setup_and_opt_out(
    severity_rules: SeverityRules,
) -> None:
    phases = severity_rules.phases

    assert phases["setup"].reach is PhaseReach.UNTIL_END
    assert phases["after-opt-out"].reach is PhaseReach.FROM_START
    assert "play" not in phases and "idle" not in phases
    assert all(rule.steps == 1 for rule in phases.values())


def test_phase_clock_places_times_in_the_declared_phases(clock: PhaseClock) -> None:
    assert clock.phase_of(_at(1)) == "Setup"
    assert clock.phase_of(_at(5)) == "play"  # a phase ends where the next begins
    assert clock.phase_of(_at(12)) == "after_opt_out"
    assert clock.phase_of(_at(-1)) is None
    assert clock.phase_of(_at(25)) is None
    assert clock.phase_of(None) is None


def test_phase_clock_weighs_data_before_setup_was_finished(clock: PhaseClock) -> None:
    before_capture, during = clock.weigh(_at(-3)), clock.weigh(_at(4.9))

    assert before_capture is not None and during is not None
    assert (before_capture.phase, before_capture.steps) == ("Setup", 1)
    assert during.label == "before setup was finished"
    assert clock.weigh(_at(6)) is None


def test_phase_clock_weighs_everything_after_an_opt_out(clock: PhaseClock) -> None:
    in_opt_out, playing_again = clock.weigh(_at(11)), clock.weigh(_at(30))

    assert in_opt_out is not None and in_opt_out.phase == "after_opt_out"
    assert playing_again is not None and playing_again.label == "after you opted out"
    assert clock.weigh(None) is None


def test_phase_clock_largest_raise_wins_then_first_phase() -> None:
    rules = {
        "setup": PhaseRule("setup", 1, PhaseReach.UNTIL_END, "before setup"),
        "play": PhaseRule("play", 0, PhaseReach.FROM_START, "in play"),
        "after-opt-out": PhaseRule("after-opt-out", 3, PhaseReach.DURING, "opted"),
    }
    clock = PhaseClock(PHASES, rules)

    weight = clock.weigh(_at(12))

    assert weight is not None and (weight.phase, weight.steps) == ("after_opt_out", 3)
    assert clock.weigh(_at(16)) is None  # during ends with the phase; 0 weighs nothing


def test_phase_clock_without_phases_weighs_nothing(
    severity_rules: SeverityRules,
) -> None:
    clock = PhaseClock((), severity_rules.phases)

    assert clock.weigh(_at(1)) is None and clock.phase_of(_at(1)) is None


def test_rate_phase_raises_one_level_and_says_why(
    severity_rules: SeverityRules, clock: PhaseClock
) -> None:
    severity, reason = rate(
        Tier.IDENTIFYING,
        Party.FIRST_PARTY,
        Transport.PLAINTEXT,
        severity_rules,
        _mark(clock, 2),
    )

    assert severity is Severity.CRITICAL  # low, plaintext floor high, setup +1
    assert reason == (
        "tier 2 data sent to the toy's vendor without encryption (plaintext "
        "raises it); raised one level: sent before setup was finished "
        "(traffic.pcap frames 48, 50)"
    )


def test_rate_phase_never_passes_critical(
    severity_rules: SeverityRules, clock: PhaseClock
) -> None:
    severity, reason = rate(
        Tier.MOST_SENSITIVE,
        Party.TRACKER,
        Transport.TLS,
        severity_rules,
        _mark(clock, 11),
    )

    assert severity is Severity.CRITICAL
    assert reason.endswith(
        "sent after you opted out (traffic.pcap frames 48, 50), "
        "already the highest level"
    )


def test_rate_phase_raise_comes_from_the_rules(severity_rules: SeverityRules) -> None:
    rules = {"setup": PhaseRule("setup", 2, PhaseReach.DURING, "during setup")}
    mark = PhaseClock(PHASES, rules).mark(EVIDENCE, (0,))

    severity, reason = rate(
        Tier.TELEMETRY, Party.FIRST_PARTY, Transport.TLS, severity_rules, mark
    )

    assert severity is Severity.MEDIUM  # info + 2
    assert "raised two levels: sent during setup" in reason
