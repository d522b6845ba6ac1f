"""The ``capture`` and ``mark`` commands: parse, wire, present.

The work is in :mod:`toyaudit.capture`; this module turns options into a
:class:`~toyaudit.capture.plan.CaptureOptions`, shows the live display,
routes Ctrl-C, SIGTERM and SIGHUP to an orderly stop, and prints how the
capture ended.
"""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from toyaudit.errors import ExitCode

if TYPE_CHECKING:  # the capture machinery is imported only when a capture runs
    from toyaudit.capture.run import CaptureOutcome, CaptureRun

_console = Console(highlight=False)
_stderr = Console(stderr=True, highlight=False)


def capture(
    session: Annotated[
        Path,
        typer.Argument(
            metavar="SESSION",
            help="A new folder to record into; it is created readable by you only.",
            show_default=False,
        ),
    ],
    interface: Annotated[
        str | None,
        typer.Option(
            "--interface",
            "-i",
            help="The Wi-Fi hotspot interface the toy is connected to (see "
            "'ip link'). Needed to record packets and for --proxy transparent.",
            show_default=False,
        ),
    ] = None,
    toy: Annotated[
        str | None,
        typer.Option(
            "--toy",
            help="The toy's MAC or IP address on the hotspot. Only its traffic "
            "(and --phone's) is recorded.",
            show_default=False,
        ),
    ] = None,
    phone: Annotated[
        str | None,
        typer.Option(
            "--phone",
            help="The companion phone's MAC or IP, to record its packets too.",
            show_default=False,
        ),
    ] = None,
    proxy: Annotated[
        str,
        typer.Option(
            "--proxy",
            help="How to intercept HTTPS with mitmdump: 'transparent' for a toy "
            "on this machine's hotspot, 'wireguard' for a phone app, 'regular' "
            "for a device set to use a proxy, 'off' for none.",
        ),
    ] = "off",
    proxy_port: Annotated[
        int | None,
        typer.Option(
            "--proxy-port",
            min=1,
            max=65535,
            help="mitmdump's port. Default: 8080, or UDP 51820 for wireguard.",
            show_default=False,
        ),
    ] = None,
    ble: Annotated[
        bool, typer.Option("--ble", help="Record Bluetooth LE advertisements.")
    ] = False,
    ble_device: Annotated[
        str | None,
        typer.Option(
            "--ble-device",
            help="The toy's Bluetooth address or advertised name; only its "
            "advertisements are recorded. Needed with --ble (or --ble-all).",
            show_default=False,
        ),
    ] = None,
    ble_all: Annotated[
        bool,
        typer.Option(
            "--ble-all",
            help="Record every Bluetooth device in range instead of only "
            "--ble-device: for a shielded room, never at home (neighbours' "
            "devices would be recorded too).",
        ),
    ] = False,
    ble_connect: Annotated[
        bool,
        typer.Option(
            "--ble-connect",
            help="Connect to --ble-device, list its services and read what it "
            "gives without pairing.",
        ),
    ] = False,
    ble_allow_writes: Annotated[
        bool,
        typer.Option(
            "--ble-allow-writes",
            help="Also test writing to the toy (see docs/capture-guide.md for "
            "exactly what is written). Off by default: writes can change the toy.",
        ),
    ] = False,
    ble_adapter: Annotated[
        str,
        typer.Option(
            "--ble-adapter",
            help="The Bluetooth adapter to use (see 'bluetoothctl list'; Linux).",
        ),
    ] = "hci0",
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            min=0.1,
            help="Stop after this many seconds. Default: run until you press q "
            "or run 'toyaudit mark SESSION end'.",
            show_default=False,
        ),
    ] = None,
    persona: Annotated[
        Path | None,
        typer.Option(
            "--persona",
            help="The fake child profile you will type into the app "
            "(persona.yaml, see docs/session-format.md); copied into the session.",
            show_default=False,
        ),
    ] = None,
    toy_name: Annotated[
        str, typer.Option("--toy-name", help="The toy's name, for the report.")
    ] = "unnamed toy",
    vendor: Annotated[str, typer.Option("--vendor", help="The toy's maker.")] = "",
    vendor_domains: Annotated[
        list[str] | None,
        typer.Option(
            "--vendor-domain",
            help="A domain of the toy's maker (subdomains count too); data sent "
            "elsewhere is reported as going to a third party. Repeatable.",
            show_default=False,
        ),
    ] = None,
    captured_by: Annotated[
        str,
        typer.Option(
            "--by", help="Who is capturing (a name or role), recorded in session.yaml."
        ),
    ] = "",
    ca_installed: Annotated[
        bool,
        typer.Option(
            "--ca-installed",
            help="Say that you installed the capture's certificate authority on "
            "the device (a phone); the report then does not count accepted "
            "interception as a flaw of the device.",
        ),
    ] = False,
    proxy_set: Annotated[
        list[str] | None,
        typer.Option(
            "--proxy-set",
            help="An extra 'name=value' mitmproxy option, e.g. "
            "ssl_verify_upstream_trusted_ca=lab-ca.pem. Repeatable.",
            show_default=False,
        ),
    ] = None,
    undo_network: Annotated[
        bool,
        typer.Option(
            "--undo-network",
            help="Only undo the network changes a crashed capture into SESSION "
            "left behind, then exit.",
        ),
    ] = False,
) -> None:
    """Record a toy's Wi-Fi packets, HTTPS and Bluetooth LE into a session folder.

    Starts every recorder asked for, shows a live display, and ends at
    --duration, when you press q, or on 'toyaudit mark SESSION end'. Ctrl-C
    or SIGTERM also end it: everything recorded is kept and the session is
    marked incomplete. The folder is sealed with a manifest either way; audit
    it with 'toyaudit audit SESSION'. Exits 0 for a complete capture, 6 for
    an incomplete one, 7 when the capture could not start.
    """
    from toyaudit.capture.plan import CaptureOptions, plan_capture

    if undo_network:
        _undo_network(session)
        return
    options = CaptureOptions(
        folder=session,
        interface=interface,
        toy=toy,
        phone=phone,
        proxy_mode=proxy,
        proxy_port=proxy_port,
        ble=ble,
        ble_device=ble_device,
        ble_all=ble_all,
        ble_connect=ble_connect,
        ble_allow_writes=ble_allow_writes,
        ble_adapter=ble_adapter,
        duration=duration,
        persona=persona,
        toy_name=toy_name,
        vendor=vendor,
        vendor_domains=tuple(vendor_domains or ()),
        captured_by=captured_by,
        ca_installed=ca_installed,
        proxy_options=tuple(proxy_set or ()),
    )
    run = plan_capture(options)
    outcome = _run_with_display(run)
    _present(outcome)
    if not outcome.complete:
        raise typer.Exit(ExitCode.PARTIAL)


