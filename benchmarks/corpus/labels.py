"""The ground truth of the accuracy corpus: one label per planted value.

Every value the generator plants in a toy's traffic gets a :class:`Label`: its
category, the value as a classifier match would report it once every
encoding is undone, the spellings it had on the way out, where it travelled
(channel and a location hint), the encodings applied (outermost first, as
:attr:`toyaudit.classify.records.Match.decoding` lists them) and the evidence
that carries it (file and frame numbers, or the line of ``ble.jsonl``).
Decoys are labelled too, with ``decoy: true`` and the category a naive tool
would wrongly give them.

``labels.json`` lies next to the session folders, never inside one, so the
audit never reads it as evidence. :func:`validate_labels` checks a loaded
document (fields, types, known categories and channels, unique ids); the
test suite runs it on a fresh corpus.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toyaudit.files import write_atomic

logger = logging.getLogger(__name__)

LABELS_FORMAT = 1
"""Version of the ``labels.json`` layout; bump on any incompatible change."""

NEW_CATEGORIES: dict[str, str] = {}
"""Categories the corpus labels that ``rules/categories.yaml`` does not define
yet. The benchmark reports them with recall 0 until rules exist."""

CHANNELS = (
    "http path",
    "http query",
    "http header",
    "http cookie",
    "http body",
    "websocket",
    "mqtt connect",
    "mqtt publish",
    "dns",
    "tls sni",
    "ble advertisement",
    "ble gatt",
)
"""Where a planted value travels; ``http`` parts are split as the issue lists them."""

MIN_CONTAINED = 4
"""Shortest value that may count as found inside a longer one (or hold one)."""

_REQUIRED = {
    "id": str,
    "session": str,
    "category": str,
    "value": str,
    "forms": list,
    "whole": bool,
    "channel": str,
    "location": str,
    "encoding": list,
    "evidence": dict,
    "decoy": bool,
}


@dataclass(frozen=True, slots=True)
class Label:
    """One planted value (or one whole planted body) of the corpus."""

    id: str
    """Unique within the corpus, e.g. ``pebble-017``."""
    session: str
    """Session folder name, e.g. ``pebble``."""
    category: str
    """Category id; for a decoy, the category a naive tool would give it."""
    value: str
    """The value as a classifier match would report it (decoded)."""
    channel: str
    """One of :data:`CHANNELS`."""
    location: str
    """Where in the message, in the words of the classifier's locations."""
    encoding: tuple[str, ...]
    """Encodings applied on the way out, outermost first; empty when sent as is."""
    file: str
    """Evidence file that carries it, relative to the session folder."""
    frames: tuple[int, ...]
    """Frame numbers (pcap) or the line number (``ble.jsonl``) that carry it."""
    forms: tuple[str, ...] = ()
    """Other spellings a match may report (URL-encoded, base64, upper-cased...)."""
    whole: bool = False
    """True for a whole body (an audio upload): only the category is compared."""
    decoy: bool = False
    """True for something that must not be flagged."""
    note: str = ""
    """Why it is there, for people reading a miss or a flagged decoy."""

    def to_json(self) -> dict[str, Any]:
        """The label as ``labels.json`` stores it."""
        return {
            "id": self.id,
            "session": self.session,
            "category": self.category,
            "value": self.value,
            "forms": list(self.forms),
            "whole": self.whole,
            "channel": self.channel,
            "location": self.location,
            "encoding": list(self.encoding),
            "evidence": {"file": self.file, "frames": list(self.frames)},
            "decoy": self.decoy,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> Label:
        """Read one entry that :func:`validate_labels` accepted."""
        evidence = entry["evidence"]
        return cls(
            id=entry["id"],
            session=entry["session"],
            category=entry["category"],
            value=entry["value"],
            channel=entry["channel"],
            location=entry["location"],
            encoding=tuple(entry["encoding"]),
            file=evidence["file"],
            frames=tuple(evidence["frames"]),
            forms=tuple(entry["forms"]),
            whole=entry["whole"],
            decoy=entry["decoy"],
            note=entry.get("note", ""),
        )


def normalise(text: str) -> str:
    """Trimmed and case-folded, as values are compared."""
    return text.strip().casefold()


def same_value(found: str, spellings: Iterable[str]) -> bool:
    """Whether a value is one of the spellings, or holds or is held by one."""
    return match_strength(found, spellings) > 0


def match_strength(found: str, spellings: Iterable[str]) -> int:
    """2 when a value equals a spelling, 1 when one holds the other, else 0.

    Containment counts only when the shorter text has at least
    :data:`MIN_CONTAINED` characters, so "7" is never found inside "2017".
    Texts are compared trimmed and case-folded.
    """
    flagged = normalise(found)
    strength = 0
    for spelling in spellings:
        planted = normalise(spelling)
        if flagged == planted:
            return 2
        shorter, longer = sorted((flagged, planted), key=len)
        if len(shorter) >= MIN_CONTAINED and shorter in longer:
            strength = 1
    return strength


def labels_document(seed: int, labels: Iterable[Label]) -> dict[str, Any]:
    """The whole ``labels.json`` document."""
    entries = [label.to_json() for label in labels]
    return {
        "format": LABELS_FORMAT,
        "generator": "benchmarks.corpus",
        "seed": seed,
        "new_categories": dict(NEW_CATEGORIES),
        "labels": entries,
    }


def write_labels(path: Path, seed: int, labels: Iterable[Label]) -> bytes:
    """Serialise the labels deterministically and return the bytes written."""
    text = json.dumps(labels_document(seed, labels), indent=1, ensure_ascii=False)
    content = (text + "\n").encode("utf-8")
    write_atomic(path, content)
    return content


def load_labels(path: Path, known_categories: Iterable[str]) -> list[Label]:
    """Read and validate ``labels.json``; raise ValueError listing every problem."""
    document = json.loads(path.read_text(encoding="utf-8"))
    problems = validate_labels(document, known_categories)
    if problems:
        listed = "\n  ".join(problems[:20])
        raise ValueError(f"{path}: {len(problems)} problems:\n  {listed}")
    return [Label.from_json(entry) for entry in document["labels"]]


def validate_labels(document: object, known_categories: Iterable[str]) -> list[str]:
    """Every problem of a ``labels.json`` document; empty when it is valid.

    Checks the layout version, that each label has every field with the
    right type, a known channel, a category that ``rules/categories.yaml``
    defines or :data:`NEW_CATEGORIES` lists, a non-empty value, evidence
    with at least one frame, and an id no other label uses.
    """
    if not isinstance(document, dict):
        return ["the document is not a JSON object"]
    if document.get("format") != LABELS_FORMAT:
        return [f"format is {document.get('format')!r}, expected {LABELS_FORMAT}"]
    entries = document.get("labels")
    if not isinstance(entries, list) or not entries:
        return ["'labels' is missing, not a list, or empty"]
    categories = {*known_categories, *NEW_CATEGORIES}
    problems: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"labels[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not an object")
            continue
        problems += _entry_problems(where, entry, categories)
        label_id = entry.get("id")
        if isinstance(label_id, str):
            if label_id in seen:
                problems.append(f"{where}: id {label_id!r} is used twice")
            seen.add(label_id)
    return problems


