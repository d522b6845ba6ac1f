"""Ingest: turn every evidence file of a session into one stream of observations.

:func:`read_session` reads each evidence file of a session in turn;
:func:`read_evidence` reads one file, whatever its format, recognised by its
first bytes: pcap (either byte order, microsecond or nanosecond timestamps),
pcapng, a mitmproxy flow file (mitmproxy 11 or 12) or a HAR 1.2 file
(``{`` first). Everything streams: memory stays flat
however large the capture.

What could not be read goes into the :class:`Coverage` passed in, one note
per problem naming the file and the place, so the report can say what the
audit did not see; what the capture could not show although it was read
(TLS connections the capture had no keys for, :mod:`.keyless`) goes into its
informational notes. Only a file that cannot be read at all raises
:class:`IngestError`.

A session's files are read in this order: TLS key logs, then packet
captures, then every other file, each group in session order. The packet
captures' DNS answers then name the servers of every later file's traffic
that carries only an address (:mod:`.names`), and ``tls-verdicts.jsonl`` is
looked at first of all, so that TLS connections passed through after a
refused interception are told apart from failed decryption.

Given a :class:`Shard`, the readers read only that shard's part of each
file, for an audit split between worker processes (:mod:`.shard`).

Bluetooth evidence: Android btsnoop logs (``btsnoop\\0`` first), ``ble.jsonl``
from ``toyaudit capture`` (by name, or ``{"type":`` first) and pcap/pcapng
files of Bluetooth link types are read by :mod:`~toyaudit.ingest.bluetooth`.
``tls-verdicts.jsonl``, what the toy did when the capture intercepted its TLS
connections, is read by :mod:`~toyaudit.ingest.verdicts` (by name, since
its lines are JSON too, and before ``ble.jsonl`` is considered).

User-visible limits: see :mod:`~toyaudit.ingest.bluetooth` and
the module docstrings of :mod:`~toyaudit.ingest.pcapfile`,
:mod:`~toyaudit.ingest.pcapng`, :mod:`~toyaudit.ingest.decode`,
:mod:`~toyaudit.ingest.tcp`, :mod:`~toyaudit.ingest.http`, :mod:`~toyaudit.ingest.tls`,
:mod:`~toyaudit.ingest.dns`, :mod:`~toyaudit.ingest.flows` and
:mod:`~toyaudit.ingest.har` for the limits of each reader.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from toyaudit.errors import IngestError
from toyaudit.ingest import bluetooth
from toyaudit.ingest.bluetooth import BTSNOOP_MAGIC, looks_like_ble_jsonl
from toyaudit.ingest.bluetooth.formats import BLE_JSONL_START
from toyaudit.ingest.flows import read_flows
from toyaudit.ingest.har import looks_like_har, read_har
from toyaudit.ingest.keyless import Refusals
from toyaudit.ingest.keylog import KeyLog
from toyaudit.ingest.names import NameTable
from toyaudit.ingest.packets import read_capture
from toyaudit.ingest.pcapfile import PCAP_MAGICS, PCAPNG_MAGIC, ProgressCallback
from toyaudit.ingest.records import Coverage, Observation, TlsVerdict
from toyaudit.ingest.shard import Shard
from toyaudit.ingest.verdicts import looks_like_tls_verdicts, read_tls_verdicts
from toyaudit.session import Session

__all__ = [
    "NameTable",
    "ProgressCallback",
    "Refusals",
    "Shard",
    "capture_kind",
    "read_evidence",
    "read_refusals",
    "read_session",
]

logger = logging.getLogger(__name__)

_FLOW_FILE_START = re.compile(rb"[1-9][0-9]{0,11}:")
"""A mitmproxy flow file is a series of tnetstrings: a length, a colon, ..."""
_HAR_START = re.compile(rb'(?:\xef\xbb\xbf)?\s*\{\s*"log"\s*:')
"""How a HAR file opens: its root object, whose only member is ``log``."""


def read_session(
    session: Session,
    coverage: Coverage,
    progress: ProgressCallback | None = None,
    shard: Shard | None = None,
) -> Iterator[Observation]:
    """Yield the observations of every evidence file of ``session``.

    TLS key logs among the evidence are read first, so that every capture of
    the session is decrypted with them; packet captures next, so that their
    DNS answers name the servers of the other files' traffic
    (:mod:`~toyaudit.ingest.names`). In loose captures (no session folder),
    files of no known format are skipped with a note; in a sealed session they
    are an error, since the manifest says they are evidence. With a
    ``shard``, only that shard's part of each file is read
    (:mod:`~toyaudit.ingest.shard`); key logs, the refusals of
    ``tls-verdicts.jsonl`` and DNS answers are read whole by every shard.
    """
    keylog = KeyLog()
    keylog_names = [
        name for name in session.evidence if looks_like_keylog(session.path / name)
    ]
    for name in keylog_names:
        keylog.add_file(session.path / name)
        coverage.files_read.append(name)
    _note_keylog_problems(keylog, coverage)
    refusals = read_refusals(session)
    names = NameTable()
    for name in _reading_order(session, keylog_names):
        try:
            observations = read_evidence(
                session.path / name,
                name,
                coverage,
                progress,
                keylog,
                shard,
                names=names,
                refusals=refusals,
            )
            for observation in observations:
                yield names.name(observation)
        except UnknownFormatError as error:
            if session.sealed:
                raise
            coverage.skip(f"{name}: skipped, not a capture toyaudit reads")
            logger.info("%s", error)
    overflow = names.overflow_note()
    if overflow is not None:
        coverage.note(overflow)


def _reading_order(session: Session, keylog_names: list[str]) -> list[str]:
    """The evidence files other than key logs: packet captures first."""
    others = [name for name in session.evidence if name not in keylog_names]
    captures = [name for name in others if _is_packet_capture(session.path / name)]
    return captures + [name for name in others if name not in captures]


def _is_packet_capture(path: Path) -> bool:
    """Whether a file starts like a pcap or pcapng file."""
    try:
        with path.open("rb") as stream:
            head = stream.read(4)
    except OSError:
        return False  # read_evidence reports the unreadable file itself
    return head in PCAP_MAGICS or head == PCAPNG_MAGIC


def read_refusals(session: Session) -> Refusals:
    """The hosts the toy refused interception for, from its ``tls-verdicts.jsonl``.

    Read by every shard before any capture, to tell connections passed
    through after a refusal from failed decryption; the lines it cannot read
    are noted when the file is read as evidence.
    """
    verdicts: list[TlsVerdict] = []
    for name in session.evidence:
        if not looks_like_tls_verdicts(name):
            continue
        try:
            with (session.path / name).open("rb") as stream:
                verdicts.extend(read_tls_verdicts(stream, name, Coverage()))
        except OSError as error:
            logger.debug("%s: not read for refusals: %s", name, error)
    return Refusals.from_verdicts(verdicts)


def _note_keylog_problems(keylog: KeyLog, coverage: Coverage) -> None:
    if keylog.malformed:
        places = ", ".join(keylog.malformed_examples)
        coverage.skip(
            f"{keylog.malformed} key log lines could not be read (first at {places}); "
            "connections needing them stay encrypted"
        )


_KEYLOG_LABELS = (
    b"CLIENT_RANDOM ",
    b"CLIENT_HANDSHAKE_TRAFFIC_SECRET ",
    b"SERVER_HANDSHAKE_TRAFFIC_SECRET ",
    b"CLIENT_TRAFFIC_SECRET_0 ",
    b"SERVER_TRAFFIC_SECRET_0 ",
    b"EXPORTER_SECRET ",
    b"CLIENT_EARLY_TRAFFIC_SECRET ",
    b"RSA ",
)
"""Line labels of the NSS key log format (SSLKEYLOGFILE)."""


def looks_like_keylog(path: Path) -> bool:
    """Whether a file is an NSS key log: its first non-comment line has a label."""
    try:
        with path.open("rb") as stream:
            head = stream.read(4096)
    except OSError:
        return False
    for line in head.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(b"#"):
            return stripped.startswith(_KEYLOG_LABELS)
    return False


def read_evidence(
    path: Path,
    name: str,
    coverage: Coverage,
    progress: ProgressCallback | None = None,
    keylog: KeyLog | None = None,
    shard: Shard | None = None,
    *,
    names: NameTable | None = None,
    refusals: Refusals | None = None,
) -> Iterator[Observation]:
    """Yield the observations of one evidence file, recognised by its first bytes.

    ``name`` is what goes into every :class:`Evidence` (the file name relative
    to the session). Raises :class:`IngestError` when the file cannot be
    opened or is in no format toyaudit reads. ``keylog`` holds TLS secrets to
    decrypt packet captures with; a packet capture's DNS answers go into
    ``names``, and ``refusals`` tells which of its TLS connections without
    secrets were passed through. With a ``shard``, only its part of the
    file is read: its conversations, flows or entries, and Bluetooth files
    and TLS verdicts only by the first shard. Observations come out unnamed:
    :meth:`NameTable.name` names them.
    """
    try:
        stream = path.open("rb", buffering=1 << 20)
        total = path.stat().st_size
    except OSError as error:
        raise IngestError(
            f"{name}: cannot be opened ({error.strerror or error})",
            f"check that {path} exists and is readable by the current user",
        ) from error
    with stream:
        yield from _read_stream(
            stream,
            name,
            coverage,
            total,
            progress,
            _Clues(keylog, names, refusals),
            shard or Shard(0, 1),
        )


@dataclass(frozen=True, slots=True)
class _Clues:
    """What other files of the session tell the reader of a packet capture."""

    keylog: KeyLog | None
    names: NameTable | None
    refusals: Refusals | None


def _read_stream(
    stream: BinaryIO,
    name: str,
    coverage: Coverage,
    total: int,
    progress: ProgressCallback | None,
    clues: _Clues,
    shard: Shard,
) -> Iterator[Observation]:
    """Choose the reader by the file's magic bytes and run it."""
    try:
        head = stream.read(16)
        stream.seek(0)
    except OSError as error:
        raise IngestError(
            f"{name}: cannot be read ({error.strerror or error})",
            "check the disk and the file's permissions",
        ) from error
    if not head:
        coverage.files_read.append(name)
        coverage.skip(f"{name}: empty file; nothing was recorded in it")
        return
    kind = _kind_of(head, name)
    if kind is None:
        raise UnknownFormatError(
            f"{name}: unknown file format (starts with {head[:8].hex()}); "
            "expected pcap, pcapng, a mitmproxy flow file, HAR, btsnoop, "
            "ble.jsonl, tls-verdicts.jsonl or a TLS key log",
            "convert other captures with 'editcap -F pcapng', "
            "or save mitmproxy flows with 'mitmdump -w'",
        )
    coverage.files_read.append(name)
    if kind == PACKETS:
        observations = read_capture(
            stream,
            name,
            coverage,
            total,
            progress,
            clues.keylog,
            shard,
            clues.names,
            clues.refusals,
        )
    elif kind == FLOWS:
        observations = read_flows(stream, name, coverage, total, progress, shard)
    elif kind == HAR:
        observations = read_har(stream, name, coverage, total, progress, shard)
    elif not shard.primary:
        return  # Bluetooth files and TLS verdicts are the first shard's
    elif kind == BTSNOOP:
        observations = bluetooth.read_btsnoop(stream, name, coverage, total, progress)
    elif kind == TLS_VERDICTS:
        observations = read_tls_verdicts(stream, name, coverage)
    else:
        observations = bluetooth.read_ble_jsonl(stream, name, coverage)
    yield from _guard_os_errors(name, coverage, observations)


