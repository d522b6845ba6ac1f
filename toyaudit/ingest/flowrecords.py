"""Split a mitmproxy flow file into its records, and load only the ones wanted.

A flow file, as ``mitmdump -w`` writes it, is a series of tnetstrings, one
per flow: the payload's length in ASCII digits, a colon, the payload, then a
type byte (``}`` for the dictionary a flow is saved as). mitmproxy's own
``FlowReader.stream`` parses every record (``tnetstring.load``), migrates it
to the current format (``compat.migrate_flow``) and builds the flow
(``Flow.from_state``). :func:`flow_records` reads only the length prefixes,
so a shard of a parallel audit seeks past the flows of other shards without
parsing them, and :func:`load_flow` reads the records a shard keeps with
the same mitmproxy functions, except that a plain HTTP flow is read from its
state without building mitmproxy's objects (:mod:`.flowstate`), for speed.

The framing is checked for every record, kept or not, so every shard finds
damage to it at the same place: :class:`FramingError`. A record whose
framing is sound but whose content mitmproxy cannot turn into a flow raises
:class:`UnreadableFlowError`; only the shard that keeps it sees that, so
:func:`shard_flows` skips such a flow with a note and reads on, as a single
process does too, and the notes of every shard merge in a
:class:`FlowTally`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from toyaudit.errors import IngestError
from toyaudit.ingest.coverage import FirstNotes
from toyaudit.ingest.flowscan import scan_http_flow
from toyaudit.ingest.flowstate import light_http_flow
from toyaudit.ingest.shard import Shard

logger = logging.getLogger(__name__)

UNREADABLE_NOTES = 20
"""Unreadable flows noted one by one per file; the rest are counted in one note."""


@dataclass(slots=True)
class FlowTally:
    """What reading one flow file could not see, summed over shards."""

    name: str
    unreadable: FirstNotes = field(default_factory=lambda: FirstNotes(UNREADABLE_NOTES))
    """One note per flow mitmproxy could not load, ranked by position."""
    broken: str | None = None
    """Where the series of flows breaks off; every shard finds the same."""
    other_kinds: Counter[str] = field(default_factory=Counter)
    """Flows of kinds toyaudit does not read, by kind."""

    @property
    def key(self) -> str:
        """Shards merge the tallies of the same file."""
        return f"{self.name} flows"

    def merge(self, other: FlowTally) -> None:
        """Add another shard's counts."""
        self.unreadable.merge(other.unreadable)
        self.broken = self.broken or other.broken
        self.other_kinds.update(other.other_kinds)

    def notes(self) -> list[str]:
        """Nothing here is informational: every note is a problem."""
        return []

    def problems(self) -> list[str]:
        """The coverage problems of the file, in a fixed order."""
        notes = self.unreadable.texts()
        if self.unreadable.left_out:
            notes.append(
                f"{self.name}: {self.unreadable.left_out} more unreadable flows skipped"
            )
        if self.broken is not None:
            notes.append(self.broken)
        if self.other_kinds:
            kinds = ", ".join(
                f"{count} {kind}" for kind, count in sorted(self.other_kinds.items())
            )
            notes.append(f"{self.name}: {kinds} flows of an unknown kind not analysed")
        return notes


_LENGTH_PREFIX = re.compile(rb"([0-9]{1,12}):")
"""Up to 12 digits and a colon, as mitmproxy's tnetstring reader accepts."""
_LONGEST_PREFIX = 13


class FramingError(Exception):
    """The series of records breaks at ``offset``: nothing after it can be read.

    ``position`` is the 0-based position the broken record would have had,
    so also the number of records before it.
    """

    def __init__(self, reason: str, offset: int, position: int) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.reason = reason
        self.offset = offset
        self.position = position


class UnreadableFlowError(Exception):
    """One record is framed well but mitmproxy cannot turn it into a flow."""


