"""The records classification produces: categories, recipients and matches.

A :class:`Match` says that one piece of one observation is personal data of a
given :class:`Category`, how that was decided (a persona value, a value
pattern, a key name, the content itself) and through which decoding steps, and
who received it (:class:`Recipient`). Assessment later groups matches into
findings; nothing here decides severity.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from toyaudit.ingest.records import Observation


class Tier(StrEnum):
    """Sensitivity tiers of children's data (docs/rules.md)."""

    MOST_SENSITIVE = "1"
    """Voice, images, precise location, chat."""
    IDENTIFYING = "2"
    """Direct identifiers: name, birthdate, email, phone, address, school."""
    TRACKING = "3"
    """Persistent identifiers: device ids, MAC, advertising ids, tokens."""
    TELEMETRY = "4"
    """Usage telemetry."""
    SECRET = "S"  # noqa: S105 - a tier name, not a password
    """Credentials and keys."""


class Party(StrEnum):
    """Who a recipient is, relative to the toy's vendor."""

    FIRST_PARTY = "first party"
    """The vendor's own service, from ``session.yaml``."""
    PROCESSOR = "processor"
    """A known service working for the vendor: cloud, CDN, speech, push."""
    TRACKER = "tracker"
    """A known advertising, analytics or tracking company."""
    UNKNOWN = "unknown"
    """A third party toyaudit does not know."""


class Method(StrEnum):
    """How a piece of personal data was recognised, strongest first."""

    PERSONA = "persona"
    """A value of the fake child profile was found, possibly encoded or hashed."""
    PATTERN = "pattern"
    """A value matched a detector's pattern and passed its validator."""
    KEY = "key"
    """The field's name says what it holds (e.g. ``child_name``)."""
    CONTENT = "content"
    """The content type or magic bytes say what a body is (e.g. audio)."""


@dataclass(frozen=True, slots=True)
class Category:
    """A kind of personal data, with its tier and the words parents read."""

    id: str
    """Stable rule id, e.g. ``child-name``."""
    tier: Tier
    label: str
    """Plain-language label for parents, e.g. "your child's name"."""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who received an observation: host, party, owner and purpose."""

    host: str
    """Host name (from HTTP Host, TLS SNI or DNS), or the server IP if none."""
    party: Party
    owner: str
    """Company behind the host, or "" when unknown."""
    purpose: str
    """What the service is for (analytics, advertising, speech processing, ...)."""


@dataclass(frozen=True, slots=True)
class Match:
    """One piece of personal data found in one observation."""

    category: Category
    rule: str
    """Id of the detector that matched, or ``persona:<field>`` for persona hits."""
    method: Method
    location: str
    """Where in the observation, e.g. "query parameter 'name'" or "request body"."""
    decoding: tuple[str, ...]
    """Decoding steps applied before the match, outermost first (e.g. json, base64)."""
    value: str
    """The matched value as found; reports redact it unless asked not to."""
    confidence: float
    """0..1; persona hits are 1.0."""
    observation: Observation
    recipient: Recipient
    persona_field: str | None = None
    """Persona field matched, e.g. ``child.name``, for persona hits."""
    form: str | None = None
    """Which form of the persona value matched (plain, base64, sha256, ...)."""
    count: int = 1
    """How many places of the observation hold this same value under the same
    name (the device id in each of 80 events of one batch); ``location`` is
    the first of them. For a hit by name alone (:attr:`Method.KEY`), how many
    places hold any value under that name, list indices aside (the battery
    level in each of 80 events); ``value`` is the first place's."""