PACKETS, FLOWS, HAR, BTSNOOP, BLE_JSONL, TLS_VERDICTS = (
    "packet capture",
    "mitmproxy flows",
    "HAR",
    "btsnoop",
    "ble.jsonl",
    "tls-verdicts.jsonl",
)
"""The kinds of evidence file :func:`read_evidence` reads, as people name them."""

CAPTURE_KINDS = (PACKETS, FLOWS, HAR, BTSNOOP, BLE_JSONL)
"""Kinds that hold captured traffic, each auditable on its own; TLS verdicts
and key logs only accompany a capture."""


def capture_kind(path: Path) -> str | None:
    """The kind of capture ``path`` holds, by its first bytes; None if none.

    Stricter than :func:`read_evidence`, for finding captures among other
    files (a batch's archive, its own earlier reports included): a HAR file
    must open with its ``log`` object (HAR 1.2 §log, the root's only
    member) and a ``ble.jsonl`` with a ``type`` key, or be named so. Key logs
    and TLS verdicts only accompany a capture, and an unreadable or empty
    file is no capture.
    """
    try:
        with path.open("rb") as stream:
            head = stream.read(64)
    except OSError:
        return None
    kind = _kind_of(head[:16], path.name) if head else None
    if kind == HAR and not (
        path.suffix.lower() == ".har" or _HAR_START.match(head) is not None
    ):
        return None
    if kind == BLE_JSONL and not (
        path.name == "ble.jsonl" or BLE_JSONL_START.match(head) is not None
    ):
        return None
    return kind if kind in CAPTURE_KINDS else None


def _kind_of(head: bytes, name: str) -> str | None:
    """The kind of a file named ``name`` that starts with ``head`` (16 bytes)."""
    if head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_MAGIC:
        return PACKETS
    if _FLOW_FILE_START.match(head):
        return FLOWS
    if head[:8] == BTSNOOP_MAGIC:
        return BTSNOOP
    if looks_like_tls_verdicts(name):
        return TLS_VERDICTS
    if looks_like_ble_jsonl(name, head):
        return BLE_JSONL
    if looks_like_har(head):
        return HAR
    return None


class UnknownFormatError(IngestError):
    """A file is in no format toyaudit reads."""


def _guard_os_errors(
    name: str, coverage: Coverage, observations: Iterator[Observation]
) -> Iterator[Observation]:
    """Record a read error in the middle of a file and stop that file."""
    try:
        yield from observations
    except OSError as error:
        coverage.skip(
            f"{name}: read failed partway ({error.strerror or error}); "
            "the rest of the file is lost"
        )
