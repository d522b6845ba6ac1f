"""The report stage: render an assessment for parents, regulators and machines.

Three files are written for every audit (:data:`REPORT_FILES`):
``findings.json``, the versioned machine-readable document
(:mod:`toyaudit.report.jsondoc`); ``report.md``, plain language for parents
followed by a technical appendix (:mod:`toyaudit.report.markdown`); and
``report.html``, the same content as one self-contained page
(:mod:`toyaudit.report.html`). Personal values are redacted in all three
unless ``reveal`` is true (:mod:`toyaudit.report.redact`). The terminal summary
lives in the CLI (``toyaudit.cli.terminal``), the only place rich is used.
"""

from __future__ import annotations

import logging
from pathlib import Path

from toyaudit.assess.records import Assessment
from toyaudit.errors import ReportError
from toyaudit.files import make_private_dir, write_atomic
from toyaudit.report.html import render_html
from toyaudit.report.jsondoc import render_json
from toyaudit.report.markdown import render_markdown
from toyaudit.report.outline import build_outline

__all__ = [
    "REPORT_FILES",
    "render_html",
    "render_json",
    "render_markdown",
    "render_reports",
    "write_rendered",
    "write_reports",
]

logger = logging.getLogger(__name__)

REPORT_FILES = ("findings.json", "report.md", "report.html")
"""The files :func:`write_reports` writes, in this order."""


def write_reports(
    assessment: Assessment, out_dir: Path, reveal: bool = False
) -> list[Path]:
    """Render every report and write it into ``out_dir``; return the paths written.

    Everything is rendered before anything is written, so a rendering bug
    leaves no file behind. ``out_dir`` (and its parents) is created readable
    by the current user only, and each file is written atomically with mode
    0600. Raises :class:`~toyaudit.errors.ReportError` naming the path when the
    folder cannot be created or a file cannot be written; files written before
    the failure are removed again, so a run leaves all three reports or none.
    """
    return write_rendered(render_reports(assessment, reveal), out_dir)


def render_reports(assessment: Assessment, reveal: bool = False) -> dict[str, bytes]:
    """The bytes of every report, by file name, in :data:`REPORT_FILES` order."""
    outline = build_outline(assessment, reveal)
    return {
        REPORT_FILES[0]: render_json(assessment, reveal),
        REPORT_FILES[1]: render_markdown(assessment, reveal, outline).encode("utf-8"),
        REPORT_FILES[2]: render_html(assessment, reveal, outline).encode("utf-8"),
    }


def write_rendered(rendered: dict[str, bytes], out_dir: Path) -> list[Path]:
    """Write reports :func:`render_reports` rendered, as :func:`write_reports` does."""
    _make_folder(out_dir)

    written: list[Path] = []
    for name, content in rendered.items():
        path = out_dir / name
        try:
            write_atomic(path, content)
        except OSError as error:
            _remove(written)
            raise ReportError(
                f"{path}: cannot write the report ({error.strerror or error})",
                "check that the folder is writable and the disk is not full, "
                "or choose another output folder",
            ) from error
        written.append(path)
        logger.info("wrote %s", path)
    return written


def _make_folder(out_dir: Path) -> None:
    """Create the private output folder, or raise ReportError naming it."""
    try:
        make_private_dir(out_dir)
    except OSError as error:
        raise ReportError(
            f"{out_dir}: cannot create the report folder ({error.strerror or error})",
            "choose an output folder you can write to that is not an existing file",
        ) from error


def _remove(paths: list[Path]) -> None:
    """Remove reports written earlier in a run that failed part-way."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            logger.warning("could not remove partial report %s: %s", path, error)
