"""Read HTTP exchanges out of HAR 1.2 files (browsers, HTTP Toolkit, mitmproxy).

Each entry of ``log.entries`` becomes one :class:`HttpRequest` with its
response, transport TLS for https and wss URLs, and evidence
``entry N`` (1-based, in file order) timed by ``startedDateTime``. WebSocket
messages that Chrome and mitmproxy record in the ``_webSocketMessages``
extension field become :class:`WebSocketMessage` records.

The file is streamed: entries are decoded one at a time by
:class:`~toyaudit.ingest.jsonstream.JsonScanner`, so a file of hundreds of
megabytes never sits in memory as a whole.

User-visible limits:

* HAR keeps text, not wire bytes. Bodies are the exporting tool's text
  encoded as UTF-8 (or base64-decoded when ``encoding`` says so), and
  response bodies are usually stored after their content encoding was undone
  while the Content-Encoding header is kept.
* A form post saved only as ``params`` is rebuilt as ``name=value&...`` from
  the values as saved, without re-encoding them.
* HTTP/2 pseudo-headers (``:authority``, ``:path``...) are dropped, since
  they repeat the method and URL. HAR records no client address, and the
  server's only when ``serverIPAddress`` is present; missing addresses read
  ``0.0.0.0:0``.
* Entries larger than :data:`MAX_ENTRY_CHARS` are skipped with a note.
  Entries for other URL schemes (``data:``, ``blob:``, extensions) are
  counted in one note. Compressed ``.zhar`` files are not read.
"""

from __future__ import annotations

import binascii
import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO, TypeVar
from urllib.parse import SplitResult, urlsplit

from toyaudit.errors import IngestError
from toyaudit.ingest.jsonstream import JsonScanner, JsonStreamError, OversizedValue
from toyaudit.ingest.pcapfile import PROGRESS_STEP, ProgressCallback
from toyaudit.ingest.records import (
    Coverage,
    Endpoint,
    Evidence,
    HttpRequest,
    HttpResponse,
    Observation,
    Transport,
    WebSocketMessage,
)
from toyaudit.ingest.streambuf import Headers

__all__ = ["MAX_ENTRY_CHARS", "looks_like_har", "read_har"]

logger = logging.getLogger(__name__)

MAX_ENTRY_CHARS = 64 << 20
"""Longest entry decoded, in characters of JSON text (64 Mi)."""

MAX_ENTRY_NOTES = 20
"""Broken entries noted one by one per file; the rest are counted in one note."""

_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
"""URL scheme → the request's scheme as HttpRequest names it."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_PEER = "0.0.0.0"  # noqa: S104 - a placeholder, nothing binds to it
_Field = TypeVar("_Field", str, int)
_BOM = b"\xef\xbb\xbf"
_TEXT_OPCODE = 1  # RFC 6455 §5.2
_BINARY_OPCODE = 2


class _BrokenEntryError(Exception):
    """An entry lacks a field toyaudit needs, or has one of the wrong type."""


def looks_like_har(head: bytes) -> bool:
    """Whether a file's first bytes could start a HAR file: ``{`` after BOM/space."""
    return head.removeprefix(_BOM).lstrip(b" \t\r\n")[:1] == b"{"


def read_har(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int,
    progress: ProgressCallback | None = None,
) -> Iterator[Observation]:
    """Yield the observations of every entry of a HAR file.

    Raises :class:`IngestError` when the file is not JSON or has no
    ``log.entries`` array; an entry that cannot be used is noted in
    ``coverage`` by its number, and reading goes on. ``coverage.flows``
    counts the entries read.
    """
    scanner = JsonScanner(stream, MAX_ENTRY_CHARS)
    tally = _EntryTally(name, coverage)
    next_report = PROGRESS_STEP
    try:
        for index, entry in enumerate(_entries(scanner, name), start=1):
            tally.entries = index
            coverage.flows += 1
            yield from tally.observations(entry, index)
            if progress is not None and scanner.bytes_read >= next_report:
                progress(name, scanner.bytes_read, total)
                next_report = scanner.bytes_read + PROGRESS_STEP
    except JsonStreamError as error:
        _unreadable(name, coverage, tally.entries, error)
    tally.finish()
    if progress is not None:
        progress(name, total, total)


