"""The ``toyaudit`` command line: parse, wire, present.

Each command only turns options into a call to a pipeline stage and presents
what comes back. Errors of the :class:`~toyaudit.errors.ToyauditError` family
are caught in one place (:func:`main`) and printed as one line with a hint;
``-v`` adds the traceback. Exit codes are listed in docs/cli.md.
"""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from toyaudit import __version__
from toyaudit.capture.doctorrecords import DoctorReport, Feature
from toyaudit.cli.logs import Verbose, configure_logging, stderr, verbosity
from toyaudit.cli.options import ExtraRules, Jobs, Reveal
from toyaudit.errors import ExitCode, ToyauditError

logger = logging.getLogger(__name__)

app = typer.Typer(
    name="toyaudit",
    help="Audit the privacy and security of a children's smart toy "
    "from its captured traffic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
session_app = typer.Typer(
    help="Check or seal a capture session folder.", no_args_is_help=True
)
rules_app = typer.Typer(help="Work with rule folders.", no_args_is_help=True)
app.add_typer(session_app, name="session")
app.add_typer(rules_app, name="rules")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"toyaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Verbose = 0,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Audit the privacy and security of a children's smart toy."""
    configure_logging(verbose)


@app.command()
def audit(
    session: Annotated[
        Path,
        typer.Argument(
            metavar="SESSION",
            help="What to audit: a session folder (session.yaml, manifest.json "
            "and evidence files), a single capture file (pcap, pcapng, "
            "mitmproxy flows, HAR, btsnoop; a TLS key log beside it is used), "
            "or a folder of capture files.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for findings.json, report.md and report.html. "
            "Default: reports/<session folder name>/ under the current folder.",
            show_default=False,
        ),
    ] = None,
    reveal: Reveal = False,
    rules: ExtraRules = None,
    jobs: Jobs = 0,
    verbose: Verbose = 0,
) -> None:
    """Audit a stored capture session, or capture files, and write the reports.

    Verifies a session against its manifest, reads every evidence file,
    finds the child's data and who received it, prints a summary and writes
    findings.json, report.md and report.html. Exits with 6 when part of the
    input could not be read (the reports say what).
    """
    from toyaudit.audit import start_audit
    from toyaudit.cli.progress import progress_bar
    from toyaudit.cli.terminal import print_summary
    from toyaudit.report import render_reports, write_rendered

    configure_logging(verbose)
    with progress_bar(stderr) as progress:
        pending = start_audit(session, tuple(rules or ()), progress, jobs)
    # The reports are rendered while the evidence's digests are still being
    # checked, and written only once they match the manifest.
    rendered = render_reports(pending.draft, reveal)
    assessment = pending.verified()
    out_dir = out if out is not None else Path("reports") / assessment.session.name
    written = write_rendered(rendered, out_dir)
    print_summary(assessment, Console(highlight=False), reveal=reveal, written=written)
    if assessment.coverage.problems:
        raise typer.Exit(ExitCode.PARTIAL)


from toyaudit.cli.batchcmd import batch  # noqa: E402
from toyaudit.cli.capturecmd import capture, mark  # noqa: E402

app.command("batch")(batch)
app.command("capture")(capture)
app.command("mark")(mark)


@session_app.command("verify")
def session_verify(
    folder: Annotated[
        Path, typer.Argument(help="The session folder to check.", show_default=False)
    ],
) -> None:
    """Check every file of a session against its manifest.json, changing nothing."""
    from toyaudit.session import load_session

    session = load_session(folder)
    evidence = ", ".join(session.evidence) or "no evidence files"
    Console(highlight=False).print(
        f"{escape(str(folder))}: manifest verified ({escape(evidence)})"
    )


@session_app.command("seal")
def session_seal(
    folder: Annotated[
        Path,
        typer.Argument(
            help="A session folder you assembled yourself.", show_default=False
        ),
    ],
) -> None:
    """Write manifest.json for a session folder you assembled by hand.

    Records the SHA-256 and size of every file, so later audits can prove the
    evidence did not change. Only seal files you trust: sealing vouches for them.
    """
    from toyaudit.session import seal_session

    manifest = seal_session(folder)
    Console(highlight=False).print(f"wrote {escape(str(manifest))}")


@rules_app.command("check")
def rules_check(
    folders: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FOLDER",
            help="Your rule folders, checked on top of the built-in rules in the "
            "order given, as 'audit --rules' would use them. Default: none, so "
            "the built-in rules alone are checked.",
            show_default=False,
        ),
    ] = None,
    no_builtin: Annotated[
        bool,
        typer.Option(
            "--no-builtin",
            help="Check only the folders given, as a complete rule set of their "
            "own, without the built-in rules underneath.",
        ),
    ] = False,
) -> None:
    """Validate a rule set and run every detector's examples.

    Loads the rules as an audit would (each file is checked against rule
    schema 1), then runs every detector's positive and negative examples
    against every detector. Lists each missing or extra match, and each
    detector without at least one positive and one negative example, and
    exits with 4 if there is any, or at the first broken rule; exits with 0
    when all is well.
    """
    from toyaudit.classify import default_rules_dir, load_rules
    from toyaudit.classify.examples import check_examples
    from toyaudit.errors import RulesError

    given = list(folders or ())
    if no_builtin and not given:
        raise typer.BadParameter("--no-builtin needs at least one FOLDER")
    rule_set = load_rules(given if no_builtin else [default_rules_dir(), *given])
    failures = check_examples(rule_set)
    for failure in failures:
        stderr.print(escape(str(failure)), soft_wrap=True)
    if failures:
        raise RulesError(
            f"{len(failures)} detector example check(s) failed",
            "fix each rule or example listed above, or add the example it lacks "
            "(docs/rules.md, 'Examples')",
        )
    examples = sum(len(detector.examples) for detector in rule_set.detectors)
    Console(highlight=False).print(
        f"rules valid: {len(rule_set.categories)} categories, "
        f"{len(rule_set.detectors)} detectors ({examples} examples passed), "
        f"{len(rule_set.recipients)} recipients, {len(rule_set.checks)} checks "
        f"in {len(rule_set.files)} files; sha256 {rule_set.sha256[:12]}"
    )


