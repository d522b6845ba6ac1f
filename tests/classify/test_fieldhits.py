"""Which of a field's hits it keeps: the strongest per place and category."""

from __future__ import annotations

from toyaudit.classify.fieldhits import MAX_FIELD_HITS, Found, kept_hits, strongest
from toyaudit.classify.records import Method


def _found(method: Method, category: str, value: str, whole: bool = False) -> Found:
    return Found("", ("json",), f"rule-{category}", category, method, value, 0.5,
                 (value,), whole=whole)  # fmt: skip


def test_fieldhits_strongest_partial_persona_hit_hides_no_other_category() -> None:
    message = "can Mia have a story"
    persona = _found(Method.PERSONA, "child-name", "Mia", whole=False)
    chat = _found(Method.KEY, "chat-message", message)

    assert strongest([persona, chat]) == [persona, chat]


def test_fieldhits_strongest_whole_persona_hit_hides_other_categories() -> None:
    persona = _found(Method.PERSONA, "wifi-password", "otter-42", whole=True)
    account = _found(Method.KEY, "password", "otter-42")

    assert strongest([persona, account]) == [persona]


def test_fieldhits_keeps_the_first_hits_of_a_crowded_field_and_says_so() -> None:
    found = [
        _found(Method.PATTERN, "email-address", f"kid{index}@mail.example")
        for index in range(MAX_FIELD_HITS + 10)
    ]

    kept = kept_hits(found)

    assert [hit.value for hit in kept] == [hit.value for hit in found][:MAX_FIELD_HITS]
    assert {hit.decoding for hit in kept} == {("json", "limit:max_hits")}


def test_fieldhits_a_field_within_the_bound_is_not_marked() -> None:
    found = [_found(Method.PATTERN, "email-address", "kid@mail.example")]

    assert kept_hits(found) == (found[0],)
