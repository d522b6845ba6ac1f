"""Time ``toyaudit audit`` against tshark on the same capture, in the same run.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.run                 # 200 MB capture, 3 pairs
    .venv/bin/python -m benchmarks.run --scaling       # ... and a 1 GB capture
    .venv/bin/python -m benchmarks.run --flows         # mitmproxy flow file

Each capture is generated on first use into ``benchmarks/out/`` (git-ignored)
by :mod:`benchmarks.generate` and reused afterwards (``--regenerate`` to
rebuild). Runs alternate, audit then tshark, ``--repeat`` times, so drift in
the machine's speed hits both alike; the ratio is taken pair by pair and its
median printed. Both commands are whole processes: interpreter start-up,
imports, the manifest check and report writing count for the audit, and
tshark's output goes to /dev/null; the toyaudit package is byte-compiled
first, as an installed one is (:func:`compile_bytecode`). Every command
runs under ``benchmarks/peak.py``, a fresh wrapper process that reports the command's
peak resident memory: summed over its process tree (sampled from /proc,
which counts ``--jobs`` workers) and for its largest process
(``RUSAGE_CHILDREN`` ``ru_maxrss``). The page cache is
warmed by reading the file once before the first run; no run is discarded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import flowfile, generate

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"
PEAK = REPO / "benchmarks" / "peak.py"
TSHARK_FIELDS = (
    "frame.number",
    "ip.src",
    "ip.dst",
    "tcp.srcport",
    "http.host",
    "tls.handshake.extensions_server_name",
)
AUDIT_TO_TSHARK = 0.2
"""Target: the whole audit takes at most this fraction of tshark's time."""
PEAK_MIB = 256
"""Target: the audit's peak resident memory, in MiB."""
SCALING_LIMIT = 5.5
"""Target: a 1 GB capture takes at most this many times the 200 MB one."""
FLOWS_TO_READER = 1.5
"""Target: auditing a flow file costs at most this times reading it."""
_READ_FLOWS = """
import sys
from mitmproxy.io import FlowReader
with open(sys.argv[1], "rb") as stream:
    for _flow in FlowReader(stream).stream():
        pass
"""


@dataclass(frozen=True, slots=True)
class Run:
    """One measured run of one command."""

    seconds: float
    """Wall time of the command alone."""
    peak_mib: float
    """Peak resident memory of the command's whole process tree, in MiB."""
    process_peak_mib: float
    """Peak resident set of its largest single process, in MiB."""
    cpu_seconds: float
    """User plus system CPU time of the command and its children."""


def measure(command: Sequence[str]) -> Run:
    """Run ``command`` under ``peak.py``; stop the benchmark if it fails."""
    completed = subprocess.run(
        [sys.executable, str(PEAK), *command],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if lines else {"returncode": completed.returncode}
    if completed.returncode or report["returncode"]:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"{' '.join(command)}\nfailed:\n{tail}")
    return Run(
        report["seconds"],
        report["tree_peak_kib"] / 1024,
        report["peak_kib"] / 1024,
        report["cpu_seconds"],
    )


def _tool(name: str) -> str:
    """The venv's console script ``name``, next to the running interpreter."""
    return str(Path(sys.executable).with_name(name))


def audit_command(session: Path) -> list[str]:
    """``toyaudit audit SESSION --out benchmarks/out/reports/<session>``."""
    reports = OUT / "reports" / session.name
    return [_tool("toyaudit"), "audit", str(session), "--out", str(reports)]


def tshark_command(capture: Path) -> list[str]:
    """The tshark field extraction the audit is compared with."""
    fields = [part for name in TSHARK_FIELDS for part in ("-e", name)]
    return ["tshark", "-r", str(capture), "-T", "fields", *fields]


