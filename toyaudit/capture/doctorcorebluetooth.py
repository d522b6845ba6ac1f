"""The doctor's Bluetooth probe on macOS: CoreBluetooth and the app's permission.

On macOS, bleak reaches Bluetooth through Apple's CoreBluetooth framework,
which it imports through pyobjc (the ``pyobjc-framework-CoreBluetooth`` and
``pyobjc-framework-libdispatch`` packages, which pip installs with bleak on
macOS only). A capture then also needs the app it runs in (Terminal, iTerm,
an IDE's terminal) to be allowed to use Bluetooth: macOS asks once, the
first time a scan starts, and a refusal stays in System Settings > Privacy &
Security > Bluetooth. ``CBManager.authorization()`` (macOS 10.15 and later)
reads that permission without asking for it and without touching the radio.

The probe imports the framework through an injected importer, so tests give
it a stand-in for CoreBluetooth on Linux. The D-Bus and BlueZ probes of
Linux are in :mod:`.doctorbus`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from toyaudit.capture.doctorrecords import Check, Feature

logger = logging.getLogger(__name__)

FRAMEWORK = "CoreBluetooth"
"""The module pyobjc gives the framework, as bleak imports it."""
_INSTALL = (
    "pip install pyobjc-framework-CoreBluetooth pyobjc-framework-libdispatch "
    "in toyaudit's environment (bleak installs them on macOS; reinstalling "
    "bleak brings them back)"
)
_SETTINGS = "System Settings > Privacy & Security > Bluetooth"
_ALLOW = (
    f"in {_SETTINGS}, switch on the app you run toyaudit in (Terminal, iTerm...), "
    "then quit and reopen it"
)
# CBManagerAuthorization (CoreBluetooth/CBManager.h, macOS 10.15+).
_NOT_DETERMINED, _RESTRICTED, _DENIED, _ALLOWED_ALWAYS = 0, 1, 2, 3


def check_corebluetooth(
    import_module: Callable[[str], object] = importlib.import_module,
) -> Check:
    """Can bleak use CoreBluetooth, and may this app use Bluetooth?

    ``import_module`` imports :data:`FRAMEWORK` (by default, for real). A
    missing framework fails; a permission denied or restricted fails; a
    permission not asked for yet is a warning, since macOS asks during the
    first capture and the scan only starts once it is given.
    """
    name, needs = "CoreBluetooth", (Feature.BLE,)
    try:
        framework = import_module(FRAMEWORK)
    except ImportError as error:
        detail = f"cannot import {FRAMEWORK} ({error})"
        return Check(name, False, needs, detail, "", _INSTALL)
    manager = getattr(framework, "CBManager", None)
    authorization = getattr(manager, "authorization", None)
    if authorization is None:  # before macOS 10.15: nothing to read
        detail = "loads; this macOS cannot say whether Bluetooth is allowed"
        return Check(name, True, needs, detail, "", _ALLOW, warning=True)
    state = int(authorization())
    logger.debug("CBManager.authorization() = %d", state)
    if state == _ALLOWED_ALWAYS:
        return Check(name, True, needs, "loads; Bluetooth allowed for this app")
    if state == _NOT_DETERMINED:
        detail = "loads; macOS will ask for Bluetooth permission when the scan starts"
        fix = f"allow it when asked; if you refused once: {_ALLOW}"
        return Check(name, True, needs, detail, "", fix, warning=True)
    if state == _RESTRICTED:
        detail = "Bluetooth is restricted on this Mac (a device management profile)"
        fix = "ask the Mac's administrator to allow Bluetooth for your terminal app"
        return Check(name, False, needs, detail, "", fix)
    if state == _DENIED:
        detail = "Bluetooth permission denied to this app"
        return Check(name, False, needs, detail, "", _ALLOW)
    detail = f"loads; unknown Bluetooth permission state {state}"
    return Check(name, True, needs, detail, "", _ALLOW, warning=True)