@app.command()
def doctor(
    interface: Annotated[
        str | None,
        typer.Option(
            "--interface",
            "-i",
            help="The hotspot interface the toy joins (e.g. wlan0), checked to "
            "exist and be up. Default: no interface is checked.",
            show_default=False,
        ),
    ] = None,
    features: Annotated[
        list[Feature] | None,
        typer.Option(
            "--for",
            help="Only require the checks this part of a capture needs. May be "
            "given more than once. Default: every part.",
            show_default=False,
        ),
    ] = None,
    verbose: Verbose = 0,
) -> None:
    """Check that this machine can capture a toy, changing nothing.

    Checks the privileges, the interface, libpcap, mitmdump and its CA, the
    WireGuard port, forwarding and iptables, and Bluetooth (D-Bus, BlueZ and a
    powered adapter on Linux; CoreBluetooth and the app's Bluetooth permission
    on macOS), and prints a table with the fix for each problem. Exits with 7 when a
    check needed by the parts chosen with --for fails, 0 otherwise.
    """
    from toyaudit.capture.doctor import DoctorSettings, run_doctor

    configure_logging(verbose)
    report = run_doctor(DoctorSettings(interface=interface))
    wanted = tuple(features or Feature)
    Console(highlight=False).print(_doctor_table(report, wanted))
    if not report.passed(wanted):
        raise typer.Exit(ExitCode.CAPTURE)


def _doctor_table(report: DoctorReport, wanted: tuple[Feature, ...]) -> object:
    """One row per check: what it found, who needs it, and the fix."""
    from rich.table import Table

    table = Table("check", "status", "needed for", "found", "fix")
    for check in report.checks:
        needed = set(check.required_for) & set(wanted)
        if check.ok:
            status = "[yellow]warning[/]" if check.warning else "[green]ok[/]"
        else:
            status = "[bold red]FAILED[/]" if needed else "[dim]failed[/]"
        show_fix = not check.ok or check.warning
        table.add_row(
            escape(check.name),
            status,
            ", ".join(feature.value for feature in check.required_for) or "-",
            escape(check.detail),
            escape(check.fix()) if show_fix else "",
        )
    return table


def main() -> None:
    """Run the CLI, turning toyaudit errors into one line and an exit code.

    typer (click) handles usage errors itself in standalone mode (exit 2) and
    turns ``typer.Exit`` into ``SystemExit``; everything else that escapes a
    command arrives here.
    """
    try:
        app()
    except ToyauditError as error:
        _report_error(error.message, error.hint)
        sys.exit(error.exit_code)
    except Exception as error:  # the one place that catches everything
        _report_error(
            f"internal error: {type(error).__name__}: {error}",
            "this is a bug in toyaudit; run again with -v and report the traceback",
        )
        sys.exit(ExitCode.INTERNAL)
    finally:
        # Everything alive now lives until the process ends: spare the
        # collector's passes over it at exit (tens of milliseconds).
        gc.freeze()


def _report_error(message: str, hint: str) -> None:
    stderr.print(f"[bold red]error:[/] {escape(message)}")
    if hint:
        stderr.print(f"[bold]next step:[/] {escape(hint)}")
    if verbosity() >= 1:
        stderr.print_exception(show_locals=False)
