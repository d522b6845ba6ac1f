"""Read a plain HTTP flow straight from its saved state.

mitmproxy builds a flow from its saved state with ``Flow.from_state``, which
type-checks every field of the flow, of its request and response and of both
connections (certificates, ALPN offers, cipher lists...) through typing
introspection: more than half of what ``FlowReader`` spends on a flow file
(benchmarks/README.md). An audit reads a handful of those fields. So for the
flow a toy's app makes most, an HTTP exchange without a WebSocket,
:func:`light_http_flow` reads them from the state dictionary, after
``compat.migrate_flow`` has brought it to the current format, and checks the
type of each field it reads. A state of any other kind or shape gives
``None``, and the caller builds the flow the slow way, which reads it or says
why it cannot.

The result answers the attributes :func:`~toyaudit.ingest.flows.flow_to_request`
uses, with the values mitmproxy's own ``HTTPFlow`` would give: the method
upper-cased and the host as ``Request.pretty_host`` works it out (the Host
header, or the ``:authority`` of HTTP/2 and 3, before the address connected
to). ``tests/ingest/test_flowstate.py`` holds the two readings side by side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

_AUTHORITY_FIRST = (b"HTTP/2.0", b"HTTP/3")
"""Versions whose ``:authority`` pseudo-header names the host before Host."""


@dataclass(frozen=True, slots=True)
class LightHeaders:
    """Header fields as mitmproxy keeps them: (name, value) bytes, in order."""

    fields: tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class LightRequest:
    """What an audit reads of a request, as ``mitmproxy.http.Request`` gives it."""

    method: str
    scheme: str
    pretty_host: str
    path: str
    headers: LightHeaders
    raw_content: bytes | None
    timestamp_start: float


@dataclass(frozen=True, slots=True)
class LightResponse:
    """What an audit reads of a response."""

    status_code: int
    headers: LightHeaders
    raw_content: bytes | None


@dataclass(frozen=True, slots=True)
class LightConnection:
    """The addresses of one end of a flow: (host, port) lists, or None."""

    peername: Any
    address: Any = None


@dataclass(frozen=True, slots=True)
class LightHttpFlow:
    """A plain HTTP flow read from its state, answering as an ``HTTPFlow`` does."""

    id: str
    request: LightRequest
    response: LightResponse | None
    client_conn: LightConnection
    server_conn: LightConnection
    type: str = "http"
    websocket: None = None


def light_http_flow(state: dict[Any, Any]) -> LightHttpFlow | None:
    """The flow of a migrated state, or None when it is not a plain HTTP flow.

    None also when a field read here has an unexpected type: the caller then
    builds the flow with mitmproxy, which reads it or explains what is wrong.
    """
    if state.get("type") != "http" or state.get("websocket") is not None:
        return None
    flow_id = state.get("id")
    request = _request(state.get("request"))
    response_state = state.get("response")
    response = None if response_state is None else _response(response_state)
    client = _connection(state.get("client_conn"))
    server = _connection(state.get("server_conn"))
    if (
        type(flow_id) is not str
        or request is None
        or (response is None and response_state is not None)
        or client is None
        or server is None
    ):
        return None
    return LightHttpFlow(flow_id, request, response, client, server)


def _request(state: Any) -> LightRequest | None:
    """The request of a flow's state; None when a field is not as expected."""
    if type(state) is not dict:
        return None
    method, scheme, path = state.get("method"), state.get("scheme"), state.get("path")
    authority, version = state.get("authority"), state.get("http_version")
    host, started = state.get("host"), state.get("timestamp_start")
    headers = _headers(state.get("headers"))
    content = state.get("content")
    if (
        type(method) is not bytes
        or type(scheme) is not bytes
        or type(path) is not bytes
        or type(authority) is not bytes
        or type(version) is not bytes
        or type(host) is not str
        or not isinstance(started, int | float)
        or headers is None
        or not (content is None or type(content) is bytes)
    ):
        return None
    return LightRequest(
        method=method.decode("utf-8", "surrogateescape").upper(),
        scheme=scheme.decode("utf-8", "surrogateescape"),
        pretty_host=_pretty_host(host, authority, version, headers),
        path=path.decode("utf-8", "surrogateescape"),
        headers=headers,
        raw_content=content,
        timestamp_start=float(started),
    )


def _response(state: Any) -> LightResponse | None:
    """The response of a flow's state; None when a field is not as expected."""
    if type(state) is not dict:
        return None
    status, content = state.get("status_code"), state.get("content")
    headers = _headers(state.get("headers"))
    if (
        type(status) is not int
        or headers is None
        or not (content is None or type(content) is bytes)
    ):
        return None
    return LightResponse(status, headers, content)


def _headers(state: Any) -> LightHeaders | None:
    """Saved header fields, [[name, value], ...] in bytes; None otherwise."""
    if type(state) not in (list, tuple):
        return None
    fields = []
    for field in state:
        if (
            type(field) not in (list, tuple)
            or len(field) != 2
            or type(field[0]) is not bytes
            or type(field[1]) is not bytes
        ):
            return None
        fields.append((field[0], field[1]))
    return LightHeaders(tuple(fields))


def _connection(state: Any) -> LightConnection | None:
    """The peer and address of a saved connection; None when malformed."""
    if type(state) is not dict:
        return None
    peername, address = state.get("peername"), state.get("address")
    if not (_address(peername) and _address(address)):
        return None
    return LightConnection(peername, address)


def _address(value: Any) -> bool:
    """Whether a saved address is absent or a (host, port, ...) sequence."""
    return value is None or (
        type(value) in (list, tuple)
        and len(value) >= 2
        and type(value[0]) is str
        and type(value[1]) is int
    )


def _pretty_host(
    host: str, authority: bytes, version: bytes, headers: LightHeaders
) -> str:
    """The host a request named, as ``Request.pretty_host`` works it out."""
    named = _host_header(authority, version, headers)
    if not named:
        return host
    from mitmproxy.net.http.url import parse_authority

    return parse_authority(named, check=False)[0]


def _host_header(authority: bytes, version: bytes, headers: LightHeaders) -> str | None:
    """``Request.host_header``: the Host header, or the authority first in HTTP/2+."""
    values = [
        value.decode("utf-8", "surrogateescape")
        for name, value in headers.fields
        if name.lower() == b"host"
    ]
    host = ", ".join(values) if values else None
    if version in _AUTHORITY_FIRST:
        return _authority_text(authority) or host
    return host


def _authority_text(authority: bytes) -> str:
    """``Request.authority``: IDNA-decoded where it can be, else as UTF-8."""
    try:
        return authority.decode("idna")
    except UnicodeError:
        return authority.decode("utf8", "surrogateescape")
