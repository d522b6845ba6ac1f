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
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import SplitResult, urlsplit

from toyaudit.errors import IngestError
from toyaudit.ingest.coverage import FirstNotes
from toyaudit.ingest.harfields import (
    BrokenEntryError,
    json_list,
    json_object,
    json_string,
    optional_field,
)
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
from toyaudit.ingest.shard import Shard
from toyaudit.ingest.streambuf import Headers

__all__ = ["MAX_ENTRY_CHARS", "HarTally", "looks_like_har", "read_har"]

logger = logging.getLogger(__name__)

MAX_ENTRY_CHARS = 64 << 20
"""Longest entry decoded, in characters of JSON text (64 Mi)."""

MAX_ENTRY_NOTES = 20
"""Broken entries noted one by one per file; the rest are counted in one note."""

_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
"""URL scheme → the request's scheme as HttpRequest names it."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_PEER = "0.0.0.0"  # noqa: S104 - a placeholder, nothing binds to it
_BOM = b"\xef\xbb\xbf"
_TEXT_OPCODE = 1  # RFC 6455 §5.2
_BINARY_OPCODE = 2


def looks_like_har(head: bytes) -> bool:
    """Whether a file's first bytes could start a HAR file: ``{`` after BOM/space."""
    return head.removeprefix(_BOM).lstrip(b" \t\r\n")[:1] == b"{"


def read_har(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int,
    progress: ProgressCallback | None = None,
    shard: Shard | None = None,
) -> Iterator[Observation]:
    """Yield the observations of every entry of a HAR file.

    Raises :class:`IngestError` when the file is not JSON or has no
    ``log.entries`` array; an entry that cannot be used is noted in
    ``coverage`` by its number, and reading goes on. ``coverage.flows``
    counts the entries read. With a ``shard``, only its entries are turned
    into observations (entry ``i``, from 0, is shard ``i % count``'s).
    """
    shard = shard or Shard(0, 1)
    scanner = JsonScanner(stream, MAX_ENTRY_CHARS)
    reader = _EntryReader(name)
    next_report = PROGRESS_STEP
    try:
        for index, entry in enumerate(_entries(scanner, name), start=1):
            reader.entries = index
            if shard.owns_position(index - 1):
                coverage.flows += 1
                yield from reader.observations(entry, index)
            if progress is not None and scanner.bytes_read >= next_report:
                progress(name, scanner.bytes_read, total)
                next_report = scanner.bytes_read + PROGRESS_STEP
    except JsonStreamError as error:
        reader.tally.cut = _unreadable(name, reader.entries, error)
    coverage.add_tally(reader.tally)
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


def _unreadable(name: str, entries: int, error: JsonStreamError) -> str:
    """Refuse a file broken before its first entry; word the note for one later."""
    if entries == 0:
        raise IngestError(
            f"{name}: not a readable HAR file ({error})",
            "check that it is a complete HAR (JSON) export, copied completely",
        ) from error
    return (
        f"{name}: not valid JSON after entry {entries} ({error}); "
        "the file may be cut short; entries after it are lost"
    )


@dataclass(slots=True)
class HarTally:
    """What reading one HAR file could not see, summed over shards."""

    name: str
    broken: FirstNotes = field(default_factory=lambda: FirstNotes(MAX_ENTRY_NOTES))
    """One note per entry that could not be used, ranked by entry number."""
    cut: str | None = None
    """Where the JSON breaks off; every shard scans all of it and finds the same."""
    other_schemes: Counter[str] = field(default_factory=Counter)
    """Entries of URLs that are not HTTP, by scheme."""

    @property
    def key(self) -> str:
        """Shards merge the tallies of the same file."""
        return f"{self.name} har"

    def merge(self, other: HarTally) -> None:
        """Add another shard's counts."""
        self.broken.merge(other.broken)
        self.cut = self.cut or other.cut
        self.other_schemes.update(other.other_schemes)

    def notes(self) -> list[str]:
        """Nothing here is informational: every note is a problem."""
        return []

    def problems(self) -> list[str]:
        """The coverage problems of the file, in a fixed order."""
        notes = self.broken.texts()
        if self.cut is not None:
            notes.append(self.cut)
        if self.broken.left_out:
            notes.append(
                f"{self.name}: {self.broken.left_out} more broken entries skipped"
            )
        if self.other_schemes:
            schemes = ", ".join(
                f"{count} {scheme}:"
                for scheme, count in sorted(self.other_schemes.items())
            )
            notes.append(
                f"{self.name}: entries of URLs that are not HTTP skipped ({schemes})"
            )
        return notes


