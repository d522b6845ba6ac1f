"""Recorders for testing the capture run: they write real files, on threads.

:class:`FileRecorder` appends a line to its file every few milliseconds, as
a packet sniffer would, and fails on its own when the write fails (a full
disk) or when told to (``fail_after``). :class:`UnstartableRecorder` refuses
to start, as a recorder with a missing privilege does.
"""

from __future__ import annotations

import threading
from pathlib import Path

from toyaudit.capture.recorder import RecorderStatus
from toyaudit.errors import CaptureError


class FileRecorder:
    """Writes numbered lines into ``folder/file_name`` until stopped."""

    def __init__(
        self,
        folder: Path,
        name: str = "lines",
        file_name: str = "lines.txt",
        line_size: int = 64,
        fail_after: int | None = None,
    ) -> None:
        self.name = name
        self._path = folder / file_name
        self._line = b"x" * (line_size - 1) + b"\n"
        self._fail_after = fail_after
        self._lines = 0
        self._failure: str | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.stop_calls = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._write, daemon=True)
        self._thread.start()

    def status(self) -> RecorderStatus:
        running = self._thread is not None and self._thread.is_alive()
        return RecorderStatus(
            name=self.name,
            counts={"lines": self._lines},
            failure=self._failure,
            files=(self._path.name,),
            running=running,
        )

    def stop(self) -> RecorderStatus:
        self.stop_calls += 1
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.status()

    def _write(self) -> None:
        try:
            with self._path.open("ab", buffering=0) as stream:
                while not self._stopping.wait(0.002):
                    if self._fail_after is not None and self._lines >= self._fail_after:
                        self._failure = "told to fail"
                        return
                    stream.write(self._line)
                    self._lines += 1
        except OSError as error:
            self._failure = f"cannot write {self._path.name}: {error.strerror}"


class UnstartableRecorder:
    """A recorder whose start always fails, as without a needed privilege."""

    def __init__(self, name: str = "broken") -> None:
        self.name = name
        self.stop_calls = 0

    def start(self) -> None:
        raise CaptureError(f"{self.name}: cannot start", "give it what it needs")

    def status(self) -> RecorderStatus:
        return RecorderStatus(name=self.name)

    def stop(self) -> RecorderStatus:
        self.stop_calls += 1
        return self.status()
