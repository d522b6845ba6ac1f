"""Read ``ble.jsonl``, the Bluetooth LE log that ``toyaudit capture`` writes.

One JSON object a line (docs/ble-jsonl.md): a ``session`` header first,
then ``advertisement``, ``connection``, ``characteristic`` and ``gatt`` lines
in the order they were seen. The evidence reference of each observation is
the file and its 1-based line number, in the place of a frame number.

``characteristic`` lines (the toy's GATT table) yield no observation of
their own: they name the characteristic at a handle, for ``gatt`` lines
that give only the handle. ``connection`` lines are for people reading the
file; the observations show what the connection allowed.

A line that is not valid JSON, or lacks a required field, is recorded in the
coverage with its line number and skipped; reading goes on. Lines of a type
this version does not know are counted in one note.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO, TypeVar

from toyaudit.errors import IngestError
from toyaudit.ingest.bluetooth.identifiers import address_type, uuid_from_text
from toyaudit.ingest.records import (
    BleAddressType,
    BleAdvertisement,
    BluetoothObservation,
    Coverage,
    Evidence,
    GattOperation,
)

logger = logging.getLogger(__name__)

FORMAT = 1
"""The ``format`` of the session line this reader understands."""

MAX_LINE = 1 << 20
"""Longest line read; longer ones are skipped as malformed."""

MAX_NOTED = 20
"""Malformed lines noted one by one; further ones are summed up in one note."""

OPERATIONS = frozenset(
    {"read", "write", "write-command", "notify", "indicate", "error"}
)
_FROM_CENTRAL = {"write": True, "write-command": True}
"""Default sender when a line omits ``from_central``: the capturing host is
the central, so it writes, and reads, notifications and errors come from the toy."""

_T = TypeVar("_T")

_WITHOUT_OBSERVATION = frozenset({"session", "connection", "characteristic"})
"""Known line types that yield no observation of their own."""

GattTable = dict[tuple[str, int], str]
"""(device, handle) -> characteristic UUID, from ``characteristic`` lines."""

_NAMED_TYPES = {kind.value: kind for kind in BleAddressType}


class MalformedLineError(ValueError):
    """A line of ble.jsonl that cannot be turned into an observation."""


def read_ble_jsonl(
    stream: BinaryIO, name: str, coverage: Coverage
) -> Iterator[BluetoothObservation]:
    """Yield the observations of the ble.jsonl file read from ``stream``.

    Raises :class:`IngestError` only when the session line announces a newer
    format than this version reads.
    """
    malformed: list[str] = []
    unknown: Counter[str] = Counter()
    table: GattTable = {}
    number = 0
    first = True
    for number, line in _lines(stream, malformed):
        if not line.strip():
            continue
        try:
            record = _parse(line)
            if record.get("type") == "session":
                _check_session(record, name, number)
            elif first:
                coverage.skip(
                    f"{name}: line {number} comes before any session line; the "
                    "file may not be from toyaudit capture, its lines are read anyway"
                )
            first = False
            evidence = Evidence(name, (number,), time=_time(record))
            observation = _observation(record, evidence, table)
        except MalformedLineError as error:
            first = False
            malformed.append(f"line {number}: {error}")
            continue
        if observation is not None:
            yield observation
        elif record.get("type") not in _WITHOUT_OBSERVATION:
            unknown[str(record.get("type"))] += 1
    _note(coverage, name, malformed, unknown)
    logger.debug("%s: %d lines", name, number)


def _lines(stream: BinaryIO, malformed: list[str]) -> Iterator[tuple[int, bytes]]:
    """Yield (1-based line number, line), skipping lines over :data:`MAX_LINE`."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(MAX_LINE)
            malformed.append(f"line {number}: longer than {MAX_LINE} bytes")
            continue
        yield number, line


