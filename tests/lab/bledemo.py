"""The demo toy's Bluetooth LE side: a stand-in BlueZ on a private D-Bus.

The lab machine has no Bluetooth, so the demo's capture talks to a fake
``org.bluez`` (tests/capture/fakebluez.py) through bleak's real BlueZ code:
the toy "Bramble" advertises from a random static address and serves a
characteristic naming the fake child that anyone may read without pairing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.capture.blebus import private_bus
from tests.capture.bletoys import BRAMBLE
from tests.capture.fakebluez import FakeBlueZ


@contextlib.contextmanager
def ble_toy(work: Path) -> Iterator[str]:
    """Serve the demo toy over a private bus; yield the bus address to use.

    ``work`` is the caller's scratch folder (unused: the bus keeps its own
    short socket path); the fake and the daemon are always stopped.
    """
    del work
    with private_bus() as address:
        bluez = FakeBlueZ(address, (BRAMBLE,))
        bluez.start()
        try:
            yield address
        finally:
            bluez.stop()