def _entries(scanner: JsonScanner, name: str) -> Iterator[Any]:
    """The decoded items of ``log.entries``, refusing a file that has none."""
    scanner.expect("{", "a JSON object")
    found = False
    for key in scanner.object_keys():
        if key != "log" or scanner.peek() != "{":
            scanner.value()
            continue
        scanner.expect("{", "the log object")
        for log_key in scanner.object_keys():
            if log_key != "entries" or scanner.peek() != "[":
                scanner.value()
                continue
            scanner.expect("[", "the entries array")
            found = True
            yield from scanner.array_items()
    if not found:
        raise IngestError(
            f"{name}: a JSON file without a log.entries array, so not a HAR file",
            "export the traffic as HAR 1.2 (browser developer tools: Save all "
            "as HAR; mitmproxy: --set hardump=FILE)",
        )


def _unreadable(
    name: str, coverage: Coverage, entries: int, error: JsonStreamError
) -> None:
    """Refuse a file broken before its first entry; note one that breaks later."""
    if entries == 0:
        raise IngestError(
            f"{name}: not a readable HAR file ({error})",
            "check that it is a complete HAR (JSON) export, copied completely",
        ) from error
    coverage.skip(
        f"{name}: not valid JSON after entry {entries} ({error}); "
        "the file may be cut short; entries after it are lost"
    )


class _EntryTally:
    """Turns entries into observations and keeps the notes about those it cannot."""

    def __init__(self, name: str, coverage: Coverage) -> None:
        self.name = name
        self.coverage = coverage
        self.entries = 0
        """Entries read so far, broken ones included."""
        self.broken = 0
        self.other_schemes: Counter[str] = Counter()

    def observations(self, entry: Any, index: int) -> list[Observation]:
        """The entry's observations, or none (with a note) when it is broken."""
        if isinstance(entry, OversizedValue):
            return self._broken(
                index, f"{entry.chars} characters long, over {MAX_ENTRY_CHARS}"
            )
        try:
            entry = _object(entry, "entry")
            url_text = _string(entry.get("request"), "url", "request")
            try:
                url = urlsplit(url_text)
                port = url.port
            except ValueError as error:
                raise _BrokenEntryError(f"request.url: {error}") from None
            scheme = url.scheme.lower()
            if scheme not in _SCHEMES:
                self.other_schemes[scheme or "(none)"] += 1
                return []
            evidence = Evidence(self.name, flow_id=f"entry {index}")
            return _entry_observations(entry, url, port, evidence)
        except _BrokenEntryError as error:
            return self._broken(index, str(error))

    def _broken(self, index: int, reason: str) -> list[Observation]:
        self.broken += 1
        if self.broken <= MAX_ENTRY_NOTES:
            self.coverage.skip(f"{self.name}: entry {index} skipped: {reason}")
        return []

    def finish(self) -> None:
        """Add the summary notes: entries not noted one by one, other schemes."""
        if self.broken > MAX_ENTRY_NOTES:
            self.coverage.skip(
                f"{self.name}: {self.broken - MAX_ENTRY_NOTES} more broken entries "
                "skipped"
            )
        if self.other_schemes:
            schemes = ", ".join(
                f"{count} {scheme}:"
                for scheme, count in sorted(self.other_schemes.items())
            )
            self.coverage.skip(
                f"{self.name}: entries of URLs that are not HTTP skipped ({schemes})"
            )


def _entry_observations(
    entry: dict[str, Any], url: SplitResult, port: int | None, evidence: Evidence
) -> list[Observation]:
    """The :class:`HttpRequest` of one entry and its WebSocket messages."""
    request = _object(entry.get("request"), "request")
    host = url.hostname
    if not host:
        raise _BrokenEntryError("request.url has no host")
    scheme = _SCHEMES[url.scheme.lower()]
    started = _optional(entry, "startedDateTime", str, "entry")
    evidence = Evidence(evidence.file, flow_id=evidence.flow_id, time=_epoch(started))
    server_ip = _optional(entry, "serverIPAddress", str, "entry") or _NO_PEER
    http_request = HttpRequest(
        evidence=evidence,
        client=Endpoint(_NO_PEER, 0),
        server=Endpoint(_clean(server_ip.strip("[]")), port or _DEFAULT_PORTS[scheme]),
        transport=Transport.TLS if scheme == "https" else Transport.PLAINTEXT,
        method=_clean(_string(request, "method", "request")),
        host=_clean(host),
        path=_clean(url.path or "/"),
        query=_clean(url.query),
        headers=_headers(request, "request"),
        body=_request_body(request),
        scheme=scheme,
        response=_response(entry),
    )
    observations: list[Observation] = [http_request]
    for message in _list(entry, "_webSocketMessages", "entry"):
        observation = _websocket_message(message, http_request)
        if observation is not None:
            observations.append(observation)
    return observations


