"""Generate a large, realistic capture session of toy-like traffic.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.generate --size-mb 200 --seed 1 \\
        --out benchmarks/out/toy-200mb-seed1

The folder it writes is a sealed toyaudit session: ``session.yaml`` (the
fictional vendor's domain as first party), ``persona.yaml`` (the primary
family, whose values appear in the traffic), ``traffic.pcap`` and
``manifest.json``. Next to the folder, ``<folder>.json`` records what was
generated: packets, bytes and connections per traffic class.

Conversations start as a Poisson process (exponential gaps, mean
:data:`MEAN_GAP` seconds) and their frames are merged by timestamp, as a real
capture interleaves them. Each new conversation's class is drawn in
proportion to how far that class is below its share of bytes in
:data:`benchmarks.flows.MIX`; conversations stop starting once the planned
bytes reach the requested size, so the file ends within a few percent of it.
The same ``--seed`` and ``--size-mb`` always give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks import content
from benchmarks.flows import MIX, Flow, Network
from toyaudit.session import seal_session
from toyaudit.synth import PcapWriter, TimedFrame

START = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
"""When the capture begins."""
MEAN_GAP = 0.4
"""Mean seconds between the starts of two conversations."""
_PCAP_RECORD_HEADER = 16
_EARLIEST_LEAD = 0.05
"""No flow has a frame more than this many seconds before its planned start."""


@dataclass(slots=True)
class CaptureStats:
    """What a generated capture holds, per traffic class."""

    seed: int
    size_mb: int
    packets: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    """Pcap bytes (record headers included) per traffic class."""
    tcp_connections: int = 0
    readable: int = 0
    """Bytes of readable messages (HTTP heads, JSON bodies, MQTT packets)."""
    first: float = 0.0
    last: float = 0.0

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary, with each class's share of the bytes."""
        total = sum(self.bytes.values()) or 1
        return {
            "seed": self.seed,
            "size_mb": self.size_mb,
            "packets": sum(self.packets.values()),
            "bytes": sum(self.bytes.values()),
            "tcp_connections": self.tcp_connections,
            "tcp_stream_directions": 2 * self.tcp_connections,
            "readable_message_bytes": self.readable,
            "seconds_spanned": round(self.last - self.first, 3),
            "by_class": {
                kind: {
                    "packets": self.packets[kind],
                    "bytes": self.bytes[kind],
                    "share": round(self.bytes[kind] / total, 4),
                }
                for kind in sorted(self.bytes, key=self.bytes.__getitem__, reverse=True)
            },
        }


def _pick_class(rng: random.Random, planned: Counter[str]) -> str:
    """A traffic class, drawn in proportion to how far it is below its share."""
    total = sum(planned.values()) + 1_000_000
    deficits = {
        kind: max(share * total - planned[kind], 0.0)
        for kind, (_builder, share) in MIX.items()
    }
    if not any(deficits.values()):
        deficits = {kind: share for kind, (_builder, share) in MIX.items()}
    kinds = list(deficits)
    return rng.choices(kinds, [deficits[kind] for kind in kinds])[0]


def _conversations(
    rng: random.Random, net: Network, budget: int, stats: CaptureStats
) -> Iterator[tuple[float, Flow]]:
    """Plan conversations at Poisson start times until ``budget`` bytes are planned.

    Yields each flow with its planned start, in start order.
    """
    planned: Counter[str] = Counter()
    clock = START.timestamp()
    while sum(planned.values()) < budget:
        clock += rng.expovariate(1.0 / MEAN_GAP)
        kind = _pick_class(rng, planned)
        builder, _share = MIX[kind]
        flow_rng = random.Random(rng.getrandbits(64))
        for flow in builder(net, flow_rng, clock):
            planned[flow.kind] += flow.planned
            stats.tcp_connections += flow.connections
            stats.readable += flow.readable
            yield clock, flow


_Queued = tuple[float, int, TimedFrame, str, Iterator[TimedFrame]]


def _enqueue(
    queue: list[_Queued], order: int, kind: str, frames: Iterator[TimedFrame]
) -> int:
    """Queue the next frame of ``frames``, if any; returns the next tie-breaker."""
    timed = next(frames, None)
    if timed is not None:
        heapq.heappush(queue, (timed.timestamp, order, timed, kind, frames))
    return order + 1


def _merged(flows: Iterator[tuple[float, Flow]]) -> Iterator[tuple[str, TimedFrame]]:
    """Interleave the frames of every flow by timestamp, admitting flows lazily.

    No flow has a frame more than :data:`_EARLIEST_LEAD` seconds before its
    planned start, so a flow need only be admitted once the earliest queued
    frame is that close to its start. Only conversations in progress are held
    in memory, however long the capture.
    """
    queue: list[_Queued] = []
    order = 0
    upcoming = next(flows, None)
    while upcoming is not None or queue:
        while upcoming is not None and (
            not queue or upcoming[0] - _EARLIEST_LEAD <= queue[0][0]
        ):
            order = _enqueue(queue, order, upcoming[1].kind, upcoming[1].frames)
            upcoming = next(flows, None)
        if queue:
            _time, _order, timed, kind, frames = heapq.heappop(queue)
            yield kind, timed
            order = _enqueue(queue, order, kind, frames)


