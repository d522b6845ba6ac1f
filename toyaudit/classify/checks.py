"""Check rules: security and privacy properties of the traffic, as rules describe them.

A check is a property rather than a kind of data: "the toy negotiated TLS
older than 1.2", "a BLE characteristic can be written without pairing". Its
rule (``checks:`` in any rule file, docs/rules.md) names it, says in parents'
words what a failure means, how severe it is, which evidence it reads, which
regulations a failure may implicate, and carries free-form parameters (a
minimum TLS version, a list of weak cipher suites). The check itself is code
in :mod:`toyaudit.assess`, which finds its rule by id in ``RuleSet.checks``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from toyaudit.classify.yamlsource import LocatedList, LocatedMapping

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Check:
    """One check rule, validated; what the check does is assessment's code."""

    id: str
    """Stable rule id, e.g. ``tls-legacy-version``; assessment finds it by id."""
    title: str
    """What a failure means, in parents' words."""
    severity: str
    """info, low, medium, high or critical."""
    source: str
    """``file:line`` where the rule starts, for messages."""
    description: str = ""
    """What is tested, for the report's technical appendix."""
    needs: tuple[str, ...] = ()
    """Evidence the check reads, e.g. ``tls-server-hello``."""
    regulations: tuple[str, ...] = ()
    """Provisions a failure may implicate, e.g. "GDPR Art. 32"."""
    parameters: Mapping[str, object] = field(default_factory=dict)
    """Settings for the check's code, as written: text, numbers, lists, mappings."""


def plain_mapping(mapping: LocatedMapping) -> dict[str, object]:
    """A YAML mapping without line bookkeeping: plain dicts and lists all the way down.

    Check parameters leave the loader this way, so they compare, print and
    pickle (for worker processes) like any other dict.
    """
    return {key: _plain(item) for key, item in mapping.items()}


def _plain(value: object) -> object:
    if isinstance(value, LocatedMapping):
        return plain_mapping(value)
    if isinstance(value, LocatedList):
        return [_plain(item) for item in value]
    return value
