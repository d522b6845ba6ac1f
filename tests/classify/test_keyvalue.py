"""``KEY:value;KEY:value`` records: split into named fields, or left as text."""

from __future__ import annotations

import pytest

from toyaudit.classify import Classifier, RuleSet
from toyaudit.classify.decoders import raw_items
from toyaudit.classify.fields import Field
from toyaudit.classify.keyvalue import key_value_pairs
from toyaudit.ingest.records import (
    Endpoint,
    Evidence,
    GattOperation,
    PayloadKind,
    RawPayload,
)

_EVIDENCE = Evidence("ble.jsonl", (8,))
_RECORD = "NAME:Mia;DOB:20180314;SEX:F;EMAIL:ana.lopez@example.com"


def _gatt(value: bytes, from_central: bool = True) -> GattOperation:
    return GattOperation(
        _EVIDENCE, "C0:FF:EE:12:34:56", "write", 0x23, from_central, value=value
    )


def test_keyvalue_semicolon_record_is_split_in_order() -> None:
    assert key_value_pairs(_RECORD) == [
        ("NAME", "Mia"),
        ("DOB", "20180314"),
        ("SEX", "F"),
        ("EMAIL", "ana.lopez@example.com"),
    ]


def test_keyvalue_line_breaks_equals_blanks_and_colons_in_values() -> None:
    text = "ssid = Lopez-Home-5G\r\nwakeAt:07:30\n\nNOTE:\n"
    assert key_value_pairs(text) == [
        ("ssid", "Lopez-Home-5G"),
        ("wakeAt", "07:30"),
        ("NOTE", ""),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "NAME:Mia",  # one pair alone is as often "note: text"
        "a4:cf:12:3b:9e:01",
        "hello there; how are you",
        "NAME:Mia;hello",
        "07:30;08:15",  # names start with a letter
        "my name:Mia;age:7",  # a name has no blank
        "https://toyco.example/a;b=1",
        "A" * 33 + ":x;B:y",
        "Mia: can we play\nOwl: of course",  # a transcript: speakers are text
        "Content-Type: text/plain\nHost: toyco.example",
    ],
)
def test_keyvalue_text_that_is_not_wholly_pairs_stays_text(text: str) -> None:
    assert key_value_pairs(text) is None


def test_keyvalue_gatt_record_gives_named_fields(shipped_rules: RuleSet) -> None:
    items = raw_items(_gatt(b"NAME:Mia;SEX:F;NOTE:"), shipped_rules.decoding)

    assert items == [
        Field("body", "NAME", "GATT value (handle 0x0023) field 'NAME'",
              ("key-value",), "Mia"),
        Field("body", "SEX", "GATT value (handle 0x0023) field 'SEX'",
              ("key-value",), "F"),
    ]  # fmt: skip


def test_keyvalue_gatt_record_gender_is_found_under_its_name(
    classifier: Classifier,
) -> None:
    matches = classifier.classify(_gatt(_RECORD.encode()))

    found = {(match.category.id, match.location, match.value) for match in matches}
    assert ("child-gender", "GATT value (handle 0x0023) field 'SEX'", "F") in found
    assert (
        "child-name",
        "GATT value (handle 0x0023) field 'NAME'",
        "Mia",
    ) in found
    assert {match.decoding for match in matches} == {("key-value",)}


def test_keyvalue_transcript_keeps_the_speaker_searchable(
    classifier: Classifier,
) -> None:
    matches = classifier.classify(_gatt(b"Mia: can we play\nOwl: of course"))
    assert [(match.category.id, match.location) for match in matches] == [
        ("child-name", "GATT value (handle 0x0023)")
    ]


def test_keyvalue_same_letter_as_text_is_no_gender(classifier: Classifier) -> None:
    matches = classifier.classify(_gatt(b"MODE F SPEED 2"))
    assert [match.category.id for match in matches] == []


def test_keyvalue_tcp_record_is_split_too(classifier: Classifier) -> None:
    payload = RawPayload(
        Evidence("traffic.pcap", (7,)), Endpoint("192.168.1.20", 50111),
        Endpoint("203.0.113.7", 9000), "tcp", True, PayloadKind.PLAINTEXT, 40,
        b"serial=TB22910047\nsex=f\n",
    )  # fmt: skip

    found = {
        (match.category.id, match.location) for match in classifier.classify(payload)
    }

    assert found == {
        ("device-id", "TCP payload field 'serial'"),
        ("child-gender", "TCP payload field 'sex'"),
    }