def _entry_problems(
    where: str, entry: Mapping[str, Any], categories: set[str]
) -> list[str]:
    """The problems of one label entry."""
    problems = [
        f"{where}: '{name}' is missing or not a {kind.__name__}"
        for name, kind in _REQUIRED.items()
        if not isinstance(entry.get(name), kind)
    ]
    if problems:
        return problems
    if entry["category"] not in categories:
        problems.append(f"{where}: unknown category {entry['category']!r}")
    if entry["channel"] not in CHANNELS:
        problems.append(f"{where}: unknown channel {entry['channel']!r}")
    if not entry["value"].strip():
        problems.append(f"{where}: empty value")
    if not all(isinstance(step, str) for step in entry["encoding"]):
        problems.append(f"{where}: 'encoding' must list strings")
    if not all(isinstance(form, str) for form in entry["forms"]):
        problems.append(f"{where}: 'forms' must list strings")
    evidence = entry["evidence"]
    frames = evidence.get("frames")
    if not isinstance(evidence.get("file"), str):
        problems.append(f"{where}: evidence has no 'file'")
    if not isinstance(frames, list) or not frames:
        problems.append(f"{where}: evidence has no frames")
    elif not all(isinstance(frame, int) and frame > 0 for frame in frames):
        problems.append(f"{where}: frames must be positive integers")
    return problems
