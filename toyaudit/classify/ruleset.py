"""The records a rule load produces: the rule set and its severity matrix.

Kept apart from the loader so that the builder that fills them and the
public ``load_rules`` can both import them without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from toyaudit.classify.checks import Check
from toyaudit.classify.decoders import DecodingRules
from toyaudit.classify.detectors import Detector
from toyaudit.classify.recipients import RecipientRule
from toyaudit.classify.records import Category, Party, Tier

SEVERITIES = ("info", "low", "medium", "high", "critical")
"""Severity names the matrix may use, lowest first."""
TIERS = tuple(tier.value for tier in Tier)
PARTIES = tuple(party.value for party in Party)


class PhaseReach(StrEnum):
    """Which data a weighing capture phase covers, by when it was sent."""

    DURING = "during"
    """Data sent while the phase lasted."""
    UNTIL_END = "until-end"
    """Data sent before the phase ended, also before it began: "before setup
    was finished"."""
    FROM_START = "from-start"
    """Data sent once the phase began, also in later phases: "after the
    parent opted out"."""


@dataclass(frozen=True, slots=True)
class PhaseRule:
    """How much data sent in (or around) one named capture phase weighs more."""

    name: str
    """The phase name as :func:`phase_key` writes it, e.g. ``after-opt-out``."""
    steps: int
    """Severity levels added, 0 to 4; critical stays critical."""
    reach: PhaseReach
    label: str
    """Completes "sent ..." for parents, e.g. "before setup was finished"."""


def phase_key(name: str) -> str:
    """A phase name as rules and sessions match it: lower case, words joined by -.

    ``After opt-out``, ``after_opt_out`` and ``after-opt-out`` are one phase.
    """
    return "-".join(name.lower().replace("_", " ").replace("-", " ").split())


@dataclass(frozen=True, slots=True)
class SeverityRules:
    """The default severity matrix (research D3) and the phase adjustment."""

    over_tls: Mapping[tuple[Tier, Party], str]
    """Severity of data sent inside TLS, by tier and recipient party."""
    plaintext: Mapping[Tier, str]
    """Severity of data sent in plaintext to anyone; the higher of the two applies."""
    phases: Mapping[str, PhaseRule] = field(default_factory=dict)
    """Capture phases in which data weighs more, by :func:`phase_key`."""


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Every rule of a run, validated, compiled and pinned by a digest."""

    categories: Mapping[str, Category]
    severity: SeverityRules
    sha256: str
    """SHA-256 over every rule file's relative path and bytes, in load order."""
    files: tuple[Path, ...]
    detectors: tuple[Detector, ...]
    persona: Mapping[str, str]
    """Persona field (``child.name``) to category id."""
    recipients: tuple[RecipientRule, ...]
    decoding: DecodingRules
    legal: Mapping[str, tuple[str, ...]]
    """Category id to the legal provisions that make it personal data."""
    checks: Mapping[str, Check]
    """Check rules by id, in load order; assessment runs the code for each."""