class _EntryReader:
    """Turns entries into observations and tallies those it cannot."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tally = HarTally(name)
        self.entries = 0
        """Entries scanned so far, other shards' and broken ones included."""

    def observations(self, entry: Any, index: int) -> list[Observation]:
        """The entry's observations, or none (with a note) when it is broken."""
        if isinstance(entry, OversizedValue):
            return self._broken(
                index, f"{entry.chars} characters long, over {MAX_ENTRY_CHARS}"
            )
        try:
            entry = json_object(entry, "entry")
            url_text = json_string(entry.get("request"), "url", "request")
            try:
                url = urlsplit(url_text)
                port = url.port
            except ValueError as error:
                raise BrokenEntryError(f"request.url: {error}") from None
            scheme = url.scheme.lower()
            if scheme not in _SCHEMES:
                self.tally.other_schemes[scheme or "(none)"] += 1
                return []
            evidence = Evidence(self.name, flow_id=f"entry {index}")
            return _entry_observations(entry, url, port, evidence)
        except BrokenEntryError as error:
            return self._broken(index, str(error))

    def _broken(self, index: int, reason: str) -> list[Observation]:
        self.tally.broken.add(index, f"{self.name}: entry {index} skipped: {reason}")
        return []


def _entry_observations(
    entry: dict[str, Any], url: SplitResult, port: int | None, evidence: Evidence
) -> list[Observation]:
    """The :class:`HttpRequest` of one entry and its WebSocket messages."""
    request = json_object(entry.get("request"), "request")
    host = url.hostname
    if not host:
        raise BrokenEntryError("request.url has no host")
    scheme = _SCHEMES[url.scheme.lower()]
    started = optional_field(entry, "startedDateTime", str, "entry")
    evidence = Evidence(evidence.file, flow_id=evidence.flow_id, time=_epoch(started))
    server_ip = optional_field(entry, "serverIPAddress", str, "entry") or _NO_PEER
    http_request = HttpRequest(
        evidence=evidence,
        client=Endpoint(_NO_PEER, 0),
        server=Endpoint(_clean(server_ip.strip("[]")), port or _DEFAULT_PORTS[scheme]),
        transport=Transport.TLS if scheme == "https" else Transport.PLAINTEXT,
        method=_clean(json_string(request, "method", "request")),
        host=_clean(host),
        path=_clean(url.path or "/"),
        query=_clean(url.query),
        headers=_headers(request, "request"),
        body=_request_body(request),
        scheme=scheme,
        response=_response(entry),
    )
    observations: list[Observation] = [http_request]
    for message in json_list(entry, "_webSocketMessages", "entry"):
        observation = _websocket_message(message, http_request)
        if observation is not None:
            observations.append(observation)
    return observations


def _request_body(request: dict[str, Any]) -> bytes:
    """``postData``: its text (base64 when it says so), else its form params."""
    post = request.get("postData")
    if post is None:
        return b""
    post = json_object(post, "request.postData")
    text = optional_field(post, "text", str, "request.postData")
    if text is not None:
        encoding = post.get("encoding") or post.get("_encoding")
        return _body(text, encoding, "request.postData")
    pairs = []
    for param in json_list(post, "params", "request.postData"):
        param = json_object(param, "request.postData.params item")
        field_name = json_string(param, "name", "request.postData.params item")
        value = optional_field(param, "value", str, "request.postData.params item")
        pairs.append(f"{field_name}={value or ''}")
    return "&".join(pairs).encode("utf-8", "surrogatepass")


def _response(entry: dict[str, Any]) -> HttpResponse | None:
    """The response, or None when the entry records none (status 0 or absent)."""
    response = entry.get("response")
    if response is None:
        return None
    response = json_object(response, "response")
    status = optional_field(response, "status", int, "response")
    if not status:
        return None
    content = response.get("content")
    content = {} if content is None else json_object(content, "response.content")
    text = optional_field(content, "text", str, "response.content")
    body = b""
    if text is not None:
        body = _body(text, content.get("encoding"), "response.content")
    return HttpResponse(
        status=status, headers=_headers(response, "response"), body=body
    )


def _websocket_message(message: Any, upgrade: HttpRequest) -> WebSocketMessage | None:
    """A Chrome/mitmproxy ``_webSocketMessages`` item; None for control frames."""
    message = json_object(message, "_webSocketMessages item")
    opcode = optional_field(message, "opcode", int, "_webSocketMessages item")
    if opcode not in (_TEXT_OPCODE, _BINARY_OPCODE):
        return None
    direction = json_string(message, "type", "_webSocketMessages item")
    data = optional_field(message, "data", str, "_webSocketMessages item") or ""
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
            raise BrokenEntryError(
                f"{where}.text is not valid base64 ({error})"
            ) from None
    # Lone surrogates (from "\ud800" escapes) have no UTF-8 form; keep them visible.
    return text.encode("utf-8", "surrogatepass")


def _headers(message: dict[str, Any], where: str) -> Headers:
    """``headers`` as (name, value) pairs, without HTTP/2 pseudo-headers."""
    headers = []
    for header in json_list(message, "headers", where):
        header = json_object(header, f"{where}.headers item")
        field_name = json_string(header, "name", f"{where}.headers item")
        value = optional_field(header, "value", str, f"{where}.headers item") or ""
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
