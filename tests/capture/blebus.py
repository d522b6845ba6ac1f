"""A private D-Bus daemon for tests that run bleak's BlueZ code.

:func:`private_bus` starts ``dbus-daemon`` on a socket of its own and always
kills it; the test points ``DBUS_SYSTEM_BUS_ADDRESS`` at the address (with
``monkeypatch``, so it does not outlive the test). The daemon comes with the
Debian package ``dbus-daemon`` (pulled in by ``dbus``).
"""

from __future__ import annotations

import contextlib
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def private_bus() -> Iterator[str]:
    """Run a private ``dbus-daemon``; yield its address; always kill it.

    The bus is a session bus (anyone may own any name); BlueZ's clients find
    it through ``DBUS_SYSTEM_BUS_ADDRESS``, which the caller sets. Its socket
    lives in a short temporary folder: Unix socket paths are limited to 107
    bytes, which pytest's folders can exceed.
    """
    if shutil.which("dbus-daemon") is None:
        raise AssertionError(
            "dbus-daemon is missing: install it (Debian: 'apt-get install dbus')"
        )
    with tempfile.TemporaryDirectory(prefix="toyaudit-bus-") as folder:
        socket = Path(folder) / "bus"
        daemon = subprocess.Popen(
            [
                "dbus-daemon",
                "--session",
                "--nofork",
                "--print-address",
                f"--address=unix:path={socket}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            yield _address(daemon)
        finally:
            daemon.kill()
            daemon.wait(5)
            if daemon.stdout is not None:
                daemon.stdout.close()


def _address(daemon: subprocess.Popen[str]) -> str:
    """The address the daemon prints once it listens."""
    assert daemon.stdout is not None
    ready, _, _ = select.select([daemon.stdout], [], [], 5)
    assert ready, "dbus-daemon did not print its address within 5 s"
    address = daemon.stdout.readline().strip()
    assert address.startswith("unix:path="), f"dbus-daemon said {address!r}"
    return address
