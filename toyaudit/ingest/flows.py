"""Read HTTP exchanges out of mitmproxy flow files.

A flow file holds what mitmproxy decrypted, so HTTPS exchanges appear here in
clear. Each HTTP flow becomes one :class:`HttpRequest` (transport TLS when the
request scheme was https) with its response attached. Bodies are kept raw:
content encodings are not undone, and the Content-Encoding header stays in
the headers so classification can undo it and say so.

User-visible limits: TCP, UDP and DNS flows, and WebSocket messages, are
counted in one coverage note but not analysed yet. A file damaged partway
keeps the flows before the damage and notes where it stopped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO

from toyaudit.errors import IngestError
from toyaudit.ingest.http import host_without_port
from toyaudit.ingest.pcapfile import PROGRESS_STEP, ProgressCallback
from toyaudit.ingest.records import (
    Coverage,
    Endpoint,
    Evidence,
    HttpRequest,
    HttpResponse,
    Observation,
    Transport,
)
from toyaudit.ingest.streambuf import Headers

logger = logging.getLogger(__name__)

_UNKNOWN_PEER = ("0.0.0.0", 0)  # noqa: S104 - a placeholder, nothing binds to it


def read_flows(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int,
    progress: ProgressCallback | None = None,
) -> Iterator[Observation]:
    """Yield one :class:`HttpRequest` per HTTP flow of a mitmproxy flow file.

    Raises :class:`IngestError` when not even the first flow can be read; a
    file that breaks later keeps the flows read so far and records where in
    ``coverage``.
    """
    from mitmproxy import exceptions, http
    from mitmproxy.io import FlowReader

    unreadable = (exceptions.FlowReadException, KeyError, ValueError, TypeError)
    flows = iter(FlowReader(stream).stream())
    other_flows: Counter[str] = Counter()
    next_report = PROGRESS_STEP
    while True:
        position = stream.tell()
        try:
            flow = next(flows)
        except StopIteration:
            break
        except unreadable as error:
            _unreadable(name, coverage, position, error)
            break
        coverage.flows += 1
        if isinstance(flow, http.HTTPFlow):
            yield flow_to_request(flow, name)
        else:
            other_flows[flow.type.upper()] += 1
        if progress is not None and stream.tell() >= next_report:
            progress(name, stream.tell(), total)
            next_report = stream.tell() + PROGRESS_STEP
    _note_other_flows(name, coverage, other_flows)
    if progress is not None:
        progress(name, total, total)


def _unreadable(name: str, coverage: Coverage, position: int, error: Exception) -> None:
    """Refuse a file unreadable from its start; note one that breaks later."""
    if coverage.flows == 0 and position == 0:
        raise IngestError(
            f"{name}: not a readable mitmproxy flow file ({error})",
            "check it was written by mitmproxy (mitmdump -w) and copied completely",
        ) from error
    coverage.skip(
        f"{name}: unreadable from byte {position} (after flow "
        f"{coverage.flows}): {error}; flows after it are lost"
    )


def _note_other_flows(name: str, coverage: Coverage, other_flows: Counter[str]) -> None:
    """One coverage note for the flows of kinds not analysed yet."""
    if other_flows:
        kinds = ", ".join(
            f"{count} {kind}" for kind, count in sorted(other_flows.items())
        )
        coverage.skip(f"{name}: {kinds} flows not analysed yet")


def flow_to_request(flow: Any, name: str) -> HttpRequest:
    """Turn a mitmproxy ``HTTPFlow`` into an :class:`HttpRequest`."""
    request = flow.request
    path, _, query = request.path.partition("?")
    response = None
    if flow.response is not None:
        response = HttpResponse(
            status=flow.response.status_code,
            headers=_headers(flow.response.headers),
            body=flow.response.raw_content or b"",
        )
    tls = request.scheme == "https"
    return HttpRequest(
        evidence=Evidence(file=name, flow_id=flow.id),
        client=_endpoint(flow.client_conn.peername),
        server=_endpoint(flow.server_conn.peername or flow.server_conn.address),
        transport=Transport.TLS if tls else Transport.PLAINTEXT,
        method=request.method,
        host=host_without_port(request.pretty_host),
        path=path,
        query=query,
        headers=_headers(request.headers),
        body=request.raw_content or b"",
        scheme=request.scheme,
        response=response,
    )


def _headers(headers: Any) -> Headers:
    """mitmproxy headers as (name, value) text pairs, in wire order."""
    return tuple(
        (field_name.decode("latin-1"), value.decode("latin-1"))
        for field_name, value in headers.fields
    )


def _endpoint(peer: Any) -> Endpoint:
    """An endpoint from a mitmproxy (host, port, ...) tuple, or a placeholder."""
    if not peer:
        peer = _UNKNOWN_PEER
    return Endpoint(str(peer[0]), int(peer[1]))
