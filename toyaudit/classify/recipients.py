"""Decide who receives an observation: the vendor, a known service, or unknown.

The vendor's own domains come from ``session.yaml`` (``first_party_domains``)
and cover their subdomains. Known services come from ``recipients:`` in the
rules: each entry names a domain (a suffix, so ``sentry.io`` also covers
``o1.ingest.sentry.io``; ``*.example.com`` covers subdomains only), its owner,
its purpose and whether it is a tracker or a processor. The longest matching
domain wins, so ``s3.amazonaws.com`` can say more than ``amazonaws.com``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from toyaudit.classify.records import Party, Recipient
from toyaudit.session import Session

logger = logging.getLogger(__name__)

PURPOSES = (
    "advertising",
    "analytics",
    "crash reporting",
    "push notifications",
    "speech processing",
    "AI processing",
    "cloud storage",
    "cloud hosting",
    "CDN",
)
"""Purposes a recipient rule may state; the report explains each to parents."""

FIRST_PARTY_PURPOSE = "the vendor's own service"
UNKNOWN_PURPOSE = "unknown"


@dataclass(frozen=True, slots=True)
class RecipientRule:
    """A known third-party service, from ``recipients:`` in the rules."""

    domain: str
    """Domain as written: ``example.com`` (it and subdomains) or ``*.example.com``."""
    owner: str
    purpose: str
    party: Party
    """``tracker`` or ``processor``; never first party or unknown."""
    service: str = ""
    """Product name when it says more than the owner (e.g. Firebase Analytics)."""

    @property
    def suffix(self) -> str:
        """The domain without a leading ``*.``."""
        return self.domain.removeprefix("*.")

    def covers(self, host: str) -> bool:
        """Whether ``host`` (lower-case, no trailing dot) falls under this rule."""
        if self.domain.startswith("*."):
            return host.endswith("." + self.suffix)
        return host == self.domain or host.endswith("." + self.domain)


class RecipientResolver:
    """Maps host names to recipients for one session, caching answers."""

    def __init__(self, rules: Sequence[RecipientRule], session: Session) -> None:
        self._rules = sorted(rules, key=lambda rule: (-len(rule.suffix), rule.domain))
        self._first_party = tuple(
            domain.lower().strip(".") for domain in session.first_party_domains
        )
        self._vendor = session.toy.vendor
        self.resolve = lru_cache(maxsize=4096)(self._resolve)

    def _resolve(self, host: str) -> Recipient:
        name = host.strip().lower().rstrip(".")
        for domain in self._first_party:
            if name == domain or name.endswith("." + domain):
                return Recipient(
                    name, Party.FIRST_PARTY, self._vendor, FIRST_PARTY_PURPOSE
                )
        for rule in self._rules:
            if rule.covers(name):
                logger.debug("recipient %s matched rule %s", name, rule.domain)
                return Recipient(name, rule.party, rule.owner, rule.purpose)
        return Recipient(name, Party.UNKNOWN, "", UNKNOWN_PURPOSE)