def mark(
    session: Annotated[
        Path,
        typer.Argument(
            metavar="SESSION",
            help="The folder a running capture records into.",
            show_default=False,
        ),
    ],
    phase: Annotated[
        str,
        typer.Argument(
            metavar="PHASE",
            help="The phase that begins now: pre-setup, setup, play, idle, "
            "opt-out, deletion (or any name of yours); 'setup done' means "
            "play; 'end' stops the capture.",
            show_default=False,
        ),
    ],
) -> None:
    """Mark the start of a phase in a running capture, from another terminal."""
    from toyaudit.capture.sessionfile import append_mark, phase_name

    append_mark(session, phase, dt.datetime.now(dt.UTC))
    _console.print(f"marked {escape(phase_name(phase))} in {escape(str(session))}")


def _run_with_display(run: CaptureRun) -> CaptureOutcome:
    from toyaudit.cli.capturedisplay import live_display, phase_keys

    with _stop_signals(run), live_display(_stderr) as show, phase_keys(run.mark):
        return run.run(show)


@contextmanager
def _stop_signals(run: CaptureRun) -> Iterator[None]:
    """Turn Ctrl-C, SIGTERM and SIGHUP into an orderly, incomplete stop.

    A second signal while the capture is finishing is ignored, so a hurried
    second Ctrl-C cannot cut the flushing and sealing short.
    """
    names = {
        signal.SIGINT: "Ctrl-C",
        signal.SIGTERM: "SIGTERM",
        signal.SIGHUP: "SIGHUP (terminal closed)",
    }

    def stop(signum: int, frame: FrameType | None) -> None:
        name = names.get(signal.Signals(signum), str(signum))
        run.request_stop(f"interrupted by {name}")

    previous = {signum: signal.signal(signum, stop) for signum in names}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _present(outcome: CaptureOutcome) -> None:
    folder = escape(str(outcome.folder))
    for status in outcome.statuses:
        totals = ", ".join(f"{key} {value}" for key, value in status.counts.items())
        _console.print(f"  {escape(status.name)}: {escape(totals or 'nothing')}")
    if outcome.complete:
        _console.print(f"capture complete: {folder}")
    else:
        _console.print(
            f"[bold yellow]capture incomplete[/] ({escape(outcome.reason or '')}); "
            f"everything recorded until then is sealed in {folder}"
        )
    for problem in outcome.undo_problems:
        _stderr.print(f"[bold red]not undone:[/] {escape(problem)}")
    _console.print(f"next step: toyaudit audit {folder}")


def _undo_network(session: Path) -> None:
    from toyaudit.capture.netsetup import undo_leftovers

    leftovers = undo_leftovers(session)
    for change in leftovers.undone:
        _console.print(f"undone: {escape(change)}")
    for problem in leftovers.problems:
        _stderr.print(f"[bold red]not undone:[/] {escape(problem)}")
    if leftovers.problems:
        raise typer.Exit(ExitCode.CAPTURE)
    if not leftovers.undone:
        _console.print(f"{escape(str(session))}: no network changes were left behind")
