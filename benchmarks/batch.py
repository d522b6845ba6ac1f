"""Time ``toyaudit batch`` over an archive of small captures, as a researcher runs it.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.batch                # 40 captures of 2 MB, 2 rounds
    .venv/bin/python -m benchmarks.batch --captures 100 --size-mb 1

The archive is generated on first use into ``benchmarks/out/`` by
:func:`benchmarks.generate.write_capture` (one seed per capture) and reused.
Three commands run alternately, ``--repeat`` times: ``toyaudit batch`` over
the archive; the loop a researcher would otherwise write, one ``toyaudit
audit`` per capture; and tshark's field extraction (the one
:mod:`benchmarks.run` uses) once per capture. Each is timed as a whole, under
``benchmarks/peak.py`` for the batch (peak memory summed over its workers).
The ratios are taken round by round; medians and [min-max] are printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import generate
from benchmarks.run import OUT, _tool, compile_bytecode, measure, tshark_command


def archive(count: int, size_mb: int, regenerate: bool) -> Path:
    """The archive folder of ``count`` captures, written if missing."""
    folder = OUT / f"archive-{count}x{size_mb}mb"
    captures = [folder / f"toy-{seed:03d}.pcap" for seed in range(1, count + 1)]
    if regenerate or not all(path.is_file() for path in captures):
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        for path, seed in zip(captures, range(1, count + 1), strict=True):
            generate.write_capture(path, size_mb, seed)
        print(f"generated {count} captures in {time.perf_counter() - started:.1f} s")
    return folder


def _loop(commands: Sequence[Sequence[str]]) -> float:
    """Run each command in turn, output discarded; the seconds all of them took."""
    started = time.perf_counter()
    for command in commands:
        completed = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
        )
        if completed.returncode:
            tail = completed.stderr[-800:].decode(errors="replace")
            raise SystemExit(f"{' '.join(command)} failed:\n{tail}")
    return time.perf_counter() - started


def _spread(values: Sequence[float], digits: int = 2) -> str:
    return (
        f"{statistics.median(values):.{digits}f} "
        f"[{min(values):.{digits}f}-{max(values):.{digits}f}]"
    )


def main(argv: list[str] | None = None) -> None:
    """Generate the archive if needed, time the three commands, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--captures", type=int, default=40, help="default 40")
    parser.add_argument("--size-mb", type=int, default=2, help="per capture; 2")
    parser.add_argument("--repeat", type=int, default=2, help="rounds; default 2")
    parser.add_argument("--regenerate", action="store_true")
    options = parser.parse_args(argv)

    compile_bytecode()
    folder = archive(options.captures, options.size_mb, options.regenerate)
    captures = sorted(folder.glob("*.pcap"))
    toyaudit = _tool("toyaudit")
    reports = OUT / "reports"
    batch = [toyaudit, "batch", str(folder), "--out", str(reports / "batch")]
    audits = [
        [toyaudit, "audit", str(path), "--out", str(reports / "loop" / path.name)]
        for path in captures
    ]
    tsharks = [tshark_command(path) for path in captures]
    print(f"{len(captures)} captures of {options.size_mb} MB in {folder}")

    rounds: list[tuple[float, float, float, float]] = []
    for number in range(1, options.repeat + 1):
        run = measure(batch)
        loop = _loop(audits)
        tshark = _loop(tsharks)
        rounds.append((run.seconds, loop, tshark, run.peak_mib))
        print(
            f"  round {number}: batch {run.seconds:.2f} s "
            f"(cpu {run.cpu_seconds:.1f} s, {run.peak_mib:.0f} MiB); "
            f"one audit per capture {loop:.2f} s; tshark per capture {tshark:.2f} s"
        )
    by_loop = [batch_s / loop_s for batch_s, loop_s, _, _ in rounds]
    by_tshark = [batch_s / tshark_s for batch_s, _, tshark_s, _ in rounds]
    print(f"  batch / one audit per capture: {_spread(by_loop, 3)}")
    print(f"  batch / tshark per capture:    {_spread(by_tshark, 3)}")
    print(f"  batch peak memory, MiB:        {_spread([r[3] for r in rounds], 0)}")


if __name__ == "__main__":
    main(sys.argv[1:])
