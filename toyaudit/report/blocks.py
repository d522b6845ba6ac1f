"""The building blocks of a report outline: spans of text and blocks of them.

A span is either toyaudit's own wording (``literal``, made with :func:`said`)
or a *captured* string (made with :func:`shown`) that came from a capture, a
rule or a session file. Blocks (headings, paragraphs, bullet lists, tables)
hold spans; :mod:`toyaudit.report.outline` builds a report from them and
:mod:`toyaudit.report.markdown` and :mod:`toyaudit.report.html` render them.
"""

from __future__ import annotations

from dataclasses import dataclass

from toyaudit.assess.records import Severity


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text: toyaudit's own wording (literal) or a captured string."""

    text: str
    literal: bool = False
    """True for toyaudit's own wording, written without escaping in Markdown."""
    strong: bool = False
    code: bool = False
    """A technical identifier (host, rule, location), set in monospace in HTML."""
    severity: Severity | None = None
    """When set, the span is a severity badge and ``text`` is unused."""


Inline = tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Heading:
    """A section title; ``anchor`` becomes the HTML id."""

    level: int
    spans: Inline
    anchor: str | None = None


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph of inline text."""

    spans: Inline


@dataclass(frozen=True, slots=True)
class BulletList:
    """An unordered list, one inline text per item."""

    items: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """A table with a literal header row."""

    header: tuple[str, ...]
    rows: tuple[tuple[Inline, ...], ...]


Block = Heading | Paragraph | BulletList | Table


def said(text: str, strong: bool = False) -> Span:
    """toyaudit's own wording; must not contain Markdown or captured text."""
    return Span(text, literal=True, strong=strong)


def shown(text: str, strong: bool = False, code: bool = False) -> Span:
    """A captured string, already redacted and scrubbed; escaped on output."""
    return Span(text, strong=strong, code=code)


def badge(severity: Severity) -> Span:
    """A severity badge, rendered with its name (and colour in HTML)."""
    return Span("", severity=severity)


def anchor(identifier: str) -> str:
    """An HTML id made of an identifier's ASCII letters and digits, "-" for the rest."""
    return "".join(
        mark if mark.isascii() and mark.isalnum() else "-" for mark in identifier
    )
