"""Render an assessment as ``report.html``, one self-contained page.

The page says exactly what ``report.md`` says (both render the outline built by
:func:`toyaudit.report.outline.build_outline`), with severity badges in colour
and in words. It needs nothing but itself: the style sheet is inline, there are
no scripts, images, fonts or links to other sites, and a Content-Security-Policy
forbids the browser to load anything, so opening a report never tells anyone
that it was read. It prints cleanly (badges keep their colours and a border).

Every string, captured or not, passes through ``html.escape(..., quote=True)``
after redaction and control-character scrubbing.
"""

from __future__ import annotations

import html
import logging

from toyaudit.assess.records import Assessment, Severity
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
from toyaudit.report.redact import scrub

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

_BADGE_COLOURS = {
    Severity.CRITICAL: "#7a0019",
    Severity.HIGH: "#b3261e",
    Severity.MEDIUM: "#8a4b00",
    Severity.LOW: "#1f4e99",
    Severity.INFO: "#4a5560",
}

_STYLE = """
body { font-family: system-ui, sans-serif; line-height: 1.5; color: #1b1b1b;
  background: #fff; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.8rem; margin-bottom: 0.5rem; }
h2 { border-bottom: 2px solid #d0d4d9; padding-bottom: 0.2rem; margin-top: 2rem; }
h3 { margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #c4c9cf; padding: 0.3rem 0.5rem; text-align: left;
  vertical-align: top; }
th { background: #eef1f4; }
code { font-family: ui-monospace, monospace; font-size: 0.92em;
  overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 0.45rem; border-radius: 0.3rem;
  color: #fff; font-weight: 700; font-size: 0.8em; letter-spacing: 0.03em; }
@media print {
  main { max-width: none; padding: 0; }
  .badge { border: 1px solid #000; print-color-adjust: exact;
    -webkit-print-color-adjust: exact; }
  h2, h3 { break-after: avoid; }
  tr, li { break-inside: avoid; }
}
"""


def render_html(
    assessment: Assessment, reveal: bool = False, outline: list[Block] | None = None
) -> str:
    """Render the assessment as the text of ``report.html``.

    Personal values are redacted unless ``reveal`` is true. The output is
    deterministic and ends with a newline. ``outline`` is the assessment's
    :func:`~toyaudit.report.outline.build_outline` with the same ``reveal``,
    when the caller already built it for another format.
    """
    if outline is None:
        outline = build_outline(assessment, reveal)
    logger.debug("rendering report.html from %d outline blocks", len(outline))
    title = _escape("Privacy report: " + scrub(assessment.session.toy.name))
    body = "\n".join(_block(block) for block in outline)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        f'content="{_escape(CONTENT_SECURITY_POLICY)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_style()}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _style() -> str:
    badges = "".join(
        f".badge-{severity.value} {{ background: {colour}; }}\n"
        for severity, colour in _BADGE_COLOURS.items()
    )
    return _STYLE + badges


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        anchor = f' id="{_escape(block.anchor)}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{_inline(block.spans)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_inline(block.spans)}</p>"
    if isinstance(block, BulletList):
        items = "".join(f"<li>{_inline(item)}</li>\n" for item in block.items)
        return f"<ul>\n{items}</ul>"
    return _table(block)


def _table(table: Table) -> str:
    header = "".join(f'<th scope="col">{_escape(title)}</th>' for title in table.header)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>\n"
        for row in table.rows
    )
    return (
        f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>"
    )


def _inline(spans: Inline) -> str:
    return "".join(_span(span) for span in spans)


def _span(span: Span) -> str:
    if span.severity is not None:
        name = span.severity.value
        return f'<span class="badge badge-{name}">{name.upper()}</span>'
    text = _escape(span.text)
    if span.code and text:
        text = f"<code>{text}</code>"
    if span.strong and text:
        text = f"<strong>{text}</strong>"
    return text
