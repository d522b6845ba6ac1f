"""The live display of ``toyaudit capture`` and its phase keys.

While a capture runs, the terminal shows the elapsed time, the current phase
and each recorder's running totals (packets and drops, flows and TLS
verdicts, Bluetooth devices). On an interactive terminal single keys mark
phases without Enter: ``s`` setup, ``p`` play, ``i`` idle, ``o`` after
opt-out, ``d`` after deletion, and ``q`` ends the capture. On a pipe or in
CI nothing is drawn and no key is read; ``toyaudit mark`` still works.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import tty
from collections.abc import Callable, Iterator

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from toyaudit.capture.run import CaptureProgress

PHASE_KEYS = {
    "s": "setup",
    "p": "play",
    "i": "idle",
    "o": "after-opt-out",
    "d": "after-deletion",
    "q": "end",
}
"""Single keys the live display turns into phase marks (``end`` stops)."""

KEY_HELP = (
    "keys: [s] setup  [p] play  [i] idle  [o] opted out  [d] data deleted  [q] stop"
)


def render_progress(progress: CaptureProgress) -> Group:
    """Build the table shown for one tick of the capture."""
    minutes, seconds = divmod(int(progress.elapsed), 60)
    header = Text.assemble(
        ("capturing ", "bold"),
        f"{minutes:02d}:{seconds:02d}",
        "  phase: ",
        (progress.phase, "bold cyan"),
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("recorder")
    table.add_column("totals")
    table.add_column("state")
    for status in progress.statuses:
        totals = ", ".join(f"{key} {value}" for key, value in status.counts.items())
        if status.failure:
            state = f"[red]stopped: {escape(status.failure)}[/]"
        else:
            state = "[green]recording[/]" if status.running else "starting"
        table.add_row(escape(status.name), escape(totals), state)
    notices = [
        Text(f"→ {notice}", style="bold")
        for s in progress.statuses
        for notice in s.notices
    ]
    return Group(header, table, *notices, Text(KEY_HELP, style="dim"))


@contextlib.contextmanager
def live_display(console: Console) -> Iterator[Callable[[CaptureProgress], None]]:
    """Yield a progress callback: the live display, or plain notices off a terminal."""
    if not console.is_terminal:
        yield _plain_notices(console)
        return
    with Live(console=console, auto_refresh=False, transient=False) as live:

        def show(progress: CaptureProgress) -> None:
            live.update(render_progress(progress), refresh=True)

        yield show


def _plain_notices(console: Console) -> Callable[[CaptureProgress], None]:
    """Off a terminal, print each recorder notice once, as a plain line."""
    shown: set[str] = set()

    def show(progress: CaptureProgress) -> None:
        for status in progress.statuses:
            for notice in status.notices:
                if notice not in shown:
                    shown.add(notice)
                    console.print(escape(notice), soft_wrap=True)

    return show


@contextlib.contextmanager
def phase_keys(on_mark: Callable[[str], None]) -> Iterator[None]:
    """Read single key presses from the terminal on a thread until the block ends.

    The terminal is put in cbreak mode (keys arrive without Enter, Ctrl-C
    still interrupts) and always restored. Does nothing when standard input
    is not a terminal.
    """
    if not sys.stdin.isatty():
        yield
        return
    descriptor = sys.stdin.fileno()
    saved = termios.tcgetattr(descriptor)
    stopping = threading.Event()

    def read_keys() -> None:
        while not stopping.is_set():
            ready, _, _ = select.select([descriptor], [], [], 0.2)
            if not ready:
                continue
            key = os.read(descriptor, 1).decode("ascii", "ignore").lower()
            if key in PHASE_KEYS:
                on_mark(PHASE_KEYS[key])

    tty.setcbreak(descriptor)
    reader = threading.Thread(target=read_keys, name="phase-keys", daemon=True)
    reader.start()
    try:
        yield
    finally:
        stopping.set()
        reader.join(timeout=1)
        termios.tcsetattr(descriptor, termios.TCSADRAIN, saved)
