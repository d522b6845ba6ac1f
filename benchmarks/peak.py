"""Run one command and print its wall time and peak memory as one JSON line.

Usage: ``python benchmarks/peak.py COMMAND [ARG ...]``. The command's
standard output is discarded; its standard error passes through.

Two peaks are reported, both in KiB:

* ``peak_kib``: ``ru_maxrss`` of ``getrusage(RUSAGE_CHILDREN)``, the largest
  resident set of any single process this wrapper waited for. The wrapper
  starts exactly one command, so this is that command's own peak (or that of
  its largest descendant), uncontaminated by earlier runs, which is why the
  benchmark starts a fresh wrapper per measured run.
* ``tree_peak_kib``: the largest sum of resident sets over the command's
  whole process group, sampled every :data:`SAMPLE_SECONDS` from ``/proc``.
  It is what counts when the command starts worker processes (``toyaudit
  audit --jobs``); being sampled, it can miss a spike shorter than the
  interval.

Wall time is taken around the child only, so the wrapper's own start-up is
not counted. Stdlib only; the process-group sampling needs Linux ``/proc``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

SAMPLE_SECONDS = 0.05
_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _group_rss_kib(group: int) -> int:
    """Sum of the resident sets of every process in process group ``group``."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            fields = stat.rpartition(")")[2].split()
            if int(fields[2]) != group:
                continue
            total += int((entry / "statm").read_text().split()[1]) * _PAGE_KIB
        except (OSError, ValueError, IndexError):
            continue  # the process ended while being read
    return total


def _sample(group: int, done: threading.Event, peak: list[int]) -> None:
    while not done.wait(SAMPLE_SECONDS):
        peak[0] = max(peak[0], _group_rss_kib(group))


def main() -> None:
    """Run ``sys.argv[1:]`` and print seconds, peaks and the exit status."""
    command = sys.argv[1:]
    if not command:
        raise SystemExit("usage: peak.py COMMAND [ARG ...]")
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    done, tree_peak = threading.Event(), [0]
    sampler = threading.Thread(target=_sample, args=(child.pid, done, tree_peak))
    sampler.start()
    returncode = child.wait()
    seconds = time.perf_counter() - began
    done.set()
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {
        "seconds": seconds,
        "peak_kib": usage.ru_maxrss,
        "tree_peak_kib": max(tree_peak[0], usage.ru_maxrss),
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "returncode": returncode,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
