"""The records of a capture session: the toy, its phases, the persona, the session.

A :class:`Session` is what the rest of the pipeline knows of a session folder
(or of capture files audited without one): where its evidence is, what toy it
describes, who the vendor is, and the fake child profile to search for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

SESSION_FILE = "session.yaml"
PERSONA_FILE = "persona.yaml"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
METADATA_FILES = (SESSION_FILE, PERSONA_FILE, MANIFEST_FILE)
"""Files of a session folder that describe it rather than hold evidence."""

PERSONA_FIELDS = (
    "child.name",
    "child.first_name",
    "child.birthdate",
    "child.school",
    "sibling.name",
    "sibling.first_name",
    "parent.name",
    "parent.email",
    "parent.phone",
    "home.address",
    "home.coordinates",
    "wifi.ssid",
    "wifi.password",
    "toy.serial",
    "toy.mac",
    "phone.advertising_id",
)
"""Dotted names of the persona values toyaudit knows how to search for."""


@dataclass(frozen=True, slots=True)
class Toy:
    """The toy a session audits, as described in ``session.yaml``."""

    name: str
    vendor: str = ""
    model: str = ""
    firmware: str = ""


@dataclass(frozen=True, slots=True)
class Phase:
    """A named stretch of the capture, such as setup, play or idle."""

    name: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True, slots=True)
class PersonaValue:
    """One value of the fake child profile, such as ``child.name``."""

    field: str
    """Dotted persona field name, one of :data:`PERSONA_FIELDS`."""
    value: str
    """The value as the parent typed it; coordinates as ``"lat,lon"``."""


@dataclass(frozen=True, slots=True)
class Session:
    """A verified session folder, ready to be audited."""

    path: Path
    name: str
    """Folder name; reports go to ``reports/<name>/`` by default."""
    toy: Toy
    first_party_domains: tuple[str, ...]
    """The vendor's own domains; their subdomains count as first party too."""
    captured_at: dt.datetime | None
    captured_by: str
    phases: tuple[Phase, ...]
    persona: tuple[PersonaValue, ...]
    evidence: tuple[str, ...]
    """Evidence file names (relative to ``path``), in the order they are read."""
    manifest_sha256: str
    """SHA-256 of ``manifest.json`` as stored: one digest that pins every file."""
    notes: tuple[str, ...] = field(default=())
    """Things the reader defaulted or noticed, to be repeated in the report."""
    sealed: bool = True
    """False for capture files audited without a session folder and manifest."""
