"""Run one command and print its wall time and peak memory as one JSON line.

Usage: ``python benchmarks/peak.py COMMAND [ARG ...]``. The command's
standard output is discarded; its standard error passes through.

Peak memory is ``ru_maxrss`` of ``getrusage(RUSAGE_CHILDREN)`` (Linux: KiB):
the largest resident set of any child this process waited for. Since this
wrapper starts exactly one child, that is the command's own peak (or that of
its largest descendant), uncontaminated by earlier runs, which is why the
benchmark starts a fresh wrapper per measured run. Wall time is taken around
the child only, so the wrapper's own start-up is not counted. Stdlib only:
it runs under any Python 3.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    """Run ``sys.argv[1:]`` and print seconds, peak KiB and the exit status."""
    command = sys.argv[1:]
    if not command:
        raise SystemExit("usage: peak.py COMMAND [ARG ...]")
    began = time.perf_counter()
    completed = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {
        "seconds": seconds,
        "peak_kib": usage.ru_maxrss,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "returncode": completed.returncode,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
