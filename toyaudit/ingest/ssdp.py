"""Read SSDP and other HTTP-over-UDP messages (UPnP discovery).

A toy that looks for, or announces itself to, devices on the home network
sends SSDP (UPnP Device Architecture 2.0 §1): HTTP-shaped messages over UDP,
usually to port 1900. Their headers name the device (``SERVER``, ``USN``,
``LOCATION``) and the services it looks for (``ST``). Any UDP datagram that
starts with an HTTP/1.x request line (``M-SEARCH * HTTP/1.1``, ``NOTIFY *
HTTP/1.1``) or status line is read the same way, whatever its port.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from toyaudit.ingest.http import REQUEST_LINE, STATUS_LINE
from toyaudit.ingest.streambuf import Headers

SSDP_PORT = 1900
MAX_HEADERS = 64
"""Header fields kept per message."""

_LINE_END = re.compile(r"\r?\n")


class HttpOverUdp(NamedTuple):
    """The start line and header fields of one HTTP-over-UDP datagram."""

    start_line: str
    headers: Headers


def looks_like_http(payload: bytes) -> bool:
    """Whether a datagram starts with an HTTP/1.x request or status line."""
    return bool(REQUEST_LINE.match(payload) or STATUS_LINE.match(payload))


def parse_ssdp(payload: bytes) -> HttpOverUdp | None:
    """Read the start line and headers; None when it is not HTTP-shaped."""
    if not looks_like_http(payload):
        return None
    head = payload.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    lines = _LINE_END.split(head.decode("utf-8", "backslashreplace"))
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip() and len(headers) < MAX_HEADERS:
            headers.append((name.strip(), value.strip()))
    return HttpOverUdp(lines[0], tuple(headers))
