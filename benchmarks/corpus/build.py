"""Build the labelled accuracy corpus: one sealed session per toy, and labels.json.

Layout of the output folder::

    OUT/labels.json            every planted value and decoy (not evidence)
    OUT/sessions/<toy>/        a sealed session: session.yaml, persona.yaml,
                               traffic.pcap or ble.jsonl, manifest.json

One household (:mod:`.family`) owns every toy; each toy draws its serial
number, MAC address and traffic from its own generator, seeded with the
corpus seed and the toy's name, so adding a toy never changes the others.
Nothing reads the clock: the same seed always gives the same bytes.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.corpus import (
    toy_chatterbox,
    toy_hopscotch,
    toy_luma,
    toy_pebble,
    toy_pip,
    toy_rover,
)
from benchmarks.corpus.book import LabelBook
from benchmarks.corpus.encode import luhn_digit
from benchmarks.corpus.family import Family, make_family, unicast_mac
from benchmarks.corpus.labels import Label, write_labels
from benchmarks.corpus.toybase import START, ToyCapture, ToyProfile
from toyaudit.errors import SessionError
from toyaudit.files import make_private_dir, write_atomic
from toyaudit.session import MANIFEST_FILE, seal_session

logger = logging.getLogger(__name__)

LABELS_FILE = "labels.json"
SESSIONS_FOLDER = "sessions"
_WRITTEN = frozenset(
    {"session.yaml", "persona.yaml", "traffic.pcap", "ble.jsonl", MANIFEST_FILE}
)
"""Every file name the generator may write into a session folder."""


@dataclass(frozen=True, slots=True)
class ToySpec:
    """A fictional toy: who makes it, and the module that writes its traffic."""

    slug: str
    name: str
    vendor: str
    model: str
    firmware: str
    domain: str
    serial_prefix: str
    capture: Callable[[ToyCapture], None]


TOYS = (
    ToySpec(
        "pebble",
        "Pebble the Storytelling Penguin",
        "Snowdrift Toys Ltd",
        "SDP-100",
        "3.1.4",
        "snowdrift.example",
        "SDP1",
        toy_pebble.capture,
    ),
    ToySpec(
        "pip",
        "Pip the Coding Robot",
        "CircuitCub Inc.",
        "CC-PIP2",
        "2.0.7",
        "circuitcub.example",
        "CCP2",
        toy_pip.capture,
    ),
    ToySpec(
        "luma",
        "Luma the Night-Light Owl",
        "BrightNest GmbH",
        "BN-OWL1",
        "1.8.2",
        "brightnest.example",
        "BNO1",
        toy_luma.capture,
    ),
    ToySpec(
        "rover",
        "Rover the Smart Puppy",
        "Barkbyte Ltd",
        "BB-RV3",
        "6.3.0",
        "barkbyte.example",
        "BBR3",
        toy_rover.capture,
    ),
    ToySpec(
        "chatterbox",
        "Chatterbox the Parrot",
        "TalkTales Co.",
        "TT-PAR",
        "4.0.1",
        "talktales.example",
        "TTP0",
        toy_chatterbox.capture,
    ),
    ToySpec(
        "hopscotch",
        "Hopscotch the Bluetooth Bunny",
        "HopHop Labs",
        "HH-BN2",
        "1.2.0",
        "hophop.example",
        "HHB2",
        toy_hopscotch.capture,
    ),
)
"""The toys of the corpus, one API style each (see each module's docstring)."""


@dataclass(frozen=True, slots=True)
class Corpus:
    """What :func:`build_corpus` wrote."""

    folder: Path
    labels_path: Path
    sessions: tuple[Path, ...]
    labels: tuple[Label, ...]


def build_corpus(out: Path, seed: int) -> Corpus:
    """Write every toy's session and ``labels.json`` into ``out``; return them."""
    family = make_family(random.Random(f"{seed}:family"), START.date())
    make_private_dir(out)
    make_private_dir(out / SESSIONS_FOLDER)
    labels: list[Label] = []
    sessions = []
    for spec in TOYS:
        toy = _capture_toy(spec, family, seed)
        folder = out / SESSIONS_FOLDER / spec.slug
        _write_session(folder, toy)
        sessions.append(folder)
        labels += toy.book.labels(toy.evidence)
    labels_path = out / LABELS_FILE
    write_labels(labels_path, seed, labels)
    logger.info(
        "wrote %d labels and %d sessions to %s", len(labels), len(sessions), out
    )
    return Corpus(out, labels_path, tuple(sessions), tuple(labels))


def _capture_toy(spec: ToySpec, family: Family, seed: int) -> ToyCapture:
    """Run a toy's module with its own seeded generator."""
    rng = random.Random(f"{seed}:{spec.slug}")
    digits = f"{rng.randint(0, 99999):05d}"
    profile = ToyProfile(
        slug=spec.slug,
        name=spec.name,
        vendor=spec.vendor,
        model=spec.model,
        firmware=spec.firmware,
        domain=spec.domain,
        serial=f"{spec.serial_prefix}-{digits}-{luhn_digit(digits)}X",
        mac=unicast_mac(rng),
    )
    toy = ToyCapture(profile, family, rng, LabelBook(spec.slug))
    spec.capture(toy)
    return toy


def _write_session(folder: Path, toy: ToyCapture) -> None:
    """Write one toy's session folder and seal it."""
    make_private_dir(folder)
    for path in sorted(folder.iterdir()):
        if path.name not in _WRITTEN:
            raise SessionError(
                f"{path}: not written by the corpus generator",
                "choose an empty --out folder, or remove the file first",
            )
        path.unlink()
    profile = toy.profile
    persona = toy.family.persona(profile.serial, profile.mac)
    write_atomic(folder / "session.yaml", _yaml(profile.session_document()))
    write_atomic(folder / "persona.yaml", _yaml(persona))
    for name, content in toy.files.items():
        write_atomic(folder / name, content)
    seal_session(folder)


def _yaml(document: dict[str, Any]) -> bytes:
    header = "# Written by python -m benchmarks.corpus; all of it is fictional.\n"
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=88)
    return (header + body).encode("utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Write the corpus; the folder and the seed are the only arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus",
        description="Write the labelled accuracy corpus of fictional toys.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/out/accuracy-seed1"),
        help="Folder to write into (default: benchmarks/out/accuracy-seed1).",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="Generator seed (default: 1)."
    )
    arguments = parser.parse_args(argv)
    try:
        corpus = build_corpus(arguments.out, arguments.seed)
    except SessionError as error:
        sys.stderr.write(f"error: {error}\n")
        return int(error.exit_code)
    decoys = sum(label.decoy for label in corpus.labels)
    sys.stdout.write(
        f"wrote {len(corpus.sessions)} sessions, {len(corpus.labels) - decoys} "
        f"labelled values and {decoys} decoys to {corpus.folder}\n"
    )
    return 0
