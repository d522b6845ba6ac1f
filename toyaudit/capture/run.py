"""Run a live capture: start the recorders, watch them, end cleanly, seal.

The steps of :meth:`CaptureRun.run`:

1. claim the session folder (private, locked against a second capture),
   copy the persona in, write ``session.yaml`` marked "capture in progress";
2. apply the network changes the capture needs (transparent mode), each
   journalled before it is made so a crashed run can be undone later;
3. start every recorder; if one cannot start, stop those already running
   and raise its error, after the folder is sealed as incomplete;
4. tick: report progress, take phase marks, stop at the deadline, at the
   ``end`` mark, at a stop request (Ctrl-C, SIGTERM) or when a recorder
   fails on its own;
5. finish, whatever happened: stop every recorder (each flushes), undo the
   network changes, write the final ``session.yaml`` (complete, or
   incomplete with the reason), seal the manifest, release the folder.

Nothing is classified here: the session is analysed later by ``audit``.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from toyaudit.capture.recorder import Recorder, RecorderStatus
from toyaudit.capture.sessionfile import (
    END_MARK,
    FIRST_PHASE,
    CaptureDescription,
    MarkReader,
    PhaseMark,
    phase_name,
    release_lock,
    write_lock,
    write_session_file,
)
from toyaudit.errors import CaptureError
from toyaudit.files import PRIVATE_FILE_MODE, make_private_dir
from toyaudit.session.folder import seal_session
from toyaudit.session.records import MANIFEST_FILE, PERSONA_FILE, SESSION_FILE

logger = logging.getLogger(__name__)

RESERVE_FILE = ".reserve"
RESERVE_BYTES = 256 * 1024
"""Space held back at the start so that a full disk still leaves room for the
final session.yaml and manifest.json: the reserve is deleted just before they
are written."""
IN_PROGRESS = "capture in progress (the capturing process ended without finishing)"


class NetworkChanges(Protocol):
    """Changes to the machine's network a capture makes and must undo."""

    def apply(self) -> None:
        """Make the changes, journalling each first; raise CaptureError."""
        ...

    def undo(self) -> list[str]:
        """Undo what was applied, in reverse; return what could not be undone."""
        ...


@dataclass(frozen=True, slots=True)
class CaptureProgress:
    """A snapshot for the live display, taken every tick."""

    elapsed: float
    """Seconds since the recorders started."""
    phase: str
    statuses: tuple[RecorderStatus, ...]


@dataclass(frozen=True, slots=True)
class CaptureOutcome:
    """How a capture ended and where its sealed session is."""

    folder: Path
    complete: bool
    reason: str | None
    """Why the capture is incomplete; ``None`` when it ended as asked."""
    statuses: tuple[RecorderStatus, ...]
    phases: tuple[str, ...]
    undo_problems: tuple[str, ...] = field(default=())
    """Network changes that could not be undone, to tell the user."""


