"""The records a rule load produces: the rule set and its severity matrix.

Kept apart from the loader so that the builder that fills them and the
public ``load_rules`` can both import them without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from toyaudit.classify.decoders import DecodingRules
from toyaudit.classify.detectors import Detector
from toyaudit.classify.recipients import RecipientRule
from toyaudit.classify.records import Category, Party, Tier

SEVERITIES = ("info", "low", "medium", "high", "critical")
"""Severity names the matrix may use, lowest first."""
TIERS = tuple(tier.value for tier in Tier)
PARTIES = tuple(party.value for party in Party)


@dataclass(frozen=True, slots=True)
class SeverityRules:
    """The default severity matrix (research D3), before assessment modifiers."""

    over_tls: Mapping[tuple[Tier, Party], str]
    """Severity of data sent inside TLS, by tier and recipient party."""
    plaintext: Mapping[Tier, str]
    """Severity of data sent in plaintext to anyone; the higher of the two applies."""


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
    provisions: Mapping[str, tuple[str, ...]]
    """Category id to the legal definitions that make it personal data."""