def compile_bytecode() -> None:
    """Byte-compile the toyaudit package the audit command will import.

    An installed toyaudit comes with its bytecode (pip compiles it), and a
    checkout gets it on its first run, unless ``PYTHONDONTWRITEBYTECODE``
    is set, as it is on some build machines: then every run would compile
    every module again, a tenth of a second that no user pays. The package
    is the one the child processes import (``PYTHONPATH`` included).
    """
    script = (
        "import compileall, pathlib, toyaudit\n"
        "folder = pathlib.Path(toyaudit.__file__).parent\n"
        "compileall.compile_dir(folder, quiet=1)\n"
        "print(folder)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    print(f"bytecode compiled in {completed.stdout.strip()}")


def _warm(path: Path) -> None:
    """Read ``path`` once so every run finds it in the page cache."""
    with path.open("rb") as stream:
        while stream.read(1 << 22):
            pass


def _capture(size_mb: int, seed: int, regenerate: bool) -> Path:
    """The session folder of a generated capture, generated when missing."""
    folder = OUT / f"toy-{size_mb}mb-seed{seed}"
    summary_path = folder.with_name(folder.name + ".json")
    if regenerate or not summary_path.exists() or not folder.is_dir():
        print(f"generating {folder.relative_to(REPO)} ...", flush=True)
        generate.write_session(folder, size_mb, seed)
    generate.print_summary(json.loads(summary_path.read_text(encoding="utf-8")))
    _warm(folder / "traffic.pcap")
    return folder


def _flow_session(size_mb: int, seed: int, regenerate: bool) -> Path:
    """The session folder of a generated flow file, generated when missing."""
    folder = OUT / f"flows-{size_mb}mb-seed{seed}"
    summary_path = folder.with_name(folder.name + ".json")
    if regenerate or not summary_path.exists() or not folder.is_dir():
        print(f"generating {folder.relative_to(REPO)} ...", flush=True)
        flowfile.write_flow_session(folder, size_mb, seed)
    flowfile.print_summary(json.loads(summary_path.read_text(encoding="utf-8")))
    _warm(folder / "flows.mitm")
    return folder


def _paired(
    labels: tuple[str, str], commands: tuple[list[str], list[str]], repeat: int
) -> tuple[list[Run], list[Run]]:
    """Run the two commands alternately ``repeat`` times, printing every pair."""
    first: list[Run] = []
    second: list[Run] = []
    for index in range(repeat):
        first.append(measure(commands[0]))
        second.append(measure(commands[1]))
        print(
            f"  pair {index + 1}: {labels[0]} {_run(first[-1])}; "
            f"{labels[1]} {_run(second[-1])}; "
            f"ratio {first[-1].seconds / second[-1].seconds:.3f}",
            flush=True,
        )
    return first, second


def _run(run: Run) -> str:
    """Wall time, CPU time and peak memory of one run, for a progress line."""
    text = f"{run.seconds:.2f} s (cpu {run.cpu_seconds:.1f} s), {run.peak_mib:.0f} MiB"
    if run.peak_mib - run.process_peak_mib >= 1:
        text += f" (largest process {run.process_peak_mib:.0f} MiB)"
    return text


def _spread(values: Sequence[float], digits: int = 2) -> str:
    """Median [min-max] of ``values``."""
    return (
        f"{statistics.median(values):.{digits}f} "
        f"[{min(values):.{digits}f}-{max(values):.{digits}f}]"
    )


def _verdict(what: str, value: float, limit: float) -> None:
    outcome = "met" if value <= limit else "MISSED"
    print(f"  target {what} <= {limit:g}: {value:.3f} -> {outcome}")


def _summarise(
    labels: tuple[str, str], runs: tuple[list[Run], list[Run]], target: float
) -> float:
    """Print medians, the paired ratio and peaks; return the median ratio."""
    ratios = [mine.seconds / theirs.seconds for mine, theirs in zip(*runs, strict=True)]
    for label, measured in zip(labels, runs, strict=True):
        seconds = _spread([run.seconds for run in measured])
        peak = max(run.peak_mib for run in measured)
        print(f"  {label:8} wall s median [min-max] {seconds}; peak {peak:.0f} MiB")
    print(f"  ratio {labels[0]}/{labels[1]} (paired) {_spread(ratios, 3)}")
    _verdict(f"{labels[0]}/{labels[1]} time", statistics.median(ratios), target)
    _verdict(f"{labels[0]} peak MiB", max(run.peak_mib for run in runs[0]), PEAK_MIB)
    return statistics.median(ratios)


def _check_packets(session: Path) -> None:
    """Say whether the audit read every packet the generator wrote."""
    findings = OUT / "reports" / session.name / "findings.json"
    summary = session.with_name(session.name + ".json")
    coverage: dict[str, Any] = json.loads(findings.read_text())["coverage"]
    written = json.loads(summary.read_text())["packets"]
    print(f"  audit read {coverage['packets']:,} of {written:,} packets written")
    for problem in coverage["problems"]:
        print(f"  coverage note: {problem}")


def _machine() -> None:
    """Print when and where the figures were taken."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    tshark = subprocess.run(
        ["tshark", "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {model}")
    print(f"Python {platform.python_version()}; {tshark[0] if tshark else 'no tshark'}")


def bench_capture(options: argparse.Namespace) -> list[Run]:
    """The 200 MB benchmark: audit vs tshark; returns the audit runs."""
    session = _capture(options.size_mb, options.seed, options.regenerate)
    print(f"audit vs tshark, {options.repeat} pairs:", flush=True)
    labels = ("audit", "tshark")
    capture = session / "traffic.pcap"
    commands = (audit_command(session), tshark_command(capture))
    runs = _paired(labels, commands, options.repeat)
    _summarise(labels, runs, AUDIT_TO_TSHARK)
    _check_packets(session)
    return runs[0]


def bench_scaling(options: argparse.Namespace, small: list[Run]) -> None:
    """Audit the large capture and compare with the runs on the small one."""
    session = _capture(options.scaling_size_mb, options.seed, options.regenerate)
    print(f"audit of the {options.scaling_size_mb} MB capture, {options.repeat} runs:")
    large = []
    for index in range(options.repeat):
        large.append(measure(audit_command(session)))
        print(f"  run {index + 1}: {_run(large[-1])}", flush=True)
    ratio = statistics.median(run.seconds for run in large) / statistics.median(
        run.seconds for run in small
    )
    print(f"  size ratio {options.scaling_size_mb / options.size_mb:.2f}x")
    print(f"  time ratio (medians) {ratio:.2f}x")
    print(
        f"  peak MiB: {max(run.peak_mib for run in small):.0f} at "
        f"{options.size_mb} MB, {max(run.peak_mib for run in large):.0f} at "
        f"{options.scaling_size_mb} MB"
    )
    _verdict("time ratio", ratio, SCALING_LIMIT)
    _check_packets(session)


def bench_flows(options: argparse.Namespace) -> None:
    """The flow-file benchmark: audit vs a bare ``FlowReader.stream()`` loop."""
    session = _flow_session(options.size_mb, options.seed, options.regenerate)
    print(f"audit vs FlowReader, {options.repeat} pairs:", flush=True)
    labels = ("audit", "reader")
    reader = [sys.executable, "-c", _READ_FLOWS, str(session / "flows.mitm")]
    runs = _paired(labels, (audit_command(session), reader), options.repeat)
    _summarise(labels, runs, FLOWS_TO_READER)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the chosen benchmarks."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--size-mb",
        type=int,
        default=200,
        help="capture (or flow file) size in MB (10**6 bytes); default 200",
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed; default 1")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="measured runs of each command; default 3",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="also audit a --scaling-size-mb capture and compare",
    )
    parser.add_argument(
        "--scaling-size-mb",
        type=int,
        default=1000,
        help="size of the large capture for --scaling; default 1000",
    )
    parser.add_argument(
        "--flows",
        action="store_true",
        help="run the mitmproxy flow-file benchmark instead of the pcap one",
    )
    parser.add_argument(
        "--regenerate", action="store_true",
        help="rebuild the inputs even when benchmarks/out/ has them",
    )  # fmt: skip
    options = parser.parse_args(argv)
    _machine()
    compile_bytecode()
    if options.flows:
        bench_flows(options)
        return
    small = bench_capture(options)
    if options.scaling:
        bench_scaling(options, small)


if __name__ == "__main__":
    main()
