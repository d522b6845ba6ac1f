"""Render a report outline as ``report.md``, the report for parents and reviewers.

The content comes from :func:`toyaudit.report.outline.build_outline`, which
:mod:`toyaudit.report.html` renders too, so both reports say the same thing;
this module only turns its blocks into Markdown.

Every string that came from a capture, a rule or a session file is a
*captured* span: personal values are redacted and controls scrubbed by
:class:`~toyaudit.report.redact.Redactor`, then every ASCII punctuation
character that can start inline markup is backslash-escaped (CommonMark
allows escaping any of them), which stops raw HTML, entities, links,
autolinks, emphasis and table breaks. Only toyaudit's own wording (``literal``
spans) is written as Markdown unescaped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from toyaudit.assess.records import Assessment
from toyaudit.report.blocks import (
    Block,
    BulletList,
    Heading,
    Inline,
    Paragraph,
    Span,
    Table,
)
from toyaudit.report.outline import build_outline

__all__ = ["escape_markdown", "render_markdown"]

logger = logging.getLogger(__name__)

_MARKDOWN_SIGNIFICANT = "\\`*_{}[]()<>#+!|~&.:@"
"""Characters that can start markup anywhere in a line: emphasis, code, links,
raw HTML, entities, table cells, strikethrough, and (``.``, ``:``, ``@``) the
web and e-mail addresses that GitHub-flavoured Markdown turns into links."""
_ESCAPES = str.maketrans({mark: "\\" + mark for mark in _MARKDOWN_SIGNIFICANT})


def escape_markdown(text: str) -> str:
    """Backslash-escape every character of ``text`` that could start markup.

    Captured strings never start a line (they follow a list marker, a table
    pipe or toyaudit's own words) and never contain a line break (controls are
    scrubbed first), so line-start markup such as ``-``, ``=`` or ``1.`` is
    harmless and left readable.
    """
    return text.translate(_ESCAPES)


def render_markdown(
    assessment: Assessment, reveal: bool = False, outline: list[Block] | None = None
) -> str:
    """Render the assessment as the text of ``report.md``.

    Personal values are redacted unless ``reveal`` is true. The output is
    deterministic and ends with a newline. ``outline`` is the assessment's
    :func:`~toyaudit.report.outline.build_outline` with the same ``reveal``,
    when the caller already built it for another format.
    """
    if outline is None:
        outline = build_outline(assessment, reveal)
    logger.debug("rendering report.md from %d outline blocks", len(outline))
    return "\n".join(_block(block) for block in outline)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + _inline(block.spans) + "\n"
    if isinstance(block, Paragraph):
        return _inline(block.spans) + "\n"
    if isinstance(block, BulletList):
        return "".join(f"- {_inline(item)}\n" for item in block.items)
    return _table(block)


def _table(table: Table) -> str:
    lines = [_row([escape_markdown(title) for title in table.header])]
    lines.append(_row(["---"] * len(table.header)))
    lines.extend(_row([_inline(cell) for cell in row]) for row in table.rows)
    return "".join(line + "\n" for line in lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _inline(spans: Inline) -> str:
    return "".join(_span(span) for span in spans)


def _span(span: Span) -> str:
    if span.severity is not None:
        return f"**{span.severity.value.upper()}**"
    text = span.text if span.literal else escape_markdown(span.text)
    if span.strong and text:
        return f"**{text}**"
    return text
