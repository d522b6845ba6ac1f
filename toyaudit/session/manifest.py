"""Check a session folder against its ``manifest.json``.

The manifest holds the SHA-256 and size of every file of a session but
itself (docs/session-format.md). It is checked before anything else of a
session is read, so an audit never runs on evidence that changed after it
was captured; the digests of large evidence files may be left to a
:class:`~toyaudit.session.digests.PendingDigests`, which checks them while
the audit runs and raises the same errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

from toyaudit.errors import SessionError
from toyaudit.files import sha256_file
from toyaudit.session.digests import (
    DEFERRED_FROM_BYTES,
    ListedFile,
    PendingDigests,
    mismatch_error,
)
from toyaudit.session.records import MANIFEST_FILE

logger = logging.getLogger(__name__)


def verify_manifest(path: Path, pending: PendingDigests | None = None) -> str:
    """Check every file of a session against ``manifest.json``.

    Returns the SHA-256 of the manifest itself. Refuses, naming the file, when
    the manifest is missing or malformed, a listed file is missing or differs
    in size or digest, or a file in the folder is not listed; files are
    checked in name order and the first problem is the one raised.

    With ``pending``, files of at least :data:`DEFERRED_FROM_BYTES` whose
    size matches are not hashed here but added to ``pending``
    (:mod:`~toyaudit.session.digests`), which raises the same error for
    them later. If anything checked here fails, every file is checked in
    order after all, so the error is always that of the first problem.
    """
    manifest_path = path / MANIFEST_FILE
    entries = _read_manifest(manifest_path)
    if pending is None or not _cheap_checks_pass(path, entries, pending):
        _check_in_order(path, entries)
    return hashlib.sha256(manifest_path.read_bytes()).hexdigest()


def _check_in_order(path: Path, entries: Mapping[str, tuple[str, int]]) -> None:
    """Hash every listed file in name order, then look for unlisted files."""
    for name, (expected_sha256, expected_size) in sorted(entries.items()):
        listed = ListedFile(path / name, expected_sha256, expected_size)
        if not listed.path.is_file():
            raise SessionError(
                f"{listed.path}: listed in manifest.json but missing",
                "restore the file from the original capture",
            )
        actual_sha256, actual_size = sha256_file(listed.path)
        if actual_size != expected_size or actual_sha256 != expected_sha256:
            raise mismatch_error(listed, actual_sha256, actual_size)
    for file_path in session_files(path):
        if file_path.name not in entries:
            raise SessionError(
                f"{file_path}: not listed in manifest.json",
                "remove it, or re-seal with 'toyaudit session seal' if it belongs",
            )


def _cheap_checks_pass(
    path: Path, entries: Mapping[str, tuple[str, int]], pending: PendingDigests
) -> bool:
    """Check all but the large files' digests; defer those if all else passes.

    Returns False, deferring nothing, at the first problem of any kind (an
    unreadable file too), for the caller to find the first problem in order.
    """
    deferred: list[ListedFile] = []
    try:
        for name, (expected_sha256, expected_size) in sorted(entries.items()):
            listed = ListedFile(path / name, expected_sha256, expected_size)
            if not listed.path.is_file():
                return False
            if expected_size >= DEFERRED_FROM_BYTES:
                if listed.path.stat().st_size != expected_size:
                    return False
                deferred.append(listed)
            elif sha256_file(listed.path) != (expected_sha256, expected_size):
                return False
        if any(file_path.name not in entries for file_path in session_files(path)):
            return False
    except (OSError, SessionError):
        return False
    for listed in deferred:
        pending.defer(listed)
    return True


def session_files(path: Path) -> Iterator[Path]:
    """Every regular file of the session except the manifest and hidden files."""
    for file_path in sorted(path.iterdir()):
        if file_path.name == MANIFEST_FILE or file_path.name.startswith("."):
            continue
        if file_path.is_dir():
            raise SessionError(
                f"{file_path}: sub-folders are not part of the session format",
                "move it out of the session folder",
            )
        yield file_path


def _read_manifest(manifest_path: Path) -> dict[str, tuple[str, int]]:
    if not manifest_path.is_file():
        raise SessionError(
            f"{manifest_path}: missing",
            "a session must be sealed; run 'toyaudit session seal FOLDER' "
            "if you trust its files",
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SessionError(
            f"{manifest_path}: not valid JSON ({error})",
            "restore the manifest from the original capture",
        ) from error
    entries: dict[str, tuple[str, int]] = {}
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise SessionError(
            f"{manifest_path}: has no 'files' object",
            "restore the manifest from the original capture",
        )
    for name, entry in files.items():
        valid_name = (
            isinstance(name, str) and "/" not in name and name not in ("", ".", "..")
        )
        if (
            not valid_name
            or not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not isinstance(entry.get("size"), int)
        ):
            raise SessionError(
                f"{manifest_path}: entry {name!r} needs a plain file name, "
                "'sha256' (hex string) and 'size' (integer)",
                "restore the manifest from the original capture",
            )
        entries[name] = (entry["sha256"].lower(), entry["size"])
    return entries
