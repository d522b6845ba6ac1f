"""The proxy recorder: mitmdump with toyaudit's addon, intercepting the toy's TLS.

:class:`ProxyRecorder` runs mitmdump (:mod:`.proxyprocess`) with the addon
:mod:`toyaudit.capture.mitm_addon` in one of three modes:

* ``transparent``: the toy is on the laptop's hotspot and its TCP is
  redirected to the proxy (iptables REDIRECT; set up elsewhere);
* ``wireguard``: a phone running the companion app connects through
  WireGuard; the client configuration to import into the phone's WireGuard
  app is saved in the CA folder (:attr:`ProxyRecorder.wireguard_client_path`);
* ``regular``: a client configured to use an HTTP proxy (and the tests).

It writes ``flows.mitm`` and ``tls-verdicts.jsonl`` (through the addon) and
``keylog.txt`` (mitmproxy's TLS secrets, through ``MITMPROXY_SSLKEYLOGFILE``)
into the session folder, and keeps mitmproxy's certificate authority in one
folder across sessions (``~/.local/share/toyaudit/mitmproxy``), so that a phone
trusts the same CA every time. docs/capture-proxy.md describes all of it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from toyaudit.capture.proxyprocess import (
    MitmdumpProcess,
    RunAs,
    default_confdir,
    describe_exit,
    find_mitmdump,
    hand_session_to,
    last_log_line,
    prepare_confdir,
    start_hint,
)
from toyaudit.capture.recorder import RecorderStatus
from toyaudit.errors import CaptureError

__all__ = ["ProxyMode", "ProxyRecorder"]

logger = logging.getLogger(__name__)

ADDON = Path(__file__).with_name("mitm_addon.py")
"""The addon mitmdump loads with ``-s``; self-contained, like any mitmdump script."""
FILES = ("flows.mitm", "tls-verdicts.jsonl", "keylog.txt")
"""The evidence files the proxy writes into the session folder."""
KEYLOG_FILE = "keylog.txt"
STATUS_FILE = ".proxy-status.json"
"""Hidden status the addon replaces atomically on every change."""
LOG_FILE = ".mitmdump.log"
"""mitmdump's output, hidden: not evidence."""
WIREGUARD_CLIENT_FILE = "wireguard-client.conf"
CA_CERTIFICATE = "mitmproxy-ca-cert.pem"
COUNTS = ("flows", "accepted", "rejected", "silent", "aborted", "passthrough")
STARTUP_SECONDS = 30.0
"""How long mitmdump may take to listen; it usually needs one or two seconds."""
POLL_SECONDS = 0.05


class ProxyMode(StrEnum):
    """How the toy's (or the phone's) traffic reaches the proxy."""

    TRANSPARENT = "transparent"
    WIREGUARD = "wireguard"
    REGULAR = "regular"

    @property
    def default_port(self) -> int:
        """mitmproxy's usual port for the mode (UDP 51820 for WireGuard)."""
        return 51820 if self is ProxyMode.WIREGUARD else 8080


