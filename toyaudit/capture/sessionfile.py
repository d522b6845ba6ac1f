"""Write ``session.yaml`` while a capture runs, and take phase marks.

The live capture owns the session folder it records into. It writes
``session.yaml`` when it starts (marked incomplete: "capture in progress"),
again at every phase mark, and a last time when it ends, always atomically,
so that whatever stops the capture (Ctrl-C, a crash, a power cut) the folder
still says what it is and how far it got.

Phase marks come from two places: keys pressed in the live display, and
``toyaudit mark SESSION NAME`` run from another terminal. The latter appends a
line to the hidden file ``.marks.jsonl`` in the session folder, which the
running capture reads on its next tick. A mark starts a phase: the phase
before it ends at that moment. The capture starts in ``pre-setup``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from toyaudit.capture.recorder import RecorderStatus
from toyaudit.errors import CaptureError
from toyaudit.files import PRIVATE_FILE_MODE, write_atomic
from toyaudit.session.records import SESSION_FILE, Toy

logger = logging.getLogger(__name__)

MARKS_FILE = ".marks.jsonl"
"""Hidden file ``toyaudit mark`` appends to; not evidence, removed at the end."""
LOCK_FILE = ".capture.pid"
"""Hidden file holding the process id of the capture recording into the folder."""
FIRST_PHASE = "pre-setup"
END_MARK = "end"
"""The mark that ends the capture normally, as the live display's ``q`` key does."""

PHASE_ALIASES = {
    "setup-done": "play",
    "setup done": "play",
    "opt-out": "after-opt-out",
    "opted out": "after-opt-out",
    "deletion": "after-deletion",
    "deleted": "after-deletion",
    "stop": END_MARK,
}
"""Everyday words for the conventional phase names of docs/session-format.md."""


@dataclass(frozen=True, slots=True)
class PhaseMark:
    """The moment a named phase began."""

    name: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class CaptureDescription:
    """What the person capturing told toyaudit about the toy and the setup."""

    toy: Toy
    first_party_domains: tuple[str, ...] = ()
    captured_by: str = ""
    settings: Mapping[str, object] = field(default_factory=dict)
    """Capture settings recorded for the reader: interface, toy address, modes."""


def phase_name(raw: str) -> str:
    """Normalise a phase name typed by a person (``"Setup done"`` → ``play``)."""
    name = " ".join(raw.strip().lower().split())
    if not name:
        raise CaptureError(
            "a phase mark needs a name",
            "use setup, play, idle, opt-out, deletion, or end to stop",
        )
    return PHASE_ALIASES.get(name, name.replace(" ", "-"))


def phases_from_marks(
    started: dt.datetime, marks: Sequence[PhaseMark], ended: dt.datetime
) -> list[dict[str, str]]:
    """Turn the marks into the ``phases`` list of ``session.yaml``.

    The first phase runs from the start of the capture to the first mark;
    each mark's phase runs to the next mark, the last one to ``ended``. A
    phase that lasted no time at all (two marks at once) is dropped.
    """
    starts = [PhaseMark(FIRST_PHASE, started), *marks]
    phases: list[dict[str, str]] = []
    for index, mark in enumerate(starts):
        end = starts[index + 1].at if index + 1 < len(starts) else ended
        if end > mark.at:
            phases.append({"name": mark.name, "start": _iso(mark.at), "end": _iso(end)})
    return phases


def write_session_file(
    folder: Path,
    description: CaptureDescription,
    started: dt.datetime,
    marks: Sequence[PhaseMark],
    ended: dt.datetime,
    incomplete_reason: str | None,
    statuses: Sequence[RecorderStatus] = (),
) -> None:
    """Write ``session.yaml`` for the capture as it stands, atomically."""
    toy = {"name": description.toy.name}
    for key in ("vendor", "model", "firmware"):
        if value := getattr(description.toy, key):
            toy[key] = value
    capture: dict[str, object] = {
        "complete": incomplete_reason is None,
        "started": _iso(started),
        "ended": _iso(ended),
    }
    if incomplete_reason is not None:
        capture["incomplete_reason"] = incomplete_reason
    capture["settings"] = dict(description.settings)
    capture["recorders"] = {status.name: _status_entry(status) for status in statuses}
    document: dict[str, object] = {
        "toy": toy,
        "first_party_domains": list(description.first_party_domains),
        "captured": {"at": _iso(started), "by": description.captured_by},
        "phases": phases_from_marks(started, marks, ended),
        "capture": capture,
    }
    header = "# Written by toyaudit capture; see docs/session-format.md.\n"
    text = header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    write_atomic(folder / SESSION_FILE, text.encode("utf-8"))


def append_mark(folder: Path, name: str, at: dt.datetime) -> None:
    """Record a phase mark for the capture running in ``folder``.

    Refuses when no capture is recording there: a mark after the fact would
    be a guess, and ``session.yaml`` is sealed by then.
    """
    if running_capture_pid(folder) is None:
        raise CaptureError(
            f"{folder}: no capture is recording into this folder",
            "start 'toyaudit capture' first, or edit the phases of session.yaml "
            "and re-seal with 'toyaudit session seal'",
        )
    line = json.dumps({"name": phase_name(name), "at": _iso(at)}) + "\n"
    descriptor = os.open(
        folder / MARKS_FILE,
        os.O_WRONLY | os.O_APPEND | os.O_CREAT,
        PRIVATE_FILE_MODE,
    )
    with os.fdopen(descriptor, "a", encoding="utf-8") as marks_file:
        marks_file.write(line)


class MarkReader:
    """Reads the marks ``toyaudit mark`` appended since the last call."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / MARKS_FILE
        self._offset = 0

    def read_new(self) -> list[PhaseMark]:
        """Return the whole new lines of the marks file, skipping broken ones."""
        try:
            with self._path.open("rb") as marks_file:
                marks_file.seek(self._offset)
                chunk = marks_file.read()
        except FileNotFoundError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        marks: list[PhaseMark] = []
        for line in complete.splitlines():
            mark = _parse_mark(line)
            if mark is None:
                logger.warning("%s: skipped a malformed phase mark", self._path)
            else:
                marks.append(mark)
        return marks


def write_lock(folder: Path) -> None:
    """Claim the folder for this process, refusing one another capture holds."""
    holder = running_capture_pid(folder)
    if holder is not None and holder != os.getpid():
        raise CaptureError(
            f"{folder}: capture process {holder} is already recording here",
            "stop it first, or choose another session folder",
        )
    write_atomic(folder / LOCK_FILE, f"{os.getpid()}\n".encode())


def release_lock(folder: Path) -> None:
    """Remove the hidden lock and marks files at the end of a capture."""
    for name in (LOCK_FILE, MARKS_FILE):
        (folder / name).unlink(missing_ok=True)


def running_capture_pid(folder: Path) -> int | None:
    """The process id of a live capture recording into ``folder``, if any."""
    try:
        pid = int((folder / LOCK_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _parse_mark(line: bytes) -> PhaseMark | None:
    try:
        entry = json.loads(line)
        moment = dt.datetime.fromisoformat(entry["at"])
        return PhaseMark(phase_name(str(entry["name"])), moment)
    except (ValueError, KeyError, TypeError, CaptureError):
        return None


def _status_entry(status: RecorderStatus) -> dict[str, object]:
    entry: dict[str, object] = dict(sorted(status.counts.items()))
    if status.failure:
        entry["failure"] = status.failure
    return entry


def _iso(moment: dt.datetime) -> str:
    return (
        moment.astimezone(dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
