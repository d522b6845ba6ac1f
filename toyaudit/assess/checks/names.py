"""Does the toy broadcast the child's name for anyone nearby to read?

A name a device gives itself travels to everyone in radio range or on the
local network, without encryption and without anyone asking: the Bluetooth
LE local name in advertisements, the host name in DHCP (option 12), and the
names an mDNS probe or query carries. GDPR Article 25(2) asks that personal
data not be made accessible to an indefinite number of people by default.

The check does no searching of its own: classification already looks for
every form of the persona's values in these fields (docs/rules.md), so a
persona hit of a listed field in a message of a listed place is a failure;
the detail names the field it was in (an advertisement's manufacturer data
and a DHCP vendor class are broadcast too).
"""

from __future__ import annotations

from toyaudit.assess.checks.base import Observed, SecurityCheck, listing
from toyaudit.assess.checks.rule import CheckRule, Parameters
from toyaudit.assess.tally import CheckTally, FailureTally
from toyaudit.classify.records import Match, Method
from toyaudit.ingest.records import (
    BleAdvertisement,
    DhcpMessage,
    DnsQuery,
    Observation,
)
from toyaudit.session import PERSONA_FIELDS

MDNS_PORT = 5353
"""Multicast DNS's port (RFC 6762 section 3); other DNS names are looked up,
not broadcast, and are covered by the data findings instead."""

_PLACES = ("BLE advertised name", "DHCP host name", "mDNS name")
"""Where classification reports a broadcast name (``Match.location``); mDNS
names are reported there as "DNS name" and told apart by port."""


class BroadcastNameCheck(SecurityCheck):
    """Persona values (the child's name) found in names the toy broadcasts.

    Parameters: ``persona_fields``, the persona fields that count (e.g.
    ``child.name``, ``child.first_name``); ``places``, where a name counts as
    broadcast, from ``BLE advertised name``, ``DHCP host name``, ``mDNS name``.
    """

    kinds = (BleAdvertisement, DhcpMessage, DnsQuery)

    def __init__(self, rule: CheckRule) -> None:
        super().__init__(rule)
        parameters = Parameters(rule)
        self.fields = frozenset(
            parameters.texts(
                "persona_fields", "persona_fields: [child.name]", PERSONA_FIELDS
            )
        )
        self.places = frozenset(
            parameters.texts("places", "places: [BLE advertised name]", _PLACES)
        )

    def observe(self, observed: Observed, tally: CheckTally) -> None:
        """Record each listed persona field found in a listed broadcast name."""
        observation = observed.observation
        place = _place(observation)
        if place not in self.places:
            return
        found = {
            f"{_PLACES[2] if place == _PLACES[2] else match.location} "
            f"({match.persona_field}, {match.form or 'plain'})"
            for match in observed.matches
            if _counts(match, self.fields)
        }
        if found:
            key = (self.id, _broadcaster(observation), "")
            tally.fail(key, observation.evidence, observed.order, found)

    def explain(self, failure: FailureTally) -> str:
        """Where the name was found, and in which form."""
        return (
            f"The child's name was found in {listing(failure)}, which anyone "
            "nearby can read."
        )


def _counts(match: Match, fields: frozenset[str]) -> bool:
    return match.method is Method.PERSONA and match.persona_field in fields


def _place(observation: Observation) -> str | None:
    match observation:
        case BleAdvertisement():
            return _PLACES[0]
        case DhcpMessage():
            return _PLACES[1]
        case DnsQuery() if observation.server.port == MDNS_PORT:
            return _PLACES[2]
        case _:
            return None


def _broadcaster(observation: Observation) -> str:
    """Who sent the name: the advertiser's address, the DHCP client's MAC or IP."""
    match observation:
        case BleAdvertisement():
            return observation.address
        case DhcpMessage():
            return observation.client_mac
        case DnsQuery():
            return observation.client.ip
        case _:
            return ""
