"""Tests for toyaudit.report.html: self-contained, escaped, same content."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

from toyaudit.assess.records import Assessment
from toyaudit.report import render_html
from toyaudit.report.html import CONTENT_SECURITY_POLICY

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3",
    "p", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "code",
    "strong", "span",
}  # fmt: skip
VOID_TAGS = {"meta"}


class _TagCollector(HTMLParser):
    """Record every tag and attribute, and check that tags nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        if tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _TagCollector:
    collector = _TagCollector()
    collector.feed(page)
    collector.close()
    return collector


def test_render_html_uses_only_safe_tags_and_nests(assessment: Assessment) -> None:
    collector = _parse(render_html(assessment))
    assert collector.tags <= ALLOWED_TAGS
    assert collector.open == []
    assert not collector.attributes & {"href", "src", "action", "onerror", "onload"}


def test_render_html_loads_nothing_from_elsewhere(assessment: Assessment) -> None:
    page = render_html(assessment, reveal=True)
    assert "<script" not in page.lower()
    assert "http://" not in page
    assert "https://" not in page
    assert "url(" not in page
    assert "@import" not in page


def test_render_html_sets_content_security_policy(assessment: Assessment) -> None:
    page = render_html(assessment)
    expected = CONTENT_SECURITY_POLICY.replace("'", "&#x27;")
    assert f'<meta http-equiv="Content-Security-Policy" content="{expected}">' in page
    assert CONTENT_SECURITY_POLICY == "default-src 'none'; style-src 'unsafe-inline'"


def test_render_html_escapes_hostile_host(
    assessment: Assessment, hostile_host: str
) -> None:
    page = render_html(assessment)
    assert hostile_host not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "PlushBear &lt;Pro&gt;" in page
    assert hostile_host in "".join(_parse(page).text)


def test_render_html_scrubs_escape_sequences(assessment: Assessment) -> None:
    page = render_html(assessment)
    assert "\x1b" not in page
    assert "X-Serial\\x1b[31m" in page


def test_render_html_badges_have_colour_and_words(assessment: Assessment) -> None:
    page = render_html(assessment)
    assert '<span class="badge badge-critical">CRITICAL</span>' in page
    assert re.search(r"\.badge-critical \{ background: #[0-9a-f]{6}; \}", page)
    assert "@media print" in page


def test_render_html_redacts_persona_values(
    assessment: Assessment, child_name: str, wifi_value: str
) -> None:
    page = render_html(assessment)
    assert child_name not in page
    assert wifi_value not in page
    assert "[redacted: child.name, 8 characters]" in page


def test_render_html_reveal_shows_values_escaped(
    assessment: Assessment, child_name: str, wifi_value: str
) -> None:
    page = render_html(assessment, reveal=True)
    assert child_name in page
    assert wifi_value in page


def test_render_html_has_same_sections_as_markdown(assessment: Assessment) -> None:
    page = render_html(assessment)
    for heading in (
        '<h2 id="collects">What your toy collects</h2>',
        '<h2 id="advice">What you can do</h2>',
        '<h3 id="finding-F-000002">',
        '<h2 id="checks">Security checks</h2>',
        '<h3 id="check-C-00000a">',
        '<h2 id="coverage">What this audit could not see</h2>',
    ):
        assert heading in page


def test_render_html_is_deterministic(assessment: Assessment) -> None:
    page = render_html(assessment)
    assert page == render_html(assessment)
    assert page.startswith("<!DOCTYPE html>\n")
    assert page.endswith("</html>\n")


def test_render_html_escapes_revealed_values(assessment: Assessment) -> None:
    finding = assessment.findings[1]
    hostile = dataclasses.replace(finding.detections[0], value='<img src=x">\x1b[0m')
    changed = dataclasses.replace(
        assessment,
        findings=(dataclasses.replace(finding, detections=(hostile,)),),
    )
    page = render_html(changed, reveal=True)
    assert "<img" not in page
    assert "&lt;img src=x&quot;&gt;\\x1b[0m" in page


def test_render_html_escapes_hostile_check_note(assessment: Assessment) -> None:
    page = render_html(assessment)
    assert "<b>alert</b>" not in page
    assert "&lt;b&gt;alert&lt;/b&gt; \\u202eunknown ca\\u202c" in page
    assert "\u202e" not in page
