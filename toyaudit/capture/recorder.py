"""The interface every source of live evidence implements.

A recorder writes one kind of evidence into the session folder while the
capture runs: packets into ``traffic.pcapng``, decrypted flows and TLS
verdicts from mitmdump, Bluetooth LE observations into ``ble.jsonl``. The
capture run drives recorders only through this protocol, so tests can put a
fake one beside real ones and a new source needs no change to the run.

The contract:

* :meth:`Recorder.start` either starts recording or raises
  :class:`~toyaudit.errors.CaptureError` naming what is missing and how to fix
  it. It returns promptly (work happens on threads or in a subprocess).
* :meth:`Recorder.status` is cheap and safe to call from another thread at
  any time; it never raises. When the recorder has stopped on its own (the
  adapter vanished, the disk filled, mitmdump crashed), ``failure`` says why
  in one line, and everything recorded until then is already on disk.
* :meth:`Recorder.stop` flushes and closes everything, is idempotent, never
  raises, and returns the final status. It must finish within a few seconds
  even when the underlying component hangs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    """What one recorder has done so far, for the live display and session.yaml."""

    name: str
    """The recorder's name: ``packets``, ``proxy`` or ``ble``."""
    counts: Mapping[str, int] = field(default_factory=dict)
    """Running totals shown to the user, e.g. ``{"packets": 120, "dropped": 0}``."""
    failure: str | None = None
    """Why the recorder stopped on its own, one line; ``None`` while healthy."""
    files: tuple[str, ...] = ()
    """Names of the files it writes, relative to the session folder."""
    running: bool = False
    """True between a successful start and the stop (or the failure)."""
    notices: tuple[str, ...] = ()
    """What the user must know or do while capturing, e.g. where the WireGuard
    configuration for the phone is; shown by the live display."""


class Recorder(Protocol):
    """A source of live evidence that writes into the session folder."""

    name: str

    def start(self) -> None:
        """Start recording, or raise CaptureError saying what is missing."""
        ...

    def status(self) -> RecorderStatus:
        """Return the current totals and health; never raises."""
        ...

    def stop(self) -> RecorderStatus:
        """Flush and close; idempotent, never raises; returns the final status."""
        ...