class ProxyRecorder:
    """Records decrypted flows and TLS verdicts through a mitmdump child process.

    ``session`` is the session folder (it must exist). ``listen_host`` ``""``
    means every interface; ``listen_port`` defaults to the mode's port.
    ``confdir`` holds mitmproxy's CA (default: ``~/.local/share/toyaudit/
    mitmproxy`` of the user mitmdump runs as, see :mod:`.proxyprocess`);
    ``mitmdump`` the executable (default: next to this Python, else on PATH).
    ``extra_options`` (a mapping, or ``name=value`` strings) are passed as
    ``--set name=value`` after ours, e.g. ``ssl_verify_upstream_trusted_ca``
    for a test origin. ``ssl_insecure`` is never set unless given here.
    """

    name = "proxy"

    def __init__(
        self,
        session: Path,
        mode: ProxyMode | str,
        *,
        listen_host: str = "",
        listen_port: int | None = None,
        confdir: Path | None = None,
        mitmdump: Path | None = None,
        extra_options: Mapping[str, str] | Sequence[str] = (),
        startup_timeout: float = STARTUP_SECONDS,
    ) -> None:
        try:
            self.mode = ProxyMode(mode)
        except ValueError as error:
            raise CaptureError(
                f"unknown proxy mode {mode!r}",
                "use one of: " + ", ".join(item.value for item in ProxyMode),
            ) from error
        self.session = session.absolute()
        self.listen_host = listen_host
        self.listen_port = listen_port or self.mode.default_port
        self._run_as = RunAs.from_environment(os.environ)
        self.confdir = (confdir or default_confdir(self._run_as)).absolute()
        self._mitmdump = mitmdump
        self._extra_options = _options(extra_options)
        self._startup_timeout = startup_timeout
        self._lock = threading.Lock()
        self._stop_lock = threading.Lock()
        self._process: MitmdumpProcess | None = None
        self._started = False
        self._stopped = False
        self._failure: str | None = None
        self._counts = dict.fromkeys(COUNTS, 0)
        self.listening: tuple[str, ...] = ()
        """Where mitmdump listens (``ip:port``), once started."""

    @property
    def pid(self) -> int | None:
        """mitmdump's process id, once spawned."""
        process = self._process
        if process is None or process.process is None:
            return None
        return process.process.pid

    @property
    def ca_certificate(self) -> Path:
        """The CA certificate (PEM) a device must trust to be intercepted."""
        return self.confdir / CA_CERTIFICATE

    @property
    def wireguard_client_path(self) -> Path | None:
        """The WireGuard client configuration to import (wireguard mode only)."""
        if self.mode is not ProxyMode.WIREGUARD:
            return None
        return self.confdir / WIREGUARD_CLIENT_FILE

    def wireguard_client_config(self) -> str | None:
        """The text of that configuration, once mitmdump has written it."""
        path = self.wireguard_client_path
        try:
            return None if path is None else path.read_text(encoding="utf-8")
        except OSError:
            return None

    def start(self) -> None:
        """Start mitmdump and return once it listens; CaptureError if it cannot."""
        with self._stop_lock:
            if self._process is not None:
                raise CaptureError(
                    "the proxy recorder was already started",
                    "use a new recorder for each capture",
                )
            executable = find_mitmdump(self._mitmdump)
            if not self.session.is_dir():
                raise CaptureError(
                    f"session folder {self.session} does not exist",
                    "create the session folder before starting the proxy",
                )
            prepare_confdir(self.confdir, self._run_as)
            hand_session_to(self.session, self._run_as)
            (self.session / STATUS_FILE).unlink(missing_ok=True)
            process = MitmdumpProcess(
                self._command(executable), self.session / LOG_FILE, self.session
            )
            pid = process.spawn(self._environment(), self._run_as)
            with self._lock:
                self._process = process
            try:
                self._wait_until_listening(process, pid)
            except CaptureError:
                process.stop()
                with self._lock:
                    self._stopped = True
                raise
            with self._lock:
                self._started = True
        logger.info(
            "mitmdump (pid %d) listens on %s in %s mode; CA in %s",
            pid,
            ", ".join(self.listening),
            self.mode.value,
            self.confdir,
        )

    def status(self) -> RecorderStatus:
        """Counts from the addon's status file and mitmdump's health; never raises."""
        try:
            return self._status()
        except Exception:  # the contract: status() never raises
            logger.debug("proxy status unavailable", exc_info=True)
            return RecorderStatus(self.name, dict(self._counts), self._failure)

    def stop(self) -> RecorderStatus:
        """SIGINT mitmdump so it writes open flows, kill it after 5 s; idempotent."""
        try:
            with self._stop_lock:
                with self._lock:
                    process = self._process
                    first = not self._stopped
                    self._note_failure()
                    self._stopped = True
                if process is not None and first:
                    code = process.stop()
                    logger.info("mitmdump stopped (exit code %s)", code)
        except Exception:  # the contract: stop() never raises
            logger.warning("stopping mitmdump failed", exc_info=True)
        return self.status()

    def _status(self) -> RecorderStatus:
        with self._lock:
            self._note_failure()
            running = self._started and not self._stopped and self._failure is None
            failure = self._failure
        report = self._read_report()
        counts = report.get("counts") if report else None
        if isinstance(counts, dict):
            self._counts = {key: int(counts.get(key, 0)) for key in COUNTS}
        present = tuple(name for name in FILES if (self.session / name).exists())
        return RecorderStatus(
            name=self.name,
            counts=dict(self._counts),
            failure=failure,
            files=present,
            running=running,
            notices=self._notices() if running else (),
        )

    def _notices(self) -> tuple[str, ...]:
        """Where a phone finds what it needs to use this proxy."""
        if self.mode is ProxyMode.WIREGUARD and self.wireguard_client_path:
            return (
                f"import {self.wireguard_client_path} into the phone's WireGuard app",
            )
        if self.mode is ProxyMode.REGULAR:
            return (
                f"set the device's proxy to this computer, port {self.listen_port}",
            )
        return ()

    def _note_failure(self) -> None:
        """Remember why mitmdump exited if it did so on its own (lock held)."""
        process = self._process
        if self._failure is not None or process is None or self._stopped:
            return
        code = process.exit_code()
        if code is not None and self._started:
            self._failure = describe_exit(code, last_log_line(process.log))
            logger.warning("%s", self._failure)

    def _read_report(self) -> dict[str, Any] | None:
        try:
            report = json.loads((self.session / STATUS_FILE).read_bytes())
        except (OSError, ValueError):
            return None
        return report if isinstance(report, dict) else None

    def _wait_until_listening(self, process: MitmdumpProcess, pid: int) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            report = self._read_report()
            if report and report.get("pid") == pid and report.get("state") == "running":
                self.listening = tuple(
                    str(item) for item in report.get("listening", [])
                )
                return
            code = process.exit_code()
            if code is not None:
                line = last_log_line(process.log)
                raise CaptureError(
                    f"mitmdump could not start ({describe_exit(code, line)})",
                    start_hint(line, self.listen_port, process.log),
                )
            time.sleep(POLL_SECONDS)
        line = last_log_line(process.log)
        raise CaptureError(
            f"mitmdump did not start listening within {self._startup_timeout:.0f} s"
            + (f"; its last words: {line}" if line else ""),
            start_hint(line, self.listen_port, process.log),
        )

    def _command(self, executable: Path) -> list[str]:
        command = [str(executable), "--mode", self.mode.value]
        command += ["--listen-port", str(self.listen_port)]
        if self.listen_host:
            command += ["--listen-host", self.listen_host]
        settings = {
            "confdir": str(self.confdir),
            "toyaudit_dir": str(self.session),
            "toyaudit_parent_pid": str(os.getpid()),
            # Keep URLs and bodies (personal values) out of mitmdump's log.
            "flow_detail": "0",
            "termlog_verbosity": "warn",
        }
        if self.wireguard_client_path is not None:
            settings["toyaudit_wireguard_conf"] = str(self.wireguard_client_path)
        settings.update(self._extra_options)
        for option, value in settings.items():
            command += ["--set", f"{option}={value}"]
        return [*command, "-s", str(ADDON)]

    def _environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        environment["MITMPROXY_SSLKEYLOGFILE"] = str(self.session / KEYLOG_FILE)
        if self._run_as is not None:
            environment["HOME"] = str(self._run_as.home)
        return environment


def _options(extra: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    """Extra mitmdump options as a mapping; ``name=value`` strings are split."""
    if isinstance(extra, Mapping):
        return {str(name): str(value) for name, value in extra.items()}
    options: dict[str, str] = {}
    for item in [extra] if isinstance(extra, str) else extra:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise CaptureError(
                f"mitmdump option {item!r} is not name=value",
                "write each as name=value, e.g. ssl_verify_upstream_trusted_ca=ca.pem",
            )
        options[name.strip()] = value
    return options
