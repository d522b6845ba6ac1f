"""What every fictional toy of the corpus shares: its profile and a capture context.

A toy module builds its traffic with a :class:`ToyCapture`: it asks for a
message id for each message it sends, writes the message with planted values
(:class:`Seed` leaves in JSON documents, query strings, forms and headers,
rendered by :func:`render_json` and :func:`render_pairs`), and records each
planted value in the session's :class:`~.labels.LabelBook` with its place.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from benchmarks.corpus.book import LabelBook, Wire
from benchmarks.corpus.encode import compact_json, form, plain
from benchmarks.corpus.family import Family
from benchmarks.corpus.network import PacketCapture

START = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
"""When every capture of the corpus begins."""


@dataclass(frozen=True, slots=True)
class ToyProfile:
    """A fictional toy: its names, its vendor's domain and its identifiers."""

    slug: str
    """Session folder name and label id prefix."""
    name: str
    vendor: str
    model: str
    firmware: str
    domain: str
    """The vendor's own domain (first party)."""
    serial: str
    mac: str

    def session_document(self) -> dict[str, Any]:
        """``session.yaml`` for this toy's capture (docs/session-format.md)."""
        day = START.strftime("%Y-%m-%d")
        return {
            "toy": {
                "name": self.name,
                "vendor": self.vendor,
                "model": self.model,
                "firmware": self.firmware,
            },
            "first_party_domains": [self.domain],
            "captured": {"at": f"{day}T10:00:00Z", "by": "benchmarks.corpus"},
            "phases": [
                {
                    "name": "setup",
                    "start": f"{day}T10:00:00Z",
                    "end": f"{day}T10:10:00Z",
                },
                {
                    "name": "play",
                    "start": f"{day}T10:10:00Z",
                    "end": f"{day}T11:00:00Z",
                },
            ],
        }


@dataclass(frozen=True, slots=True)
class Seed:
    """A planted value inside a document: what it is, and how it travels."""

    category: str
    wire: Wire
    decoy: bool = False
    note: str = ""
    number: bool = False
    """Written as a JSON number rather than a string."""


def pii(category: str, wire: Wire | str, number: bool = False) -> Seed:
    """Personal data that must be found."""
    carried = plain(wire) if isinstance(wire, str) else wire
    return Seed(category, carried, number=number)


def decoy(category: str, value: str, note: str, number: bool = False) -> Seed:
    """A value a naive tool would flag as ``category``; it must not be flagged."""
    return Seed(category, plain(value), decoy=True, note=note, number=number)


@dataclass(slots=True)
class ToyCapture:
    """One toy's capture in the making: profile, household, labels and files."""

    profile: ToyProfile
    family: Family
    rng: random.Random
    book: LabelBook
    files: dict[str, bytes] = field(default_factory=dict)
    """Evidence file name -> content."""
    evidence: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    """Message id -> (evidence file, frame or line numbers)."""
    _messages: int = 0

    def message(self) -> str:
        """A new message id."""
        self._messages += 1
        return f"{self.profile.slug}/m{self._messages:03d}"

    def finish_pcap(self, capture: PacketCapture, name: str = "traffic.pcap") -> None:
        """Write the capture's frames as evidence and resolve its message ids."""
        content, numbers = capture.write()
        self.files[name] = content
        for message, frames in numbers.items():
            self.evidence[message] = (name, frames)

    def plant(
        self,
        message: str,
        seed: Seed,
        channel: str,
        location: str,
        outer: Sequence[str] = (),
    ) -> None:
        """Record one seed at its place in a message."""
        if seed.decoy:
            self.book.decoy(
                message, seed.category, seed.wire, channel, location, seed.note, outer
            )
        else:
            self.book.positive(
                message, seed.category, seed.wire, channel, location, outer, seed.note
            )

    def media_decoy(
        self,
        message: str,
        category: str,
        media_type: str,
        place: tuple[str, str],
        note: str,
    ) -> None:
        """Record inbound media (a story downloaded to the toy): a whole-body decoy.

        ``place`` is (channel, location).
        """
        channel, location = place
        self.book.decoy(
            message, category, plain(media_type), channel, location, note, whole=True
        )

    def json_body(
        self,
        message: str,
        document: Any,
        outer: Sequence[str] = ("json",),
        channel: str = "http body",
        label: str = "JSON body field",
    ) -> str:
        """Render a document with seeds, record each, return the JSON text."""
        rendered, seeds = render_json(document)
        for path, seed in seeds:
            self.plant(message, seed, channel, f"{label} '{path}'", outer)
        return compact_json(rendered)

    def pairs(
        self,
        message: str,
        pairs: Sequence[tuple[str, Seed | str]],
        channel: str,
        label: str,
        outer: Sequence[str] = (),
    ) -> str:
        """A query string or form body of ``pairs``, seeds URL-encoded and recorded."""
        text, seeds = render_pairs(pairs)
        for name, seed in seeds:
            self.plant(message, seed, channel, f"{label} '{name}'", outer)
        return text

    def headers(
        self, message: str, headers: Mapping[str, Seed | str]
    ) -> dict[str, str]:
        """Header values with seeds recorded (cookies go in as one header)."""
        rendered = {}
        for name, value in headers.items():
            if isinstance(value, Seed):
                self.plant(message, value, "http header", f"header '{name}'")
                rendered[name] = value.wire.text
            else:
                rendered[name] = value
        return rendered

    def cookies(self, message: str, cookies: Sequence[tuple[str, Seed]]) -> str:
        """A Cookie header value, each cookie recorded."""
        for name, seed in cookies:
            self.plant(message, seed, "http cookie", f"cookie '{name}'")
        return "; ".join(f"{name}={seed.wire.text}" for name, seed in cookies)


def render_json(document: Any) -> tuple[Any, list[tuple[str, Seed]]]:
    """Replace :class:`Seed` leaves by their text; list each with its dotted path.

    Paths are written as the classifier writes them: ``a.b`` for objects and
    ``a[0].b`` for lists.
    """
    seeds: list[tuple[str, Seed]] = []

    def walk(node: Any, path: str) -> Any:
        """The node with seeds replaced, seeds appended as met (document order)."""
        if isinstance(node, Seed):
            seeds.append((path, node))
            if node.number:
                text = node.wire.text
                return float(text) if "." in text else int(text)
            return node.wire.text
        if isinstance(node, dict):
            return {
                key: walk(value, f"{path}.{key}" if path else key)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [walk(value, f"{path}[{index}]") for index, value in enumerate(node)]
        return node

    return walk(document, ""), seeds


def render_pairs(
    pairs: Sequence[tuple[str, Seed | str]],
) -> tuple[str, list[tuple[str, Seed]]]:
    """``name=value&...`` with every value form-encoded; the seeds with their names."""
    pieces, seeds = [], []
    for name, value in pairs:
        if isinstance(value, Seed):
            encoded = form(value.wire)
            seeds.append((name, Seed(value.category, encoded, value.decoy, value.note)))
            text = encoded.text
        else:
            text = quote_plus(value, safe="")
        pieces.append(f"{quote_plus(name)}={text}")
    return "&".join(pieces), seeds
