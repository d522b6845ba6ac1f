"""URL path segments: named by the collection before them, searched by path rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from toyaudit.classify import Classifier, RuleSet
from toyaudit.classify.decoders import raw_items
from toyaudit.classify.fields import Field
from toyaudit.ingest.records import HttpRequest

RequestFactory = Callable[..., HttpRequest]
"""The ``request_to`` fixture of conftest.py."""


def _found(classifier: Classifier, request: HttpRequest) -> list[tuple[str, ...]]:
    return [
        (match.rule, match.category.id, match.location, match.value)
        for match in classifier.classify(request)
    ]


def test_decoders_path_segment_is_named_by_the_word_before_it(
    shipped_rules: RuleSet, request_to: RequestFactory
) -> None:
    request = request_to(path="/v2/children/c_12525/profile/ab%20c")
    fields = raw_items(request, shipped_rules.decoding)[:5]
    assert fields == [
        Field("path", None, "path segment 1", (), "v2"),
        Field("path", None, "path segment 2", (), "children"),
        Field("path", "children", "path segment 3", (), "c_12525"),
        Field("path", None, "path segment 4", (), "profile"),
        Field("path", "profile", "path segment 5", ("url-decode",), "ab c"),
    ]


@pytest.mark.parametrize(
    ("path", "rule", "category", "value"),
    [
        ("/v2/children/c_12525/profile", "account-id-path", "account-id", "c_12525"),
        ("/api/users/88213", "account-id-path", "account-id", "88213"),
        ("/v1/devices/BB-RV3-0042/state", "device-id-path", "device-id", "BB-RV3-0042"),
    ],
)
def test_classifier_path_id_after_its_collection(
    classifier: Classifier,
    request_to: RequestFactory,
    path: str,
    rule: str,
    category: str,
    value: str,
) -> None:
    [found] = _found(classifier, request_to(path=path))
    assert found[:2] == (rule, category)
    assert found[3] == value


@pytest.mark.parametrize(
    "path",
    [
        "/v2/accounts/login",  # a word, not an id
        "/users/me/settings",
        "/v1/clips/3",  # an index under a collection no rule names
        "/v2/stories/st-00417",
        "/v2/users/v3/ping",  # an API version
        "/profiles/avatar_03.png",
        "/v1/c_12525/children",  # the id before the collection, not after it
    ],
)
def test_classifier_path_words_and_other_collections_are_no_ids(
    classifier: Classifier, request_to: RequestFactory, path: str
) -> None:
    assert _found(classifier, request_to(path=path)) == []


def test_classifier_path_name_is_part_of_what_is_remembered(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    # The same value at the same place, under two names: the first result
    # must not be reused for the second.
    assert _found(classifier, request_to(path="/v2/stories/c_12525")) == []
    assert _found(classifier, request_to(path="/v2/children/c_12525")) == [
        ("account-id-path", "account-id", "path segment 3", "c_12525")
    ]
    assert _found(classifier, request_to(path="/v2/stories/c_12525")) == []


def test_classifier_path_persona_value_beats_the_path_rule(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    found = _found(classifier, request_to(path="/api/v1/devices/TB22910047/state"))
    assert found == [
        ("persona:toy.serial", "device-id", "path segment 4", "TB22910047")
    ]
