"""What ``toyaudit doctor`` reports: the capture features, each check, the report.

Kept apart from the probes so that the doctor (:mod:`.doctor`) and its
D-Bus/BlueZ probes (:mod:`.doctorbus`) can both build checks without
importing each other.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Feature(StrEnum):
    """A part of a capture that a check can be needed for."""

    PACKETS = "packets"
    PROXY = "proxy"
    BLE = "ble"
    TRANSPARENT = "transparent"
    WIREGUARD = "wireguard"


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one probe."""

    name: str
    """What was checked, e.g. ``packet capture privilege``."""
    ok: bool
    """True when the capture features listed can rely on it."""
    required_for: tuple[Feature, ...]
    """Features that need this; empty for a check that only informs."""
    detail: str
    """What was found, one line."""
    fix_linux: str = ""
    """What to do on Linux when it is not ok (or is a warning)."""
    fix_macos: str = ""
    """What to do on macOS."""
    warning: bool = False
    """Ok, but worth the user's attention (e.g. a CA not created yet)."""

    def fix(self, platform: str = sys.platform) -> str:
        """The fix for ``platform``."""
        return self.fix_macos if platform == "darwin" else self.fix_linux


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every check, in the order they ran."""

    checks: tuple[Check, ...]

    def failures(self, features: Iterable[Feature] = tuple(Feature)) -> list[Check]:
        """Failed checks needed by any of ``features``."""
        wanted = set(features)
        return [c for c in self.checks if not c.ok and wanted & set(c.required_for)]

    def passed(self, features: Iterable[Feature] = tuple(Feature)) -> bool:
        """True when every check needed by ``features`` is ok."""
        return not self.failures(features)
