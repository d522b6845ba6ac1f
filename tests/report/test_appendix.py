"""Tests of the report appendix: each finding's proof, contacts, coverage, run.

The sections are checked as outline blocks, before any renderer escapes
them: what each line says, which of its spans are captured strings (the
renderers escape those, never toyaudit's own wording), and that personal
values and control characters never reach a span. The hostile sample
assessment comes from ``conftest.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from toyaudit.assess.records import Assessment, Contact, Severity
from toyaudit.classify.records import Party, Recipient
from toyaudit.ingest.records import Evidence
from toyaudit.report import appendix
from toyaudit.report.blocks import Block, BulletList, Heading, Paragraph, Span, Table
from toyaudit.report.redact import MASK, Redactor


def _text(spans: Iterable[Span]) -> str:
    return "".join(span.text for span in spans)


def _line(block: Block) -> str:
    """The text of a heading or a paragraph."""
    assert isinstance(block, Heading | Paragraph), block
    return _text(block.spans)


def _items(block: Block) -> list[str]:
    assert isinstance(block, BulletList), block
    return [_text(item) for item in block.items]


def _spans(blocks: list[Block]) -> Iterator[Span]:
    """Every span of the blocks, in reading order."""
    for block in blocks:
        if isinstance(block, Heading | Paragraph):
            yield from block.spans
        elif isinstance(block, BulletList):
            for item in block.items:
                yield from item
        else:
            for row in block.rows:
                for cell in row:
                    yield from cell


def _finding_blocks(blocks: list[Block], finding_id: str) -> list[Block]:
    """The four blocks of one finding: heading, facts, intro line, detections."""
    for index, block in enumerate(blocks):
        if isinstance(block, Heading) and _text(block.spans).startswith(finding_id):
            return blocks[index : index + 4]
    raise AssertionError(f"no heading for {finding_id}")


def test_findings_appendix_keeps_the_order_it_is_given(
    assessment: Assessment,
) -> None:
    findings = list(assessment.findings)

    blocks = appendix.findings_appendix(findings, Redactor(assessment))

    assert isinstance(blocks[0], Heading) and blocks[0].anchor == "appendix"
    assert _line(blocks[0]) == "Technical appendix"
    headings = [block for block in blocks[1:] if isinstance(block, Heading)]
    assert [heading.anchor for heading in headings] == [
        f"finding-{finding.id}" for finding in findings
    ]
    assert len(blocks) == 1 + 4 * len(findings)


def test_findings_appendix_lists_each_detection_with_its_evidence(
    assessment: Assessment,
) -> None:
    blocks = appendix.findings_appendix(list(assessment.findings), Redactor(assessment))

    heading, facts, how, detections = _finding_blocks(blocks, "F-000002")

    assert isinstance(heading, Heading) and heading.level == 3
    assert isinstance(facts, BulletList)
    assert facts.items[0][1].severity is Severity.CRITICAL  # the badge
    assert _items(facts) == [
        "Severity:  (identifying data sent to a tracker without encryption)",
        "Category: child-name (tier 2)",
        "Recipient: <script>alert(1)</script>, tracker, owner AdNet Ltd, "
        "purpose advertising",
        "Transport: plaintext",
    ]
    assert isinstance(how, Paragraph) and _line(how) == "How it was detected:"
    persona, cookie = _items(detections)
    assert persona == (
        "persona match, rule persona:child.name, persona field child.name, "
        "form base64, in json key 'n|a*m_e', decoded as url > base64; "
        "value [redacted: child.name, 8 characters]; confidence 1.00; "
        "evidence traffic.pcap frames 12, 13"
    )
    assert cookie.endswith("; confidence 0.60; evidence traffic.pcap frame 14")
    wifi = _items(_finding_blocks(blocks, "F-000004")[3])
    assert wifi[0].endswith("evidence traffic.pcap frames 40-45 (6 packets)")


def test_findings_appendix_says_when_only_the_strongest_are_kept(
    assessment: Assessment,
) -> None:
    (name_finding,) = [item for item in assessment.findings if item.id == "F-000002"]
    seen_often = dataclasses.replace(name_finding, occurrences=9)

    kept = appendix.findings_appendix([name_finding], Redactor(assessment))
    capped = appendix.findings_appendix([seen_often], Redactor(assessment))

    assert _line(kept[3]) == "How it was detected:"
    assert _line(capped[3]) == "How it was detected (the strongest 2 of 9 detections):"
    assert len(_items(capped[4])) == 2


def test_findings_appendix_without_findings_says_so(assessment: Assessment) -> None:
    blocks = appendix.findings_appendix([], Redactor(assessment))

    assert len(blocks) == 2 and isinstance(blocks[1], Paragraph)
    assert _line(blocks[1]) == "No findings."


def test_findings_appendix_redacts_values_unless_revealed(
    assessment: Assessment, child_name: str, wifi_value: str
) -> None:
    findings = list(assessment.findings)

    redacted = appendix.findings_appendix(findings, Redactor(assessment))
    revealed = appendix.findings_appendix(findings, Redactor(assessment, reveal=True))

    redacted_text = [span.text for span in _spans(redacted)]
    assert not any(child_name in text or wifi_value in text for text in redacted_text)
    cookie = _items(_finding_blocks(redacted, "F-000002")[3])[1]
    assert f"in cookie 'kid={MASK}'; value [redacted: 8 characters]" in cookie
    revealed_cookie = _items(_finding_blocks(revealed, "F-000002")[3])[1]
    assert f"in cookie 'kid={child_name}'; value {child_name};" in revealed_cookie
    wifi = _items(_finding_blocks(revealed, "F-000004")[3])[0]
    assert f"; value {wifi_value};" in wifi


def test_findings_appendix_marks_captured_text_and_scrubs_controls(
    assessment: Assessment,
    hostile_host: str,
    escape_location: str,
    pipe_location: str,
) -> None:
    blocks = appendix.findings_appendix(list(assessment.findings), Redactor(assessment))

    spans = list(_spans(blocks))
    captured = [span.text for span in spans if not span.literal]
    own_words = " ".join(span.text for span in spans if span.literal)
    assert hostile_host in captured and pipe_location in captured
    assert "header 'X-Serial\\x1b[31m'" in captured
    assert escape_location not in captured
    assert not any("\x1b" in span.text for span in spans)
    # toyaudit's own wording, written unescaped, never carries captured text.
    for piece in (hostile_host, "X-Serial", "n|a*m_e", "Cuddly Corp", "toy backend"):
        assert piece not in own_words


def test_contacts_section_orders_by_host_then_party(assessment: Assessment) -> None:
    shared = "api.cuddly.example"
    same_host = Contact(
        Recipient(shared, Party.PROCESSOR, "Cloud Inc", "hosting"),
        (),
        1,
        Evidence("traffic.pcap", (9,)),
    )
    contacts = (*reversed(assessment.contacts), same_host)
    changed = dataclasses.replace(assessment, contacts=contacts)

    heading, table = appendix.contacts_section(changed, Redactor(changed))

    assert isinstance(heading, Heading) and heading.anchor == "contacts"
    assert isinstance(table, Table)
    assert table.header[0] == "Host" and table.header[-1] == "First seen"
    rows = [[_text(cell) for cell in row] for row in table.rows]
    assert [(row[0], row[1]) for row in rows] == [
        ("203.0.113.9", "unknown"),
        ("<script>alert(1)</script>", "tracker"),
        (shared, "first party"),
        (shared, "processor"),
        ("speech.cloud.example", "processor"),
        ("time.example.net", "unknown"),
    ]


def test_contacts_section_rows_say_how_and_where_each_host_was_seen(
    assessment: Assessment,
) -> None:
    lookup_only = Contact(
        Recipient("ads.example", Party.TRACKER, "", ""),
        (),
        2,
        Evidence("traffic.pcap", (5,)),
    )
    changed = dataclasses.replace(
        assessment, contacts=(*assessment.contacts, lookup_only)
    )

    table = appendix.contacts_section(changed, Redactor(changed))[1]

    assert isinstance(table, Table)
    rows = {_text(row[0]): [_text(cell) for cell in row[1:]] for row in table.rows}
    assert rows["ads.example"] == [
        "tracker",
        "unknown",
        "DNS lookup only",
        "2",
        "traffic.pcap frame 5",
    ]
    assert rows["<script>alert(1)</script>"][2] == "plaintext, tls"
    assert rows["time.example.net"][-1] == (
        "traffic.pcap frame 2, server time.example.net "
        "(192.0.2.123, from the DNS answer in frame 1)"
    )
    assert all(not row[0][0].literal and row[0][0].code for row in table.rows)


def test_coverage_section_lists_what_was_read_skipped_and_noted(
    assessment: Assessment,
) -> None:
    heading, items = appendix.coverage_section(assessment, Redactor(assessment))

    assert isinstance(heading, Heading) and heading.anchor == "coverage"
    lines = _items(items)
    assert lines[:5] == [
        "Files read: traffic.pcap, flows.mitm",
        "Packets read: 1200; flows read: 34.",
        "Skipped: traffic.pcap: packet 881 cut short [bold]\\x1b[2J",
        "Note: " + assessment.coverage.notes[0],
        "Session note: phase 'idle' had no end; it was dropped",
    ]
    assert lines[5].startswith("toyaudit sees only what the toy and its app sent")
    assert isinstance(items, BulletList)
    skipped = items.items[2]
    assert skipped[0].strong and not skipped[2].literal


def test_coverage_section_masks_personal_values_in_notes(
    assessment: Assessment, child_name: str
) -> None:
    coverage = dataclasses.replace(
        assessment.coverage,
        files_read=[],
        problems=[],
        notes=[f"device named {child_name}'s bear\u202e was not read"],
    )
    changed = dataclasses.replace(assessment, coverage=coverage)

    lines = _items(appendix.coverage_section(changed, Redactor(changed))[1])

    assert lines[0] == "Files read: none"
    assert lines[2] == f"Note: device named {MASK}'s bear\\u202e was not read"


def test_run_section_names_version_digests_and_redaction(
    assessment: Assessment,
) -> None:
    heading, items = appendix.run_section(assessment, reveal=False)
    revealed = appendix.run_section(assessment, reveal=True)[1]

    assert isinstance(heading, Heading) and heading.anchor == "run"
    assert _items(items) == [
        "toyaudit version 0.1.0",
        "Rules SHA-256 " + "a" * 64,
        "Session manifest SHA-256 " + "b" * 64,
        "Personal values redacted",
    ]
    assert _items(revealed)[-1] == "Personal values shown"
