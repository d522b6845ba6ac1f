"""Pick the fields of a plain HTTP flow out of its record, parsing nothing else.

A flow record is a tnetstring: ``LENGTH:PAYLOAD`` and a type byte, nested
(RFC-less, but simple: ``,`` bytes, ``;`` text, ``#`` integer, ``^`` float,
``!`` boolean, ``~`` null, ``]`` list, ``}`` dictionary of key and value
pairs). mitmproxy's reader parses every value of every record, finding each
length prefix byte by byte in Python; most of a record is the two
connections' TLS details, which an audit never reads. Because every value
states its length, a value nobody needs can be stepped over unread. So
:func:`scan_http_flow` walks the record's top dictionary, reads the request,
the response, the flow's id and the peers' addresses, and steps over the
rest: about a third of the work of parsing it all.

It answers only for the common case: an HTTP flow without a WebSocket in the
current flow format (``version`` equal to mitmproxy's
``FLOW_FORMAT_VERSION``, which mitmproxy 11 and 12 both write). Anything
else, a record that is not well formed included, gives None, and the caller
parses the record with mitmproxy, which migrates older formats and names
what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

_LONGEST_PREFIX = 12
"""Digits a length prefix may have, as mitmproxy's reader accepts."""
_REQUEST = frozenset(
    {"method", "scheme", "host", "path", "authority", "http_version", "headers",
     "content", "timestamp_start"}
)  # fmt: skip
_RESPONSE = frozenset({"status_code", "headers", "content"})
_CLIENT = frozenset({"peername"})
_SERVER = frozenset({"peername", "address"})

_BYTES, _TEXT, _INTEGER, _FLOAT = ord(","), ord(";"), ord("#"), ord("^")
_BOOLEAN, _NULL, _LIST, _DICT = ord("!"), ord("~"), ord("]"), ord("}")

Span = tuple[int, int, int]
"""Where a value's payload starts and ends in the record, and its type byte."""


def scan_http_flow(record: bytes, version: int) -> dict[str, Any] | None:
    """The state of a plain HTTP flow, holding only what an audit reads.

    ``version`` is the flow format the caller's mitmproxy reads natively.
    The state has the keys and value types ``Flow.from_state`` would get
    for ``id``, ``type``, ``websocket``, ``request``, ``response`` and both
    connections' addresses. None when the record is of another kind or
    format, or not well formed.
    """
    try:
        start, end, kind, after = _span(record, 0)
        if kind != _DICT or after != len(record):
            return None
        top = dict(_entries(record, start, end))
        if (
            _value(record, top["version"]) != version
            or _value(record, top["type"]) != "http"
            or top["websocket"][2] != _NULL
        ):
            return None
        response = top["response"]
        return {
            "id": _value(record, top["id"]),
            "type": "http",
            "websocket": None,
            "request": _picked(record, top["request"], _REQUEST),
            "response": (
                None if response[2] == _NULL else _picked(record, response, _RESPONSE)
            ),
            "client_conn": _picked(record, top["client_conn"], _CLIENT),
            "server_conn": _picked(record, top["server_conn"], _SERVER),
        }
    except (ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError):
        return None


def _span(data: bytes, position: int) -> tuple[int, int, int, int]:
    """(payload start, payload end, type byte, next position) of one value."""
    colon = data.index(b":", position, position + _LONGEST_PREFIX + 1)
    digits = data[position:colon]
    if not digits.isdigit():
        raise ValueError(f"no length prefix at byte {position}")
    start = colon + 1
    end = start + int(digits)
    return start, end, data[end], end + 1


def _entries(data: bytes, start: int, end: int) -> Iterator[tuple[Any, Span]]:
    """The keys of a dictionary payload, each with its value's span.

    The hot loop of the scan, so the length prefixes are read inline.
    """
    index, position = data.index, start
    while position < end:
        colon = index(b":", position, position + _LONGEST_PREFIX + 1)
        key_start = colon + 1
        key_end = key_start + int(data[position:colon])
        key: str | bytes = data[key_start:key_end]
        if data[key_end] == _TEXT:
            key = data[key_start:key_end].decode("utf-8")
        elif data[key_end] != _BYTES:
            raise ValueError(f"a key that is not text at byte {position}")
        position = key_end + 1
        colon = index(b":", position, position + _LONGEST_PREFIX + 1)
        value_start = colon + 1
        value_end = value_start + int(data[position:colon])
        if key_end < key_start or value_end < value_start:  # "-5:" would loop
            raise ValueError(f"a negative length before byte {value_start}")
        yield key, (value_start, value_end, data[value_end])
        position = value_end + 1
    if position != end:
        raise ValueError("a dictionary runs past its length")


def _picked(data: bytes, span: Span, wanted: frozenset[str]) -> dict[str, Any] | None:
    """The ``wanted`` keys of a dictionary value, parsed; None for a null."""
    start, end, kind = span
    if kind == _NULL:
        return None
    if kind != _DICT:
        raise ValueError("not a dictionary")
    return {
        key: _value(data, value)
        for key, value in _entries(data, start, end)
        if key in wanted
    }


def _value(data: bytes, span: Span) -> Any:
    """A whole value, parsed as mitmproxy's reader parses it."""
    start, end, kind = span
    if kind == _LIST:
        items = []
        position = start
        while position < end:
            item_start, item_end, item_kind, position = _span(data, position)
            items.append(_value(data, (item_start, item_end, item_kind)))
        if position != end:
            raise ValueError("a list runs past its length")
        return items
    if kind == _DICT:
        return {key: _value(data, value) for key, value in _entries(data, start, end)}
    return _scalar(data, start, end, kind)


def _scalar(data: bytes, start: int, end: int, kind: int) -> Any:
    """A value that holds no other values."""
    if kind == _BYTES:
        return data[start:end]
    if kind == _TEXT:
        return data[start:end].decode("utf-8")
    if kind == _INTEGER:
        return int(data[start:end])
    if kind == _FLOAT:
        return float(data[start:end])
    if kind == _NULL and start == end:
        return None
    if kind == _BOOLEAN and data[start:end] in (b"true", b"false"):
        return data[start:end] == b"true"
    raise ValueError(f"no value of type {chr(kind)!r} at byte {start}")
