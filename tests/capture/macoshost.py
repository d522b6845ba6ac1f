"""A Mac, as the doctor's macOS probes see it, for tests that run on Linux.

:class:`RecordedCommands` is a command runner that answers each command it
knows with the output recorded for it (tests/capture/recorded/macos/) and
fails the test on any other; it keeps the commands it ran.
:class:`StandInCoreBluetooth` is the part of pyobjc's CoreBluetooth module
the doctor reads, with the permission state the test chooses, and
:class:`Importer` hands it out in place of the real import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from toyaudit.capture.doctornet import CommandOutput

RECORDED_MACOS = Path(__file__).parent / "recorded" / "macos"
"""Output of macOS commands, one file per scenario (see its README.md)."""


def ifconfig(scenario: str) -> CommandOutput:
    """What ``ifconfig NAME`` printed in ``scenario``; a missing file fails."""
    path = RECORDED_MACOS / f"ifconfig-{scenario}.txt"
    return CommandOutput(0, path.read_text(encoding="utf-8"))


def sysctl(value: str) -> CommandOutput:
    """What ``sysctl -n KEY`` prints for a key whose value is ``value``."""
    return CommandOutput(0, f"{value}\n")


class RecordedCommands:
    """A command runner that answers only the commands it was given output for."""

    def __init__(self, outputs: Mapping[tuple[str, ...], CommandOutput]) -> None:
        self.outputs = dict(outputs)
        self.ran: list[tuple[str, ...]] = []
        """Every command asked for, in order."""

    def __call__(self, argv: Sequence[str]) -> CommandOutput:
        """The recorded output of ``argv``; an unknown command fails the test."""
        command = tuple(argv)
        self.ran.append(command)
        if command not in self.outputs:
            raise AssertionError(f"no recorded output for {' '.join(command)}")
        return self.outputs[command]


class _CBManager:
    """CoreBluetooth's ``CBManager``: only the class method the doctor reads."""

    state = 0

    @classmethod
    def authorization(cls) -> int:
        """The CBManagerAuthorization value this stand-in was given."""
        return cls.state


class StandInCoreBluetooth:
    """The CoreBluetooth module, reporting ``state`` as the app's permission.

    ``state`` follows CBManagerAuthorization: 0 not determined, 1 restricted,
    2 denied, 3 allowed always; ``None`` stands for a macOS before 10.15,
    whose CBManager has no ``authorization``.
    """

    def __init__(self, state: int | None) -> None:
        if state is None:
            self.CBManager: type | None = None
        else:
            self.CBManager = type("CBManager", (_CBManager,), {"state": state})


class Importer:
    """Imports ``CoreBluetooth`` as the given stand-in; keeps the names asked for."""

    def __init__(self, framework: StandInCoreBluetooth) -> None:
        self.framework = framework
        self.imported: list[str] = []

    def __call__(self, name: str) -> object:
        """The stand-in for ``CoreBluetooth``; any other module fails the test."""
        self.imported.append(name)
        if name != "CoreBluetooth":
            raise AssertionError(f"the doctor imported {name}, not CoreBluetooth")
        return self.framework
