"""Decide how much a finding matters: tier x recipient x transport.

The numbers live in ``rules/severity.yaml``, not here (docs/rules.md explains
them): one table gives the severity of each tier sent inside TLS to each kind
of recipient, and a second gives the floor for each tier sent in plaintext,
since anyone on the path reads plaintext, whoever the recipient is.
"""

from __future__ import annotations

from toyaudit.assess.records import Severity
from toyaudit.classify import SeverityRules
from toyaudit.classify.records import Party, Tier
from toyaudit.ingest.records import Transport

_PARTY_WORDS = {
    Party.FIRST_PARTY: "the toy's vendor",
    Party.PROCESSOR: "a service provider",
    Party.TRACKER: "an advertising or analytics company",
    Party.UNKNOWN: "an unknown third party",
}


def rate(
    tier: Tier, party: Party, transport: Transport, rules: SeverityRules
) -> tuple[Severity, str]:
    """Return the severity of tier-``tier`` data sent to ``party`` over ``transport``.

    The second value explains the decision in plain words for the report.
    """
    severity = Severity(rules.over_tls[(tier, party)])
    reason = f"tier {tier.value} data sent to {_PARTY_WORDS[party]}"
    if transport.readable_on_path:
        floor = Severity(rules.plaintext[tier])
        reason += " without encryption"
        if floor.rank > severity.rank:
            severity = floor
            reason += " (plaintext raises it)"
    return severity, reason
