"""Did the toy trust a certificate it had no reason to trust?

The live capture intercepts the toy's TLS connections with its own
certificate and writes what the toy did into ``tls-verdicts.jsonl``
(:mod:`toyaudit.ingest.verdicts`). A toy that completes the handshake and
sends data does not check certificates: anyone on its network can read and
change everything it sends (ETSI EN 303 645 provision 5.5-1). A toy that
refuses is doing the right thing, which parents may like to hear.

Per host, the first check reports connections the toy accepted, the second
those it rejected, unless the same host also accepted one: a reassurance
that is only half true is left out. "silent" and "aborted" verdicts prove
nothing either way and are not reported.
"""

from __future__ import annotations

from toyaudit.assess.checks.base import Observed, SecurityCheck, listing, plural
from toyaudit.assess.checks.rule import CheckRule
from toyaudit.assess.tally import CheckTally, FailureTally
from toyaudit.ingest.records import InterceptionVerdict, TlsVerdict

MAX_DETAIL = 160
"""Characters of the capture's own words kept per verdict."""


class InterceptionCheck(SecurityCheck):
    """Hosts whose connections got one verdict (``accepted`` or ``rejected``)."""

    kinds = (TlsVerdict,)

    def __init__(self, rule: CheckRule, verdict: InterceptionVerdict) -> None:
        super().__init__(rule)
        self.verdict = verdict

    def observe(self, observed: Observed, tally: CheckTally) -> None:
        """Record the verdict if it is this check's; an acceptance cancels praise."""
        verdict = observed.observation
        if not isinstance(verdict, TlsVerdict):
            return
        key = (self.id, observed.host, "")
        if verdict.verdict is self.verdict:
            detail = verdict.detail.strip()[:MAX_DETAIL]
            tally.fail(
                key, verdict.evidence, observed.order, [detail] if detail else []
            )
        elif verdict.verdict is InterceptionVerdict.ACCEPTED:
            tally.cancel(key)

    def explain(self, failure: FailureTally) -> str:
        """How many connections, and what the capture said about them."""
        connections = plural(failure.occurrences, "connection")
        if self.verdict is InterceptionVerdict.ACCEPTED:
            them = "it" if failure.occurrences == 1 else "them"
            said = (
                f"The toy completed {connections} through toyaudit's untrusted test "
                f"certificate and sent data over {them}."
            )
        else:
            said = (
                f"The toy refused toyaudit's untrusted test certificate on "
                f"{connections}."
            )
        if failure.details:
            said += f" The capture noted: {listing(failure)}."
        return said
