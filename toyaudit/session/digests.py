"""Check the large evidence files of a session against its manifest later.

Hashing a 200 MB capture takes a noticeable part of a whole audit, yet
nothing the audit does needs to wait for it except the reports: it can
run on a core the audit leaves idle. :func:`~toyaudit.session.manifest.verify_manifest`
given a :class:`PendingDigests` therefore checks everything cheap at once
(the manifest itself, every file's presence and size, the digests of the
small files, files the manifest does not list) and leaves the SHA-256 of
each large file to the pending list. Whoever passed the list must call
:meth:`PendingDigests.finish` before the audit's results are used: a file
that differs from the manifest then raises the very :class:`SessionError`
the up-front check raises, and the results are thrown away.

Files are checked in the manifest's name order, as the up-front check does,
so the first file that differs is the one named.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from toyaudit.errors import SessionError

logger = logging.getLogger(__name__)

DEFERRED_FROM_BYTES = 1 << 20
"""Files at least this large are hashed while the audit runs."""
_CHUNK = 8 << 20
"""Bytes read and hashed at a time: large, since between two chunks the
hashing thread waits for Python's global lock."""


@dataclass(frozen=True, slots=True)
class ListedFile:
    """A file as the manifest lists it."""

    path: Path
    sha256: str
    """Lower-case hex digest the manifest expects."""
    size: int


def mismatch_error(listed: ListedFile, sha256: str, size: int) -> SessionError:
    """The error for a file whose digest or size differs from the manifest."""
    return SessionError(
        f"{listed.path}: does not match manifest.json "
        f"(expected {listed.size} bytes sha256 {listed.sha256[:12]}..., "
        f"found {size} bytes sha256 {sha256[:12]}...)",
        "the evidence changed after capture; audit the original copy",
    )


class PendingDigests:
    """Large session files still to be compared with the manifest, in order.

    Check them with :meth:`finish`, or start checking them on a thread of
    their own with :meth:`start` (hashing runs outside Python's global lock,
    so it takes a core the rest of the audit leaves idle) and collect the
    verdict with :meth:`finish`.
    """

    def __init__(self) -> None:
        self._waiting: list[ListedFile] = []
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def defer(self, listed: ListedFile) -> None:
        """Add a file to check later, after those deferred before it."""
        if self._thread is not None:
            raise RuntimeError("files cannot be deferred once checking started")
        self._waiting.append(listed)

    def start(self) -> None:
        """Check the files on a background thread; :meth:`finish` waits for it.

        Start it only once no process will be forked any more: a fork while
        a thread runs copies a process whose thread is gone.
        """
        if self._thread is None and self._waiting:
            self._thread = threading.Thread(
                target=self._check_in_background, name="toyaudit-digests", daemon=True
            )
            self._thread.start()

    def finish(self) -> None:
        """Check every file left, or wait for the thread checking them.

        Raises :class:`SessionError` for the first file that differs from the
        manifest and :class:`OSError` for one that cannot be read, as the
        up-front check would; after that, nothing is left to check.
        """
        if self._thread is not None:
            self._thread.join()
            failure, self._failure = self._failure, None
            if failure is not None:
                raise failure
            return
        try:
            while self._waiting:
                _check(self._waiting[0])
                self._waiting.pop(0)
        finally:
            self._waiting.clear()

    def _check_in_background(self) -> None:
        try:
            while self._waiting:
                _check(self._waiting.pop(0))
        except BaseException as failure:  # handed to finish(), in the main thread
            self._failure = failure
        finally:
            self._waiting.clear()


def _check(listed: ListedFile) -> None:
    """Hash one file and compare it with its listing."""
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with listed.path.open("rb", buffering=0) as stream:
        while count := stream.readinto(buffer):
            digest.update(view[:count])
            size += count
    sha256 = digest.hexdigest()
    if size != listed.size or sha256 != listed.sha256:
        raise mismatch_error(listed, sha256, size)
    logger.debug("%s matches manifest.json", listed.path)