class CaptureRun:
    """One capture into one session folder, driven by :meth:`run`."""

    def __init__(
        self,
        folder: Path,
        description: CaptureDescription,
        recorders: Sequence[Recorder],
        *,
        persona: Path | None = None,
        network: NetworkChanges | None = None,
        duration: float | None = None,
        tick: float = 0.5,
    ) -> None:
        self.folder = folder
        self._description = description
        self._recorders = tuple(recorders)
        self._persona = persona
        self._network = network
        self._duration = duration
        self._tick = tick
        self._marks: list[PhaseMark] = []
        self._stop_reason: str | None = None
        self._stop_complete = True
        self._stop_requested = threading.Event()
        self._started = dt.datetime.now(dt.UTC)
        self._mark_reader = MarkReader(folder)

    def mark(self, name: str) -> None:
        """Start a phase now (from the live display's keys); ``end`` stops."""
        normalised = phase_name(name)
        if normalised == END_MARK:
            self.request_stop(None)
            return
        self._marks.append(PhaseMark(normalised, dt.datetime.now(dt.UTC)))
        logger.info("phase %s begins", normalised)
        self._write_session_file(IN_PROGRESS, self._statuses())

    def request_stop(self, incomplete_reason: str | None) -> None:
        """Ask the run to end at its next tick; safe from signal handlers.

        ``None`` ends the capture as complete (the user pressed q, or marked
        ``end``); a reason ends it as incomplete (Ctrl-C, SIGTERM).
        """
        if not self._stop_requested.is_set():
            self._stop_reason = incomplete_reason
            self._stop_complete = incomplete_reason is None
            self._stop_requested.set()

    def run(
        self, on_progress: Callable[[CaptureProgress], None] | None = None
    ) -> CaptureOutcome:
        """Capture until told to stop, then finish; see the module docstring."""
        self._prepare_folder()
        started: list[Recorder] = []
        recording = False
        try:
            if self._network is not None:
                self._network.apply()
            for recorder in self._recorders:
                recorder.start()
                started.append(recorder)
                logger.info("recorder %s started", recorder.name)
            recording = True
            self._started = dt.datetime.now(dt.UTC)
            # the recorders' entry in session.yaml tells other processes
            # (``toyaudit mark``, tests, scripts) that recording has begun
            self._write_session_file(IN_PROGRESS, [r.status() for r in started])
            reason = self._watch(on_progress)
        except KeyboardInterrupt:
            reason = "interrupted by Ctrl-C"
        except BaseException as error:
            message = (
                getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            )
            prefix = "stopped by an error" if recording else "could not start"
            self._finish(started, f"{prefix}: {message}")
            raise
        return self._finish(started, reason)

    def _prepare_folder(self) -> None:
        make_private_dir(self.folder)
        leftovers = [
            name
            for name in (SESSION_FILE, MANIFEST_FILE)
            if (self.folder / name).exists()
        ]
        if leftovers:
            raise CaptureError(
                f"{self.folder}: already holds a session ({', '.join(leftovers)})",
                "choose a new folder for each capture",
            )
        write_lock(self.folder)
        _reserve_space(self.folder / RESERVE_FILE)
        if self._persona is not None:
            self._copy_persona(self._persona)
        self._write_session_file(IN_PROGRESS, ())

    def _copy_persona(self, persona: Path) -> None:
        target = self.folder / PERSONA_FILE
        try:
            shutil.copyfile(persona, target)
        except OSError as error:
            release_lock(self.folder)
            raise CaptureError(
                f"{persona}: cannot be copied into the session ({error.strerror})",
                "check the path given with --persona",
            ) from error
        target.chmod(PRIVATE_FILE_MODE)

    def _watch(
        self, on_progress: Callable[[CaptureProgress], None] | None
    ) -> str | None:
        """Tick until a stop; return why the capture is incomplete, if it is."""
        begun = time.monotonic()
        while True:
            for mark in self._mark_reader.read_new():
                if mark.name == END_MARK:
                    self.request_stop(None)
                else:
                    self._marks.append(mark)
                    self._write_session_file(IN_PROGRESS, self._statuses())
            statuses = tuple(recorder.status() for recorder in self._recorders)
            elapsed = time.monotonic() - begun
            if on_progress is not None:
                on_progress(CaptureProgress(elapsed, self._phase(), statuses))
            failure = next((status for status in statuses if status.failure), None)
            if failure is not None:
                return f"{failure.name} recorder stopped: {failure.failure}"
            if self._stop_requested.is_set():
                return None if self._stop_complete else self._stop_reason
            if self._duration is not None and elapsed >= self._duration:
                return None
            self._stop_requested.wait(self._tick)

    def _finish(
        self, started: Sequence[Recorder], reason: str | None
    ) -> CaptureOutcome:
        """Stop, undo, write and seal; runs whatever ended the capture."""
        statuses = tuple(recorder.stop() for recorder in reversed(started))
        statuses = tuple(reversed(statuses))
        undo_problems: list[str] = []
        if self._network is not None:
            undo_problems = self._network.undo()
        (self.folder / RESERVE_FILE).unlink(missing_ok=True)
        if reason is None:
            reason = next(
                (
                    f"{s.name} recorder stopped: {s.failure}"
                    for s in statuses
                    if s.failure
                ),
                None,
            )
        self._write_session_file(reason, statuses)
        seal_session(self.folder)
        release_lock(self.folder)
        phases = tuple(
            mark.name for mark in (PhaseMark(FIRST_PHASE, self._started), *self._marks)
        )
        logger.info("capture ended (%s); session sealed", reason or "complete")
        return CaptureOutcome(
            folder=self.folder,
            complete=reason is None,
            reason=reason,
            statuses=statuses,
            phases=phases,
            undo_problems=tuple(undo_problems),
        )

    def _statuses(self) -> list[RecorderStatus]:
        return [recorder.status() for recorder in self._recorders]

    def _phase(self) -> str:
        return self._marks[-1].name if self._marks else FIRST_PHASE

    def _write_session_file(
        self, reason: str | None, statuses: Sequence[RecorderStatus]
    ) -> None:
        write_session_file(
            self.folder,
            self._description,
            self._started,
            self._marks,
            dt.datetime.now(dt.UTC),
            reason,
            statuses,
        )


def _reserve_space(path: Path) -> None:
    """Hold :data:`RESERVE_BYTES` of real disk blocks (zeros, not a sparse file)."""
    try:
        with path.open("wb") as reserve:
            reserve.write(bytes(RESERVE_BYTES))
            reserve.flush()
    except OSError as error:
        path.unlink(missing_ok=True)
        raise CaptureError(
            f"{path.parent}: not enough free space to start a capture "
            f"({error.strerror})",
            "free some disk space or choose a folder on another disk",
        ) from error
