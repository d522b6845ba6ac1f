"""The one error family of toyaudit, and the exit codes the CLI maps it to.

Every error a user can cause (a missing file, a corrupt capture, a broken rule)
is a :class:`ToyauditError` carrying a one-line ``message`` that names the thing
and a ``hint`` that names the next step. Each pipeline stage has its own
subclass, and third-party exceptions are wrapped at the stage boundary with
``raise ... from``, so the CLI can catch the base class in one place.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``toyaudit`` command, documented in docs/cli.md."""

    OK = 0
    """The command finished and every input was read."""
    INTERNAL = 1
    """An unexpected error: a bug in toyaudit. Run again with -v and report it."""
    USAGE = 2
    """The command line was wrong (unknown option, missing argument)."""
    SESSION = 3
    """The session folder or one of its files is missing, corrupt or altered."""
    RULES = 4
    """A rule file is broken; nothing was audited."""
    OUTPUT = 5
    """A report could not be written."""
    PARTIAL = 6
    """The audit finished, but part of the input could not be read (see report);
    or a capture stopped early and its session is marked incomplete."""
    CAPTURE = 7
    """A capture could not start: a privilege, interface, tool or adapter is missing."""


class ToyauditError(Exception):
    """Base of every error toyaudit raises on purpose.

    ``message`` names the thing that is wrong (file, line, rule id, packet
    number) and what was expected; ``hint`` says what to do next.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class SessionError(ToyauditError):
    """The session folder is unusable: missing, malformed or failing its manifest."""

    exit_code = ExitCode.SESSION


class IngestError(ToyauditError):
    """A capture file cannot be read at all (as opposed to partly skipped)."""

    exit_code = ExitCode.SESSION


class RulesError(ToyauditError):
    """A rule file is broken; the message names file, line and rule id."""

    exit_code = ExitCode.RULES


class ReportError(ToyauditError):
    """A report could not be rendered or written."""

    exit_code = ExitCode.OUTPUT


class CaptureError(ToyauditError):
    """A live capture cannot start or go on: privilege, interface, tool or adapter."""

    exit_code = ExitCode.CAPTURE
