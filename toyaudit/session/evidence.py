"""Accept whatever a user points ``toyaudit audit`` at.

Parents bring a session folder from ``toyaudit capture``; researchers and
regulators often bring what they already have: a pcap from tcpdump, a pcapng
from PCAPdroid with its TLS key log beside it, a HAR file, a folder of
captures. :func:`open_evidence` turns each into a :class:`Session`. Capture
files without a session folder get sensible defaults, and the session's notes
say what those defaults cost (no vendor domains, no persona), so the report
says so too.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path

from toyaudit.errors import SessionError
from toyaudit.files import sha256_file
from toyaudit.session.digests import PendingDigests
from toyaudit.session.folder import load_session
from toyaudit.session.records import SESSION_FILE, Session, Toy

logger = logging.getLogger(__name__)

KEYLOG_NAMES = ("sslkeylog.log", "sslkeylog.txt", "keylog.txt", "keylog.log")
"""Key log names looked for beside a single capture file."""

KEYLOG_SUFFIXES = (".keys", ".keys.txt", ".keylog", ".sslkeylog", ".keylog.txt")
"""Suffixes that, added to a capture's name or stem, name its key log."""

UNKNOWN_TOY = "unknown toy"


def open_evidence(path: Path, pending: PendingDigests | None = None) -> Session:
    """Open a session folder, a single capture file, or a folder of captures.

    A folder with a ``session.yaml`` is a session and is verified against its
    manifest (:func:`~toyaudit.session.load_session`, which leaves the
    digests of large files to ``pending`` when given). Anything else is
    audited as loose captures: see :func:`loose_file` and :func:`loose_folder`.
    """
    if path.is_dir():
        if (path / SESSION_FILE).exists():
            return load_session(path, pending)
        return loose_folder(path)
    if path.is_file():
        return loose_file(path)
    raise SessionError(
        f"{path}: no such file or folder",
        "give a session folder, a capture file, or a folder of capture files",
    )


def loose_file(path: Path) -> Session:
    """A session made of one capture file and its key log, if one lies beside it."""
    keylogs = tuple(
        candidate.name for candidate in _companion_keylogs(path) if candidate.is_file()
    )
    evidence = (path.name, *keylogs)
    note = f"{path.name} was audited without a session folder"
    return _loose_session(path.parent, _stem(path.name), evidence, note)


def loose_folder(path: Path) -> Session:
    """A session made of every file in a folder that has no ``session.yaml``.

    Files are read in name order; sub-folders are not entered (the notes say
    so). Files that are no capture are skipped by ingest with a note.
    """
    files = sorted(
        entry
        for entry in path.iterdir()
        if entry.is_file() and not entry.name.startswith(".")
    )
    if not files:
        raise SessionError(
            f"{path}: holds no files to audit",
            "put capture files in it, or point at a capture file directly",
        )
    note = f"the folder {path.name} was audited without a session.yaml"
    session = _loose_session(
        path, path.resolve().name, tuple(entry.name for entry in files), note
    )
    if any(entry.is_dir() for entry in path.iterdir()):
        folders_note = "sub-folders were not searched for captures"
        return _with_note(session, folders_note)
    return session


def _loose_session(
    folder: Path, name: str, evidence: tuple[str, ...], origin: str
) -> Session:
    notes = (
        f"{origin}: the toy's own domains are unknown, so every recipient is "
        "counted as a third party, and no fake child profile was searched for; "
        "write session.yaml and persona.yaml beside it (docs/session-format.md) "
        "for a full audit",
        "no manifest.json: the evidence digest in this report was computed at "
        "audit time, not at capture time",
    )
    logger.info("auditing loose captures in %s: %s", folder, ", ".join(evidence))
    return Session(
        path=folder,
        name=name,
        toy=Toy(name=UNKNOWN_TOY),
        first_party_domains=(),
        captured_at=None,
        captured_by="",
        phases=(),
        persona=(),
        evidence=evidence,
        manifest_sha256=_evidence_digest(folder, evidence),
        notes=notes,
        sealed=False,
    )


def _evidence_digest(folder: Path, evidence: tuple[str, ...]) -> str:
    """One SHA-256 over the name, size and digest of every evidence file."""
    listing = hashlib.sha256()
    for name in evidence:
        try:
            digest, size = sha256_file(folder / name)
        except OSError as error:
            raise SessionError(
                f"{folder / name}: cannot be read ({error.strerror or error})",
                "check that the file exists and is readable by the current user",
            ) from error
        listing.update(f"{name}\t{size}\t{digest}\n".encode())
    return listing.hexdigest()


def _companion_keylogs(path: Path) -> list[Path]:
    stem = _stem(path.name)
    names = [
        f"{base}{suffix}" for base in (path.name, stem) for suffix in KEYLOG_SUFFIXES
    ]
    names += list(KEYLOG_NAMES)
    return [path.parent / name for name in dict.fromkeys(names) if name != path.name]


def _stem(name: str) -> str:
    return name.split(".", 1)[0] or name


def _with_note(session: Session, note: str) -> Session:
    return replace(session, notes=(*session.notes, note))
