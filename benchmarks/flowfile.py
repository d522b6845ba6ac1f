"""Generate a large mitmproxy flow file of the toy's decrypted HTTPS exchanges.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.flowfile --size-mb 200 --seed 1

writes a sealed session folder holding ``session.yaml``, ``persona.yaml`` and
``flows.mitm``: one HTTP flow per exchange of :func:`benchmarks.content.
http_exchange`, as ``mitmdump -w`` would save them after decrypting the
toy's and app's HTTPS traffic. Binary bodies (voice, audio, images,
firmware) are cut to :data:`MAX_BINARY_BODY` bytes so that, as in the
performance notes' flow file, the file holds many flows rather than a few
large ones. Flow and connection ids and timestamps come from the seed, so
the same arguments give the same flows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

from mitmproxy import connection, http
from mitmproxy.io import FlowWriter

from benchmarks import content, generate
from benchmarks.flows import Device, Network
from toyaudit.session import seal_session

MAX_BINARY_BODY = 16 << 10
"""Longest binary body kept in a flow, in bytes."""
_PROXY_ADDRESS = ("192.168.50.2", 8080)
"""Where the auditor's mitmproxy listened."""


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _headers(fields: dict[str, str]) -> http.Headers:
    return http.Headers(
        [(name.encode(), value.encode()) for name, value in fields.items()]
    )


def _flow(
    rng: random.Random,
    net: Network,
    device: Device,
    exchange: content.Exchange,
    clock: float,
) -> http.HTTPFlow:
    """One decrypted HTTPS exchange as a mitmproxy flow, timestamps from ``clock``."""
    client = connection.Client(
        peername=(device.host.ip, net.port(device.host)),
        sockname=_PROXY_ADDRESS,
        timestamp_start=clock,
        id=_uuid(rng),
        tls=True,
        sni=exchange.host,
    )
    server = connection.Server(
        address=(exchange.host, 443),
        peername=(net.server(exchange.host).ip, 443),
        timestamp_start=clock + 0.010,
        id=_uuid(rng),
        tls=True,
        sni=exchange.host,
    )
    flow = http.HTTPFlow(client, server)
    flow.id = _uuid(rng)
    url = f"https://{exchange.host}{exchange.target}"
    request = http.Request.make(
        exchange.method, url, exchange.request_body, _headers(exchange.request_headers)
    )
    request.timestamp_start, request.timestamp_end = clock + 0.02, clock + 0.03
    response = http.Response.make(
        exchange.status, exchange.response_body, _headers(exchange.response_headers)
    )
    response.timestamp_start, response.timestamp_end = clock + 0.08, clock + 0.09
    flow.request, flow.response = request, response
    return flow


def _cut(exchange: content.Exchange) -> content.Exchange:
    """Cut binary bodies to :data:`MAX_BINARY_BODY`; JSON bodies stay whole."""
    if exchange.text:
        return exchange
    return dataclasses.replace(
        exchange,
        request_body=exchange.request_body[:MAX_BINARY_BODY],
        response_body=exchange.response_body[:MAX_BINARY_BODY],
    )


def write_flow_file(
    path: Path, size_mb: int, seed: int
) -> tuple[dict[str, Any], Network]:
    """Write HTTP flows to ``path`` until it holds ``size_mb`` MB (10**6 bytes)."""
    rng = random.Random(seed)
    net = Network.build(rng)
    clock = generate.START.timestamp()
    flows = body_bytes = 0
    with path.open("wb", buffering=1 << 20) as stream:
        # mitmproxy leaves FlowWriter's __init__ unannotated.
        writer = FlowWriter(stream)  # type: ignore[no-untyped-call]
        while stream.tell() < size_mb * 1_000_000:
            clock += rng.expovariate(1.0 / generate.MEAN_GAP)
            device = net.pick(rng)
            exchange = _cut(content.http_exchange(rng, device.profile, clock))
            writer.add(_flow(rng, net, device, exchange, clock))
            flows += 1
            body_bytes += len(exchange.request_body) + len(exchange.response_body)
        size = stream.tell()
    summary: dict[str, Any] = {
        "seed": seed,
        "size_mb": size_mb,
        "bytes": size,
        "flows": flows,
        "body_bytes": body_bytes,
        "first": generate.START.timestamp(),
        "last": clock,
    }
    return summary, net


def write_flow_session(folder: Path, size_mb: int, seed: int) -> dict[str, Any]:
    """Write and seal a session whose only evidence is ``flows.mitm``.

    Returns the summary also saved as ``<folder>.json`` beside the folder.
    """
    generate.clear_session(folder)
    folder.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    summary, net = write_flow_file(folder / "flows.mitm", size_mb, seed)
    start = generate.iso_time(summary.pop("first"))
    end = generate.iso_time(summary.pop("last") + 1)
    document = generate.session_document(
        start, end, f"benchmarks.flowfile --seed {seed}"
    )
    generate.write_yaml(folder / "session.yaml", document)
    generate.write_yaml(folder / "persona.yaml", net.primary.persona())
    seal_session(folder)
    summary["generate_seconds"] = round(time.perf_counter() - began, 2)
    summary_path = folder.with_name(folder.name + ".json")
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def default_folder(size_mb: int, seed: int) -> Path:
    """Where :func:`main` and the benchmark runner keep a flow session by default."""
    return Path("benchmarks/out") / f"flows-{size_mb}mb-seed{seed}"


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, write the flow session and print its size."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.flowfile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--size-mb",
        type=int,
        default=200,
        help="target size of flows.mitm in MB (10**6 bytes); default 200",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of every random choice; default 1"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="session folder to write; "
        "default benchmarks/out/flows-<size>mb-seed<seed>",
    )
    options = parser.parse_args(argv)
    folder = options.out or default_folder(options.size_mb, options.seed)
    summary = write_flow_session(folder, options.size_mb, options.seed)
    print(f"wrote {folder}")
    print_summary(summary)


def print_summary(summary: dict[str, Any]) -> None:
    """Print a flow file's size, flow count and body bytes."""
    print(
        f"{summary['bytes']:,} bytes, {summary['flows']:,} flows, "
        f"{summary['body_bytes']:,} bytes of bodies, "
        f"generated in {summary['generate_seconds']} s"
    )


if __name__ == "__main__":
    main()
