"""Run mitmdump as a child process: find it, prepare its folders, start and stop it.

The proxy runs in its own process, not inside toyaudit: it works with any
mitmproxy the user installed (11.0.2 or 12.x), a crash in it cannot take the
capture down, and it can run without the privileges the packet capture
needs. Under ``sudo`` (``SUDO_UID``/``SUDO_GID`` set while we are root) it
runs as the user who called sudo, since no proxy mode toyaudit uses needs
root; that user then owns its CA folder and the session folder it writes
into. Run as root without sudo, it stays root.

mitmdump's own output goes to a hidden log in the session folder: hidden
files are not evidence (docs/session-format.md). Only the log's last
meaningful line is ever quoted, in errors.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from toyaudit.errors import CaptureError

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 5.0
"""How long mitmdump gets after SIGINT to write open flows before it is killed."""
KILL_WAIT_SECONDS = 2.0
_TIME_PREFIX = re.compile(r"^\[\d\d:\d\d:\d\d(?:\.\d+)?\]\s*")
_GENERIC_ENDINGS = ("logged during startup, exiting", "Try specifying a different")
"""mitmdump's closing lines that say less than the error before them."""
_INSTALL_HINT = (
    "install mitmproxy into toyaudit's environment (pip install mitmproxy), "
    "or give the path of your mitmdump"
)


@dataclass(frozen=True, slots=True)
class RunAs:
    """The user mitmdump runs as when toyaudit itself runs as root under sudo."""

    uid: int
    """The invoking user's id, from ``SUDO_UID``."""
    gid: int
    """Their primary group, from ``SUDO_GID``."""
    home: Path
    """Their home folder, from the password database."""

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> RunAs | None:
        """The sudo user, or None when not root or not started through sudo."""
        if os.geteuid() != 0:
            return None
        try:
            uid, gid = int(environment["SUDO_UID"]), int(environment["SUDO_GID"])
        except (KeyError, ValueError):
            return None
        if uid == 0:
            return None
        try:
            home = Path(pwd.getpwuid(uid).pw_dir)
        except KeyError:
            home = Path("/")
        return cls(uid, gid, home)


def find_mitmdump(explicit: Path | None) -> Path:
    """The mitmdump to run: ``explicit``, else next to our Python, else on PATH."""
    if explicit is not None:
        if not (explicit.is_file() and os.access(explicit, os.X_OK)):
            raise CaptureError(f"mitmdump not found at {explicit}", _INSTALL_HINT)
        return explicit
    beside = Path(sys.executable).with_name("mitmdump")
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("mitmdump")
    if on_path is None:
        raise CaptureError(
            f"mitmdump not found next to {sys.executable} nor on PATH", _INSTALL_HINT
        )
    return Path(on_path)


def default_confdir(run_as: RunAs | None) -> Path:
    """``~/.local/share/toyaudit/mitmproxy`` of the user mitmdump runs as."""
    home = run_as.home if run_as is not None else Path.home()
    return home / ".local" / "share" / "toyaudit" / "mitmproxy"


def prepare_confdir(confdir: Path, run_as: RunAs | None) -> None:
    """Create mitmproxy's folder (its CA lives there) private, owned by its user."""
    missing = [confdir, *confdir.parents]
    missing = [folder for folder in missing if not folder.exists()]
    try:
        confdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        confdir.chmod(0o700)
        if run_as is not None:
            for folder in [confdir, *missing]:
                os.chown(folder, run_as.uid, run_as.gid)
    except OSError as error:
        raise CaptureError(
            f"cannot prepare mitmproxy's folder {confdir}: {error.strerror or error}",
            "choose another folder for mitmproxy's certificate authority",
        ) from error


def hand_session_to(session: Path, run_as: RunAs | None) -> None:
    """Under sudo, give the session folder to the user mitmdump runs as."""
    if run_as is None or session.stat().st_uid == run_as.uid:
        return
    try:
        os.chown(session, run_as.uid, run_as.gid)
    except OSError as error:
        raise CaptureError(
            f"cannot give the session folder {session} to user {run_as.uid}: "
            f"{error.strerror or error}",
            "run the capture from a folder on a local disk",
        ) from error
    logger.info("session folder %s now belongs to user %d", session, run_as.uid)


def last_log_line(log: Path) -> str:
    """The last line of mitmdump's log worth quoting, without its time stamp."""
    try:
        with log.open("rb") as stream:
            stream.seek(max(0, log.stat().st_size - 8192))
            tail = stream.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [_TIME_PREFIX.sub("", line).strip() for line in tail.splitlines()]
    lines = [line for line in lines if line]
    telling = [
        line for line in lines if not any(ending in line for ending in _GENERIC_ENDINGS)
    ]
    return (telling or lines or [""])[-1][:300]


def describe_exit(code: int, line: str) -> str:
    """One line for an exit of mitmdump: its code (and signal) and last words."""
    said = f"mitmdump exited with code {code}"
    if code < 0:
        try:
            said += f" (killed by {signal.Signals(-code).name})"
        except ValueError:
            said += " (killed by a signal)"
    return f"{said}: {line}" if line else said


def start_hint(line: str, port: int, log: Path) -> str:
    """What to do when mitmdump did not start, judging by its last words."""
    if "address already in use" in line.lower():
        return (
            f"another program is listening on port {port}; stop it or choose "
            "another port"
        )
    if "permission denied" in line.lower() or "not writable" in line:
        return (
            "mitmdump's user (under sudo, the one who called it) must be able to "
            f"write into the session folder and reach it; log: {log}"
        )
    return f"mitmdump's whole output is in {log}"


class MitmdumpProcess:
    """One mitmdump child process, its output appended to ``log``."""

    def __init__(self, command: Sequence[str], log: Path, cwd: Path) -> None:
        self.command = list(command)
        self.log = log
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    def spawn(self, environment: Mapping[str, str], run_as: RunAs | None) -> int:
        """Start mitmdump in its own session (Ctrl-C reaches us, not it)."""
        descriptor = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._output = os.fdopen(descriptor, "ab")
        if run_as is not None:
            os.chown(self.log, run_as.uid, run_as.gid)
        try:
            self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=dict(environment),
                start_new_session=True,
                umask=0o077,
                user=None if run_as is None else run_as.uid,
                group=None if run_as is None else run_as.gid,
                extra_groups=None if run_as is None else [],
            )
        except OSError as error:
            self.close()
            raise CaptureError(
                f"cannot run {self.command[0]}: {error.strerror or error}",
                _INSTALL_HINT,
            ) from error
        return self.process.pid

    def exit_code(self) -> int | None:
        """mitmdump's exit code, or None while it runs (or never ran)."""
        return None if self.process is None else self.process.poll()

    def stop(self) -> int | None:
        """SIGINT (mitmdump then writes its open flows), SIGKILL if it lingers."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning(
                    "mitmdump ignored SIGINT for %.0f s; killing it", STOP_GRACE_SECONDS
                )
                self.process.kill()
                try:
                    self.process.wait(KILL_WAIT_SECONDS)
                except subprocess.TimeoutExpired:
                    logger.warning(
                        "mitmdump (pid %d) outlived SIGKILL", self.process.pid
                    )
        self.close()
        return self.process.poll()

    def close(self) -> None:
        """Close our end of the log."""
        if self._output is not None:
            self._output.close()
            self._output = None