def flow_records(
    stream: BinaryIO, wanted: Callable[[int], bool]
) -> Iterator[tuple[int, int, bytes | None]]:
    """Yield (position, byte offset, record) for every record of the file.

    Positions count from 0. ``wanted(position)`` says whether a record's
    bytes are needed; for the others ``None`` stands in for the record and
    the stream seeks past it. Raises :class:`FramingError` where a length
    prefix is malformed or a record is cut short.
    """
    position = 0
    offset = stream.tell()
    while True:
        head = stream.read(_LONGEST_PREFIX)
        if not head:
            return
        prefix = _LENGTH_PREFIX.match(head)
        if prefix is None:
            raise FramingError("no valid tnetstring length prefix", offset, position)
        end = offset + prefix.end() + int(prefix[1]) + 1
        if wanted(position):
            stream.seek(offset)
            record: bytes | None = stream.read(end - offset)
            complete = len(record or b"") == end - offset
        else:
            record = None
            stream.seek(end - 1)
            complete = len(stream.read(1)) == 1
        if not complete:
            raise FramingError("the file ends inside a flow", offset, position)
        yield position, offset, record
        position += 1
        offset = end


def load_flow(record: bytes) -> Any:
    """The mitmproxy flow one record holds, read as ``FlowReader`` reads it.

    A plain HTTP flow in the current format has only its needed fields
    picked out of the record (:func:`~toyaudit.ingest.flowscan.scan_http_flow`)
    and is read from them (:func:`~toyaudit.ingest.flowstate.light_http_flow`);
    another plain HTTP flow is read from its parsed, migrated state, and any
    other flow built as ``FlowReader`` builds it. Raises
    :class:`UnreadableFlowError` naming why when mitmproxy cannot read the
    record.
    """
    from mitmproxy import exceptions, flow
    from mitmproxy.io import compat, tnetstring
    from mitmproxy.version import FLOW_FORMAT_VERSION

    picked = scan_http_flow(record, FLOW_FORMAT_VERSION)
    if picked is not None:
        light = light_http_flow(picked)
        if light is not None:
            return light
    try:
        state = tnetstring.loads(record)
        if not isinstance(state, dict):
            raise ValueError(f"a tnetstring {type(state).__name__}, not a flow")
        state = compat.migrate_flow(state)
        light = light_http_flow(state)
        if light is not None:
            return light
        return flow.Flow.from_state(state)
    except (
        exceptions.FlowReadException,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
    ) as error:
        raise UnreadableFlowError(f"{type(error).__name__}: {error}") from error


def shard_flows(
    stream: BinaryIO, name: str, tally: FlowTally, shard: Shard
) -> Iterator[tuple[int, Any]]:
    """Yield (byte offset, flow) for every flow of the file that ``shard`` keeps.

    Raises :class:`IngestError` when the file is unreadable from its first
    flow. A flow mitmproxy cannot load is skipped, and a break in the series
    of flows ends the file; both are noted in ``tally``.
    """
    try:
        for position, offset, record in flow_records(stream, shard.owns_position):
            if record is None:
                continue
            flow = _load(name, tally, position, offset, record)
            if flow is not None:
                yield offset, flow
    except FramingError as error:
        tally.broken = _broken_note(name, error)


def _load(
    name: str, tally: FlowTally, position: int, offset: int, record: bytes
) -> Any:
    """The flow of a record; None, with a note, when mitmproxy cannot load it."""
    try:
        return load_flow(record)
    except UnreadableFlowError as error:
        if position == 0:
            raise IngestError(
                f"{name}: not a readable mitmproxy flow file (its first flow: {error})",
                "check it was written by mitmproxy (mitmdump -w) and copied completely",
            ) from error
        tally.unreadable.add(
            position,
            f"{name}: flow {position + 1} at byte {offset} could not be read "
            f"({error}); it was skipped",
        )
        return None


def _broken_note(name: str, error: FramingError) -> str:
    """The note on a file whose flows break off; an error if from the start."""
    if error.position == 0:
        raise IngestError(
            f"{name}: not a readable mitmproxy flow file ({error})",
            "check it was written by mitmproxy (mitmdump -w) and copied completely",
        ) from error
    return (
        f"{name}: unreadable from byte {error.offset} (after flow "
        f"{error.position}): {error.reason}; flows after it are lost"
    )
