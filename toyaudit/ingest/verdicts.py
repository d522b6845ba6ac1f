"""Read ``tls-verdicts.jsonl``: how the toy answered an untrusted certificate.

While it captures, ``toyaudit capture`` intercepts the toy's TLS connections
with a certificate the toy has no reason to trust, and writes one JSON object
a line (docs/session-format.md) saying what the toy did: refused it, trusted
it and sent data, or neither. Each line becomes a
:class:`~toyaudit.ingest.records.TlsVerdict` whose evidence reference is the
file and its 1-based line number, as for ``ble.jsonl``.

A line that is not valid JSON or lacks a required field is recorded in the
coverage with its line number and skipped; reading goes on. The file is
recognised by its name (:func:`looks_like_tls_verdicts`), since its lines
carry no type tag.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from toyaudit.ingest.records import (
    Coverage,
    Endpoint,
    Evidence,
    InterceptionVerdict,
    TlsVerdict,
)

logger = logging.getLogger(__name__)

FILE_NAME = "tls-verdicts.jsonl"
"""The name the capture writes; any file whose name ends with it is read."""

MAX_LINE = 1 << 16
"""Longest line read, in bytes; longer ones are skipped as malformed."""

MAX_NOTED = 20
"""Malformed lines noted one by one; further ones are summed up in one note."""

_VERDICTS = {verdict.value: verdict for verdict in InterceptionVerdict}


def looks_like_tls_verdicts(name: str) -> bool:
    """Whether an evidence file is a TLS verdict log, by its name."""
    return PurePosixPath(name).name.endswith(FILE_NAME)


class MalformedVerdictError(ValueError):
    """A line of tls-verdicts.jsonl that cannot be turned into a verdict."""


def read_tls_verdicts(
    stream: BinaryIO, name: str, coverage: Coverage
) -> Iterator[TlsVerdict]:
    """Yield the verdict of every readable line of the file read from ``stream``."""
    malformed: list[str] = []
    number = 0
    for number, line in enumerate(_lines(stream), start=1):
        if line is None:
            malformed.append(f"line {number}: longer than {MAX_LINE} bytes")
            continue
        if not line.strip():
            continue
        try:
            yield _verdict(line, name, number)
        except MalformedVerdictError as error:
            malformed.append(f"line {number}: {error}")
    _note(coverage, name, malformed)
    logger.debug("%s: %d lines", name, number)


def _lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """Yield each line, or None in the place of one over :data:`MAX_LINE`."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(MAX_LINE)
            yield None
            continue
        yield line


def _verdict(line: bytes, name: str, number: int) -> TlsVerdict:
    record = _parse(line)
    verdict = record.get("verdict")
    if not isinstance(verdict, str) or verdict not in _VERDICTS:
        raise MalformedVerdictError(
            f"'verdict' is {verdict!r}; expected one of: " + ", ".join(_VERDICTS)
        )
    sni = record.get("sni")
    if sni is not None and (not isinstance(sni, str) or not sni):
        raise MalformedVerdictError("'sni' is neither a server name nor null")
    detail = record.get("detail", "")
    if not isinstance(detail, str):
        raise MalformedVerdictError("'detail' is not a string")
    return TlsVerdict(
        evidence=Evidence(name, (number,), time=_time(record.get("time"))),
        client=_endpoint(record, "client"),
        server=_endpoint(record, "server"),
        sni=None if sni is None else sni.lower().rstrip("."),
        verdict=_VERDICTS[verdict],
        detail=detail,
    )


def _parse(line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedVerdictError(f"not valid JSON ({error})") from error
    if not isinstance(record, dict):
        raise MalformedVerdictError("not a JSON object")
    return record


def _time(value: object) -> float:
    """An ISO 8601 time as seconds since the epoch; a time without zone is UTC."""
    if not isinstance(value, str):
        raise MalformedVerdictError("'time' is missing or not an ISO 8601 string")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise MalformedVerdictError(f"'time' {value!r} is not ISO 8601") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _endpoint(record: dict[str, Any], key: str) -> Endpoint:
    """``ip:port``, or ``[ipv6]:port``, as an :class:`Endpoint`."""
    text = record.get(key)
    if not isinstance(text, str) or ":" not in text:
        raise MalformedVerdictError(f"{key!r} is missing or not 'ip:port'")
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        address = ipaddress.ip_address(host)
        number = int(port)
    except ValueError as error:
        raise MalformedVerdictError(f"{key!r} {text!r} is not 'ip:port'") from error
    if not 0 <= number <= 0xFFFF:
        raise MalformedVerdictError(f"{key!r} {text!r} has no valid port")
    return Endpoint(str(address), number)


def _note(coverage: Coverage, name: str, malformed: list[str]) -> None:
    """Record malformed lines, the first few one by one."""
    for problem in malformed[:MAX_NOTED]:
        coverage.skip(f"{name}: {problem}; the line was skipped")
    if len(malformed) > MAX_NOTED:
        coverage.skip(
            f"{name}: {len(malformed) - MAX_NOTED} more malformed lines were skipped"
        )
