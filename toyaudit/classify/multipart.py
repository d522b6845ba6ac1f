"""Split a multipart/form-data body (RFC 7578) into its parts, bounded.

An app uploads a voice message, a selfie and the child's first name in one
request: each is a *part* between boundary lines (RFC 2046 §5.1.1), with its
own headers, a ``Content-Disposition`` naming the form field (and a file
name for files) and often a ``Content-Type``. :func:`split_parts` finds the
boundaries with ``bytes.find``, so a large upload costs little; it reads at
most ``max_parts`` parts and keeps at most ``max_bytes`` of each part's
content, reporting the size of the whole part. A body whose closing boundary
is missing (a capture that ended early) gives its last part up to the end.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

logger = logging.getLogger(__name__)

_HEADER_END = (b"\r\n\r\n", b"\n\n")
_MAX_HEADER_BYTES = 8 << 10
"""Part headers longer than this are not headers: the part is read as content."""


class Part(NamedTuple):
    """One part of a multipart body."""

    name: str
    """The form field name from ``Content-Disposition``; "" when there is none."""
    filename: str | None
    """The file name, for a part that is an uploaded file."""
    content_type: str
    """Declared media type, lower-case, without parameters; "" when none."""
    content: bytes
    """The content, cut at the caller's ``max_bytes``."""
    size: int
    """Size of the whole content in bytes."""


class MultipartBody(NamedTuple):
    """The parts of one body, and the limit reading stopped at, if any."""

    parts: list[Part]
    limit: str | None
    """``max_parts`` when parts beyond that limit were left unread."""


def boundary_of(content_type: str) -> str | None:
    """The ``boundary`` parameter of a full Content-Type header value."""
    # The email package is imported here, for the few multipart bodies: it
    # would cost every audit a fiftieth of a second at start-up.
    from email.message import Message
    from email.utils import collapse_rfc2231_value

    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if boundary is None:
        return None
    text = collapse_rfc2231_value(boundary).strip()
    return text or None


def split_parts(
    body: bytes, boundary: str, max_parts: int, max_bytes: int
) -> MultipartBody | None:
    """The parts of ``body``, or None when no boundary line is found."""
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    position = _first_delimiter(body, delimiter)
    if position < 0:
        return None
    parts: list[Part] = []
    while True:
        position += len(delimiter)
        if body.startswith(b"--", position):
            return MultipartBody(parts, None)  # the close delimiter
        line_end = body.find(b"\n", position)
        if line_end < 0:
            return MultipartBody(parts, None)
        if len(parts) >= max_parts:
            logger.debug("multipart body: parts after %d not read", max_parts)
            return MultipartBody(parts, "max_parts")
        start = line_end + 1
        following = body.find(b"\n" + delimiter, start)
        end = len(body) if following < 0 else following
        if end > start and body[end - 1 : end] == b"\r":
            end -= 1
        parts.append(_part(body, start, end, max_bytes))
        if following < 0:
            return MultipartBody(parts, None)
        position = following + 1


def _first_delimiter(body: bytes, delimiter: bytes) -> int:
    """Offset of the first boundary line: at the start, or after a line break."""
    if body.startswith(delimiter):
        return 0
    found = body.find(b"\n" + delimiter)
    return found + 1 if found >= 0 else -1


def _part(body: bytes, start: int, end: int, max_bytes: int) -> Part:
    """Read one part's headers and cut its content."""
    window = body[start : min(end, start + _MAX_HEADER_BYTES)]
    head_end, separator = -1, b""
    for candidate in _HEADER_END:
        found = window.find(candidate)
        if found >= 0 and (head_end < 0 or found < head_end):
            head_end, separator = found, candidate
    if window.startswith((b"\r\n", b"\n")):
        head_end, separator = 0, window[: window.index(b"\n") + 1]
    if head_end < 0:
        content = body[start : min(end, start + max_bytes)]
        return Part("", None, "", content, end - start)
    from email.parser import BytesHeaderParser
    from email.utils import collapse_rfc2231_value

    headers = BytesHeaderParser().parsebytes(window[:head_end])
    content_start = start + head_end + len(separator)
    name = headers.get_param("name", header="content-disposition")
    content_type = str(headers.get("content-type", "")).split(";")[0]
    return Part(
        name=collapse_rfc2231_value(name) if name is not None else "",
        filename=headers.get_filename(),
        content_type=content_type.strip().lower(),
        content=body[content_start : min(end, content_start + max_bytes)],
        size=max(0, end - content_start),
    )
