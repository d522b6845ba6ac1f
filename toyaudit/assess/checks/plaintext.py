"""Personal data or credentials sent where anyone on the way can read them.

These checks derive from the data findings, which already say how each
category travelled: a finding whose transport is readable on the path
(plain HTTP, MQTT, raw TCP or UDP, DNS names, or an unencrypted Bluetooth
link) and whose category is of a listed tier is a failure for its
recipient. One check lists personal data (ETSI EN 303 645 provisions 5.8-1
and 5.8-2), another passwords and keys (provision 5.5-7); each points at
the evidence of the findings it rests on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from toyaudit.assess.checks.base import SecurityCheck
from toyaudit.assess.checks.rule import CheckRule, Parameters
from toyaudit.assess.records import Finding
from toyaudit.assess.tally import FailureTally, evidence_order
from toyaudit.classify.records import Tier
from toyaudit.ingest.records import Transport

_TRANSPORTS = tuple(
    transport.value for transport in Transport if transport.readable_on_path
)


class PlaintextDataCheck(SecurityCheck):
    """Categories of the listed ``tiers`` sent over a listed transport.

    Parameters: ``tiers``, the tiers that count (``"1"`` to ``"4"``, ``"S"``);
    ``transports``, from ``plaintext`` and ``bluetooth`` (an unencrypted link).
    """

    derived = True

    def __init__(self, rule: CheckRule) -> None:
        super().__init__(rule)
        parameters = Parameters(rule)
        tiers = [tier.value for tier in Tier]
        self.tiers = frozenset(
            Tier(tier) for tier in parameters.texts("tiers", "tiers: ['1']", tiers)
        )
        example = "transports: [plaintext, bluetooth]"
        self.transports = frozenset(
            Transport(transport)
            for transport in parameters.texts("transports", example, _TRANSPORTS)
        )

    def derive(
        self, findings: Sequence[Finding], file_rank: Mapping[str, int]
    ) -> dict[str, FailureTally]:
        """One failure per recipient of listed data over a listed transport."""
        failures: dict[str, FailureTally] = {}
        for finding in findings:
            category = finding.category
            if category.tier not in self.tiers:
                continue
            if finding.transport not in self.transports:
                continue
            failure = failures.setdefault(finding.recipient.host, FailureTally())
            failure.occurrences += max(finding.occurrences, len(finding.detections))
            failure.findings.add(finding.id)
            detail = f"{_TIER_ORDER[category.tier]}{_SEPARATOR}{category.label}"
            for evidence in finding.evidence:
                failure.keep(evidence, evidence_order(evidence, file_rank), [detail])
        return failures

    def explain(self, failure: FailureTally) -> str:
        """Which kinds of data, grouped by tier, most sensitive first."""
        by_tier: dict[str, list[str]] = {}
        for detail in sorted(failure.details):
            rank, _, label = detail.partition(_SEPARATOR)
            tier = list(Tier)[int(rank)].value
            by_tier.setdefault(tier, []).append(label)
        groups = [f"{_and(labels)} (tier {tier})" for tier, labels in by_tier.items()]
        if failure.more_details:
            groups.append("others")
        return f"Sent without encryption: {'; '.join(groups)}."


_TIER_ORDER = {tier: str(rank) for rank, tier in enumerate(Tier)}
"""Tiers as sortable prefixes of a detail, most sensitive first."""
_SEPARATOR = "\t"


def _and(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " and " + labels[-1]
