"""Render a batch's entries as ``batch.json`` and ``batch.csv``, and write them.

``batch.json`` follows the schema ``toyaudit/report/schema/batch-1.schema.json``
(one object per target, in the batch's order); ``batch.csv`` holds the same
rows for a spreadsheet. Names and messages come from the archive (file and
folder names, host names): in the CSV a cell that a spreadsheet would take for
a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return first) is
prefixed with an apostrophe (OWASP's advice on CSV injection). Personal values
never appear: the summary names categories, not the values found.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toyaudit import __version__
from toyaudit.batch import BatchEntry
from toyaudit.errors import ReportError
from toyaudit.files import make_private_dir, write_atomic

BATCH_FORMAT = "toyaudit-batch"
BATCH_VERSION = "1"
SCHEMA_RESOURCE = "batch-1.schema.json"
"""The schema's file in ``toyaudit/report/schema``."""

SUMMARY_FILES = ("batch.json", "batch.csv")

COLUMNS = (
    "target",
    "kind",
    "status",
    "exit_code",
    "findings",
    "checks",
    "highest_severity",
    "categories",
    "trackers",
    "problems",
    "reports",
    "manifest_sha256",
    "error",
)
"""The CSV's columns; list cells hold their items joined by ``;``."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def entry_document(entry: BatchEntry) -> dict[str, Any]:
    """One entry as an object of ``batch.json``."""
    return {
        "target": entry.target.name,
        "kind": "session" if entry.target.session else "capture",
        "status": str(entry.status),
        "exit_code": entry.exit_code,
        "findings": entry.findings,
        "checks": entry.checks,
        "highest_severity": (
            None if entry.highest_severity is None else str(entry.highest_severity)
        ),
        "categories": list(entry.categories),
        "trackers": list(entry.trackers),
        "problems": entry.problems,
        "reports": entry.reports,
        "manifest_sha256": entry.manifest_sha256 or None,
        "error": entry.error or None,
    }


def render_json(entries: Sequence[BatchEntry], rules_sha256: str) -> bytes:
    """The UTF-8 bytes of ``batch.json``, ending with a newline."""
    document = {
        "format": BATCH_FORMAT,
        "version": BATCH_VERSION,
        "tool_version": __version__,
        "rules_sha256": rules_sha256,
        "targets": [entry_document(entry) for entry in entries],
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def render_csv(entries: Sequence[BatchEntry]) -> bytes:
    """The UTF-8 bytes of ``batch.csv``: a header row, then one row per target."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        document = entry_document(entry)
        writer.writerow([_cell(document[column]) for column in COLUMNS])
    return text.getvalue().encode()


def _cell(value: object) -> str:
    """A CSV cell: lists joined by ``;``, None empty, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(str(item) for item in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_summary(
    entries: Sequence[BatchEntry], rules_sha256: str, out: Path
) -> list[Path]:
    """Write ``batch.json`` and ``batch.csv`` into ``out``, each atomically.

    Raises :class:`~toyaudit.errors.ReportError` naming the file that could not
    be written.
    """
    contents = (render_json(entries, rules_sha256), render_csv(entries))
    written = []
    for name, content in zip(SUMMARY_FILES, contents, strict=True):
        path = out / name
        try:
            make_private_dir(out)
            write_atomic(path, content)
        except OSError as error:
            raise ReportError(
                f"{path}: cannot write the batch summary ({error.strerror or error})",
                "check that the output folder is writable and the disk is not full",
            ) from error
        written.append(path)
    return written
