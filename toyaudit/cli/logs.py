"""Standard error, and the log levels ``-v`` and ``-vv`` choose, for every command.

Every command takes ``-v`` (as does ``toyaudit`` itself, before the
command): once shows toyaudit's debug log and the traceback of an error,
twice adds the logs of scapy, mitmproxy and bleak. Log records go to
standard error through one rich handler, never to standard output, which
carries the commands' own output.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

stderr = Console(stderr=True, highlight=False)
"""Where errors, progress and the log go."""

Verbose = Annotated[
    int,
    typer.Option(
        "--verbose",
        "-v",
        count=True,
        help="Say more on standard error: -v shows toyaudit's debug log and "
        "tracebacks, -vv adds the log of scapy, mitmproxy and bleak.",
    ),
]
"""The ``-v`` option every command shares."""

_level = 0


def configure_logging(verbose: int) -> None:
    """Attach one rich handler on stderr; -v for our debug, -vv for everyone's.

    The most verbose level asked for so far wins, whether given before the
    command or after it.
    """
    global _level
    _level = max(_level, verbose)
    root = logging.getLogger()
    if not any(isinstance(handler, RichHandler) for handler in root.handlers):
        root.addHandler(RichHandler(console=stderr, show_path=False, markup=False))
    root.setLevel(logging.DEBUG if _level >= 2 else logging.WARNING)
    own_level = logging.DEBUG if _level >= 1 else logging.WARNING
    logging.getLogger("toyaudit").setLevel(own_level)


def verbosity() -> int:
    """How many ``-v`` were given: 0, 1 or more."""
    return _level