def write_capture(path: Path, size_mb: int, seed: int) -> tuple[CaptureStats, Network]:
    """Write about ``size_mb`` megabytes (10**6 bytes) of traffic to ``path``."""
    rng = random.Random(seed)
    net = Network.build(rng)
    stats = CaptureStats(seed, size_mb)
    budget = size_mb * 1_000_000
    with path.open("wb", buffering=1 << 20) as stream:
        writer = PcapWriter(stream)
        for kind, timed in _merged(_conversations(rng, net, budget, stats)):
            writer.write(timed.timestamp, timed.frame)
            stats.packets[kind] += 1
            stats.bytes[kind] += _PCAP_RECORD_HEADER + len(timed.frame)
            stats.last = timed.timestamp
            if not stats.first:
                stats.first = timed.timestamp
    return stats, net


def write_session(folder: Path, size_mb: int, seed: int) -> dict[str, Any]:
    """Write and seal a session folder; returns the summary also saved beside it.

    Refuses to write into a folder that holds anything but a previous
    session, so a mistyped ``--out`` cannot destroy unrelated files.
    """
    clear_session(folder)
    folder.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    stats, net = write_capture(folder / "traffic.pcap", size_mb, seed)
    write_yaml(folder / "session.yaml", _session_document(stats, seed))
    write_yaml(folder / "persona.yaml", net.primary.persona())
    seal_session(folder)
    summary = stats.summary()
    summary["generate_seconds"] = round(time.perf_counter() - began, 2)
    summary_path = folder.with_name(folder.name + ".json")
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


_SESSION_FILES = frozenset(
    {"session.yaml", "persona.yaml", "traffic.pcap", "flows.mitm", "manifest.json"}
)


def clear_session(folder: Path) -> None:
    """Delete a previous session's files from ``folder``; refuse anything else."""
    if not folder.exists():
        return
    strangers = [
        path.name for path in folder.iterdir() if path.name not in _SESSION_FILES
    ]
    if strangers:
        raise SystemExit(
            f"{folder}: holds files that are not a generated session "
            f"({', '.join(sorted(strangers)[:3])}); choose an empty or new folder"
        )
    for path in folder.iterdir():
        path.unlink()


def _session_document(stats: CaptureStats, seed: int) -> dict[str, Any]:
    """The ``session.yaml`` of a generated capture."""
    start, end = iso_time(stats.first), iso_time(stats.last + 1)
    return session_document(start, end, f"benchmarks.generate --seed {seed}")


def iso_time(moment: float) -> str:
    """``moment`` (seconds since the epoch) as ISO 8601 UTC, whole seconds."""
    return dt.datetime.fromtimestamp(int(moment), dt.UTC).isoformat()


def session_document(start: str, end: str, written_by: str) -> dict[str, Any]:
    """A ``session.yaml`` for the fictional toy, captured from ``start`` to ``end``."""
    return {
        "toy": {
            "name": "Pip the Robot Pup",
            "vendor": "BrightBuddy Toys (fictional)",
            "model": "BB-200",
            "firmware": "3.1.4",
        },
        "first_party_domains": [content.VENDOR_DOMAIN],
        "captured": {"at": start, "by": written_by},
        "phases": [{"name": "play", "start": start, "end": end}],
    }


def write_yaml(path: Path, document: object) -> None:
    """Write ``document`` as YAML under a line saying it is generated."""
    header = "# Generated by benchmarks/generate.py; every value is fictional.\n"
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    path.write_text(header + body, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, write the session and print what it holds."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.generate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--size-mb",
        type=int,
        default=200,
        help="target size of traffic.pcap in MB (10**6 bytes); default 200",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of every random choice; default 1"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="session folder to write; default benchmarks/out/toy-<size>mb-seed<seed>",
    )
    options = parser.parse_args(argv)
    folder = options.out or default_folder(options.size_mb, options.seed)
    summary = write_session(folder, options.size_mb, options.seed)
    print(f"wrote {folder}")
    print_summary(summary)


def default_folder(size_mb: int, seed: int) -> Path:
    """Where :func:`main` and the benchmark runner keep a capture by default."""
    return Path("benchmarks/out") / f"toy-{size_mb}mb-seed{seed}"


def print_summary(summary: dict[str, Any]) -> None:
    """Print a generated capture's size and its mix by traffic class."""
    print(
        f"{summary['bytes']:,} bytes, {summary['packets']:,} packets, "
        f"{summary['tcp_stream_directions']:,} TCP stream directions, "
        f"{summary['readable_message_bytes']:,} bytes of readable messages, "
        f"{summary['seconds_spanned']} s of traffic, "
        f"generated in {summary['generate_seconds']} s"
    )
    for kind, figures in summary["by_class"].items():
        share, packets = figures["share"], figures["packets"]
        print(f"  {kind:6} {share:7.2%} of bytes  {packets:>9,} packets")


if __name__ == "__main__":
    main()
