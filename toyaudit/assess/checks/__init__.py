"""Security checks: properties of the traffic, not kinds of data.

Each check is configured by a rule of the ``checks:`` kind (rules/checks.yaml,
docs/rules.md) whose id names the code here that runs it: plaintext personal
data and credentials (:mod:`.plaintext`), old TLS versions and weak cipher
suites (:mod:`.tls`), the toy's answer to an untrusted certificate
(:mod:`.interception`), open characteristics, weak pairing and a trackable
address over Bluetooth LE (:mod:`.bluetooth`), and the child's name in a
broadcast name (:mod:`.names`).

The assessor feeds every observation to a :class:`Checker`, which records
failures in a tally that merges exactly between shards
(:class:`~toyaudit.assess.tally.CheckTally`); :meth:`Checker.finish` turns
them into :class:`~toyaudit.assess.records.CheckFinding` records.
"""

from toyaudit.assess.checks.checker import (
    IMPLEMENTATIONS,
    Checker,
    SecurityChecks,
    build_checks,
    check_order,
)
from toyaudit.assess.checks.rule import CheckRule

__all__ = [
    "IMPLEMENTATIONS",
    "CheckRule",
    "Checker",
    "SecurityChecks",
    "build_checks",
    "check_order",
]