def _request_body(request: dict[str, Any]) -> bytes:
    """``postData``: its text (base64 when it says so), else its form params."""
    post = request.get("postData")
    if post is None:
        return b""
    post = _object(post, "request.postData")
    text = _optional(post, "text", str, "request.postData")
    if text is not None:
        encoding = post.get("encoding") or post.get("_encoding")
        return _body(text, encoding, "request.postData")
    pairs = []
    for param in _list(post, "params", "request.postData"):
        param = _object(param, "request.postData.params item")
        field_name = _string(param, "name", "request.postData.params item")
        value = _optional(param, "value", str, "request.postData.params item")
        pairs.append(f"{field_name}={value or ''}")
    return "&".join(pairs).encode("utf-8", "surrogatepass")


def _response(entry: dict[str, Any]) -> HttpResponse | None:
    """The response, or None when the entry records none (status 0 or absent)."""
    response = entry.get("response")
    if response is None:
        return None
    response = _object(response, "response")
    status = _optional(response, "status", int, "response")
    if not status:
        return None
    content = response.get("content")
    content = {} if content is None else _object(content, "response.content")
    text = _optional(content, "text", str, "response.content")
    body = b""
    if text is not None:
        body = _body(text, content.get("encoding"), "response.content")
    return HttpResponse(
        status=status, headers=_headers(response, "response"), body=body
    )


def _websocket_message(message: Any, upgrade: HttpRequest) -> WebSocketMessage | None:
    """A Chrome/mitmproxy ``_webSocketMessages`` item; None for control frames."""
    message = _object(message, "_webSocketMessages item")
    opcode = _optional(message, "opcode", int, "_webSocketMessages item")
    if opcode not in (_TEXT_OPCODE, _BINARY_OPCODE):
        return None
    direction = _string(message, "type", "_webSocketMessages item")
    data = _optional(message, "data", str, "_webSocketMessages item") or ""
    sent_at = message.get("time")
    if not isinstance(sent_at, int | float) or isinstance(sent_at, bool):
        sent_at = upgrade.evidence.time
    evidence = upgrade.evidence
    return WebSocketMessage(
        evidence=Evidence(evidence.file, flow_id=evidence.flow_id, time=sent_at),
        client=upgrade.client,
        server=upgrade.server,
        transport=upgrade.transport,
        host=upgrade.host,
        path=upgrade.path,
        from_client=direction == "send",
        text=opcode == _TEXT_OPCODE,
        payload=_body(
            data, "base64" if opcode == _BINARY_OPCODE else None, "_webSocketMessages"
        ),
    )


def _body(text: str, encoding: Any, where: str) -> bytes:
    """The bytes of a HAR text field, base64-decoded when ``encoding`` says so."""
    if encoding == "base64":
        try:
            # Line breaks are tolerated; any other stray character is an error.
            compact = "".join(text.split()).encode("ascii")
            return binascii.a2b_base64(compact, strict_mode=True)
        except (binascii.Error, UnicodeEncodeError) as error:
            raise _BrokenEntryError(
                f"{where}.text is not valid base64 ({error})"
            ) from None
    # Lone surrogates (from "\ud800" escapes) have no UTF-8 form; keep them visible.
    return text.encode("utf-8", "surrogatepass")


def _headers(message: dict[str, Any], where: str) -> Headers:
    """``headers`` as (name, value) pairs, without HTTP/2 pseudo-headers."""
    headers = []
    for header in _list(message, "headers", where):
        header = _object(header, f"{where}.headers item")
        field_name = _string(header, "name", f"{where}.headers item")
        value = _optional(header, "value", str, f"{where}.headers item") or ""
        if not field_name.startswith(":"):
            headers.append((_clean(field_name), _clean(value)))
    return tuple(headers)


def _epoch(started: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 time; naive ones are read as UTC."""
    if started is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(started)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _clean(text: str) -> str:
    """Text safe to encode as UTF-8 later: lone surrogates become '?'."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _BrokenEntryError(f"{where} is missing or not an object")
    return value


def _string(container: Any, key: str, where: str) -> str:
    value = _object(container, where).get(key)
    if not isinstance(value, str):
        raise _BrokenEntryError(f"{where}.{key} is missing or not a string")
    return value


def _optional(
    container: dict[str, Any], key: str, kind: type[_Field], where: str
) -> _Field | None:
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise _BrokenEntryError(f"{where}.{key} is not a {kind.__name__}")
    return value


def _list(container: dict[str, Any], key: str, where: str) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _BrokenEntryError(f"{where}.{key} is not a list")
    return value