def _parse(line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedLineError(f"not valid JSON ({error})") from error
    if not isinstance(record, dict):
        raise MalformedLineError("not a JSON object")
    return record


def _check_session(record: dict[str, Any], name: str, number: int) -> None:
    """The session line: toyaudit's, in a format this version reads."""
    version = record.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MalformedLineError("the session line has no integer 'format'")
    if version > FORMAT:
        raise IngestError(
            f"{name}:{number}: ble.jsonl format {version} is newer than this "
            f"toyaudit reads (format {FORMAT})",
            "upgrade toyaudit to audit this session",
        )


def _observation(
    record: dict[str, Any], evidence: Evidence, table: GattTable
) -> BluetoothObservation | None:
    kind = record.get("type")
    if kind == "advertisement":
        return _advertisement(record, evidence)
    if kind == "gatt":
        return _gatt(record, evidence, table)
    if kind == "characteristic":
        device = _text(record, "device").upper()
        table[(device, _handle(record))] = _uuid(record.get("uuid"))
    elif kind == "connection":
        _text(record, "device")
    return None


def _advertisement(record: dict[str, Any], evidence: Evidence) -> BleAdvertisement:
    address = _text(record, "address").upper()
    return BleAdvertisement(
        evidence=evidence,
        address=address,
        address_type=_address_type(address, record.get("address_type")),
        name=_optional(record, "name", str),
        manufacturer_data=tuple(
            (_company(key), _hex(value, "manufacturer_data"))
            for key, value in _mapping(record, "manufacturer_data").items()
        ),
        service_data=tuple(
            (_uuid(key), _hex(value, "service_data"))
            for key, value in _mapping(record, "service_data").items()
        ),
        service_uuids=tuple(_uuid(text) for text in _list(record, "service_uuids")),
        connectable=_optional(record, "connectable", bool),
        rssi=_optional(record, "rssi", int),
    )


def _gatt(
    record: dict[str, Any], evidence: Evidence, table: GattTable
) -> GattOperation:
    operation = _text(record, "operation")
    if operation not in OPERATIONS:
        raise MalformedLineError(f"unknown operation {operation!r}")
    handle = _handle(record)
    device = _text(record, "device").upper()
    uuid = _optional(record, "uuid", str) or table.get((device, handle))
    from_central = _optional(record, "from_central", bool)
    return GattOperation(
        evidence=evidence,
        device=device,
        operation=operation,
        handle=handle,
        from_central=_FROM_CENTRAL.get(operation, False)
        if from_central is None
        else from_central,
        uuid=None if uuid is None else _uuid(uuid),
        value=_hex(record.get("value", ""), "value"),
        error_code=_optional(record, "error_code", int),
        encrypted_link=bool(_optional(record, "paired", bool)),
    )


def _handle(record: dict[str, Any]) -> int:
    handle = record.get("handle")
    if (
        not isinstance(handle, int)
        or isinstance(handle, bool)
        or not 0 <= handle <= 0xFFFF
    ):
        raise MalformedLineError("'handle' is not an attribute handle (0-65535)")
    return handle


def _address_type(address: str, named: object) -> BleAddressType:
    """``random`` is refined by the address's top bits; other names are taken as is."""
    if named == "random":
        try:
            raw = bytes.fromhex(address.replace(":", ""))[::-1]
        except ValueError:
            return BleAddressType.UNKNOWN
        return address_type(True, raw) if len(raw) == 6 else BleAddressType.UNKNOWN
    if isinstance(named, str) and named in _NAMED_TYPES:
        return _NAMED_TYPES[named]
    return BleAddressType.UNKNOWN


def _time(record: dict[str, Any]) -> float | None:
    time = record.get("time")
    if isinstance(time, int | float) and not isinstance(time, bool):
        return float(time)
    return None


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedLineError(f"{key!r} is missing or not a string")
    return value


def _optional(record: dict[str, Any], key: str, kind: type[_T]) -> _T | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedLineError(f"{key!r} is not a {kind.__name__}")
    return value


def _mapping(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key) or {}
    if not isinstance(value, dict):
        raise MalformedLineError(f"{key!r} is not an object")
    return value


def _list(record: dict[str, Any], key: str) -> list[Any]:
    value = record.get(key) or []
    if not isinstance(value, list):
        raise MalformedLineError(f"{key!r} is not a list")
    return value


def _hex(value: object, key: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedLineError(f"{key!r} value is not a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError as error:
        raise MalformedLineError(f"{key!r} value is not valid hex") from error


def _company(key: str) -> int:
    try:
        company = int(key, 16) if key.lower().startswith("0x") else int(key)
    except ValueError as error:
        raise MalformedLineError(
            f"company identifier {key!r} is not a number"
        ) from error
    if not 0 <= company <= 0xFFFF:
        raise MalformedLineError(f"company identifier {key!r} is out of range")
    return company


def _uuid(text: object) -> str:
    uuid = uuid_from_text(text) if isinstance(text, str) else None
    if uuid is None:
        raise MalformedLineError(f"{text!r} is not a UUID")
    return uuid


def _note(
    coverage: Coverage, name: str, malformed: list[str], unknown: Counter[str]
) -> None:
    """Record malformed lines (the first few one by one) and unknown types."""
    for problem in malformed[:MAX_NOTED]:
        coverage.skip(f"{name}: {problem}; the line was skipped")
    if len(malformed) > MAX_NOTED:
        coverage.skip(
            f"{name}: {len(malformed) - MAX_NOTED} more malformed lines were skipped"
        )
    for kind, count in sorted(unknown.items()):
        coverage.skip(
            f"{name}: {count} lines of type {kind!r} are not read by this version"
        )
