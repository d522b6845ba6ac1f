"""The classifier on hand-built observations: where data hides and how it is found."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toyaudit.classify import Classifier, RuleSet
from toyaudit.classify.decoders import JsonDocument, raw_items
from toyaudit.classify.fieldsearch import FieldSearch
from toyaudit.classify.persona import PersonaIndex
from toyaudit.classify.records import Match, Method, Party, Tier
from toyaudit.ingest.records import (
    DnsQuery,
    Endpoint,
    Evidence,
    HttpRequest,
    TlsClientHello,
)
from toyaudit.session import Session

RequestFactory = Callable[..., HttpRequest]
"""The ``request_to`` fixture of conftest.py."""

_JSON = (("Content-Type", "application/json"),)


def _summary(matches: list[Match]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(m.rule, m.method.value, m.location, m.decoding) for m in matches]


def test_classifier_query_parameter_is_url_decoded(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    matches = classifier.classify(request_to(query="child=Mia%20Lopez&lang=en"))
    assert _summary(matches) == [
        ("persona:child.name", "persona", "query parameter 'child'", ("url-decode",))
    ]
    [match] = matches
    assert (match.value, match.form, match.confidence) == ("Mia Lopez", "plain", 1.0)
    assert match.category.tier is Tier.IDENTIFYING


def test_classifier_nested_json_field_and_persona_beats_key(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    body = json.dumps({"profile": {"name": "Mia Lopez", "age": 7}}).encode()
    matches = classifier.classify(request_to(headers=_JSON, body=body))
    assert _summary(matches) == [
        ("persona:child.name", "persona", "JSON body field 'profile.name'", ("json",)),
        ("child-age", "pattern", "JSON body field 'profile.age'", ("json",)),
    ]


def test_classifier_json_inside_a_json_string(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    inner = json.dumps({"email": "ana.lopez@example.com"})
    body = json.dumps({"payload": inner}).encode()
    [match] = classifier.classify(request_to(headers=_JSON, body=body))
    assert match.location == "JSON body field 'payload', JSON field 'email'"
    assert match.decoding == ("json", "json")
    assert (match.method, match.persona_field) == (Method.PERSONA, "parent.email")


def test_classifier_form_body(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    form = (("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),)
    request = request_to(headers=form, body=b"ssid=Lopez-Home-5G&volume=5")
    assert _summary(classifier.classify(request)) == [
        ("persona:wifi.ssid", "persona", "form field 'ssid'", ("form",))
    ]


def test_classifier_base64_value_is_decoded_and_recorded(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    encoded = base64.b64encode(b'{"contact": "someone.else@mail.example"}').decode()
    matches = classifier.classify(request_to(query=f"d={encoded}"))
    assert _summary(matches) == [
        (
            "email-address",
            "pattern",
            "query parameter 'd', JSON field 'contact'",
            ("base64", "json"),
        )
    ]
    assert matches[0].value == "someone.else@mail.example"


def test_classifier_audio_body_by_magic_bytes(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    wav = b"RIFF\x24\x60\x00\x00WAVEfmt " + bytes(24 * 1024 - 16)
    headers = (("Content-Type", "application/octet-stream"),)
    [match] = classifier.classify(request_to(headers=headers, body=wav))
    assert (match.rule, match.method, match.location) == (
        "audio-upload",
        Method.CONTENT,
        "request body",
    )
    assert match.value == "WAV audio, 24 KB"
    assert match.category.id == "voice-recording"


def test_classifier_audio_body_by_content_type(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    headers = (("Content-Type", "audio/ogg; codecs=opus"),)
    [match] = classifier.classify(request_to(headers=headers, body=b"\x01\x02\x03"))
    assert (match.category.id, match.value) == ("voice-recording", "audio/ogg, 3 bytes")


def test_classifier_header_value(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    headers = (("X-Device-Id", "TB22910047"), ("Accept", "TB22910047"))
    assert _summary(classifier.classify(request_to(headers=headers))) == [
        ("persona:toy.serial", "persona", "header 'X-Device-Id'", ())
    ]


def test_classifier_cookie_is_split(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    headers = (("Cookie", "theme=dark; sid=9F1C2E7A11B0"),)
    matches = classifier.classify(request_to(headers=headers))
    assert _summary(matches) == [("account-id", "key", "cookie 'sid'", ())]
    assert matches[0].value == "9F1C2E7A11B0"


def test_classifier_path_segment(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    request = request_to(path="/v1/users/ana.lopez%40example.com/profile")
    assert _summary(classifier.classify(request)) == [
        ("persona:parent.email", "persona", "path segment 3", ("url-decode",))
    ]


def test_classifier_gzip_body(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    headers = (*_JSON, ("Content-Encoding", "gzip"))
    body = gzip.compress(json.dumps({"mac": "a4cf123b9e01"}).encode())
    [match] = classifier.classify(request_to(headers=headers, body=body))
    assert (match.form, match.decoding) == ("mac-no-separators", ("gzip", "json"))


def test_classifier_clean_request_has_no_match(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    body = json.dumps({"volume": 5, "lang": "en", "story": "dragons"}).encode()
    request = request_to(path="/v1/settings", headers=_JSON, body=body, query="v=2")
    assert classifier.classify(request) == []


def test_classifier_recipient_and_stable_order(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    body = json.dumps({"idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC", "n": "Mia"})
    request = request_to(host="api2.amplitude.com", headers=_JSON, body=body.encode())
    first = classifier.classify(request)
    assert first == classifier.classify(request)
    assert [match.rule for match in first] == [
        "advertising-id",
        "persona:child.first_name",
    ]
    assert {match.recipient.party for match in first} == {Party.TRACKER}


def test_classifier_dns_name_label_holds_the_serial(classifier: Classifier) -> None:
    query = DnsQuery(
        evidence=Evidence(file="traffic.pcap", packets=(7,)),
        client=Endpoint("192.168.1.20", 5353),
        server=Endpoint("192.168.1.1", 53),
        name="tb22910047.devices.toyco.example",
        qtype=1,
    )
    [match] = classifier.classify(query)
    assert (match.persona_field, match.location) == ("toy.serial", "DNS name")
    assert match.recipient.party is Party.FIRST_PARTY


def test_classifier_tls_without_sni_uses_server_ip(classifier: Classifier) -> None:
    hello = TlsClientHello(
        evidence=Evidence(file="traffic.pcap", packets=(9,)),
        client=Endpoint("192.168.1.20", 50000),
        server=Endpoint("198.51.100.4", 443),
        sni=None,
        legacy_version=0x0303,
    )
    assert classifier.classify(hello) == []
    assert classifier.recipient_for(hello.server.ip).party is Party.UNKNOWN


def test_classifier_persona_hit_hides_other_categories_in_same_field(
    classifier_for: Callable[[dict[str, str]], Classifier],
    request_to: RequestFactory,
) -> None:
    classifier = classifier_for({"wifi.password": "otter-42-marmalade"})
    body = json.dumps({"ssid": "Lopez-Home-5G", "password": "otter-42-marmalade"})
    matches = classifier.classify(request_to(headers=_JSON, body=body.encode()))
    categories = {(match.location, match.category.id) for match in matches}
    assert ("JSON body field 'password'", "wifi-password") in categories
    assert ("JSON body field 'password'", "password") not in categories


def test_classifier_persona_inside_free_text_hides_no_other_category(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    body = json.dumps({"utterance": "can Mia have a story about dragons"})

    matches = classifier.classify(request_to(headers=_JSON, body=body.encode()))

    assert {(match.category.id, match.method) for match in matches} == {
        ("child-name", Method.PERSONA),
        ("chat-message", Method.KEY),
    }


def test_classifier_siblings_name_in_what_the_child_said_is_a_childs_name(
    classifier_for: Callable[[dict[str, str]], Classifier],
    request_to: RequestFactory,
) -> None:
    classifier = classifier_for(
        {"child.first_name": "Mia", "sibling.first_name": "Tamsin"}
    )
    body = json.dumps({"utterance": "goodnight owl, can Tamsin have a story too"})

    matches = classifier.classify(request_to(headers=_JSON, body=body.encode()))

    [name] = [match for match in matches if match.method is Method.PERSONA]
    assert (name.category.id, name.persona_field) == (
        "child-name",
        "sibling.first_name",
    )
    assert name.location == "JSON body field 'utterance'"


def _token(claims: dict[str, str]) -> str:
    def segment(document: dict[str, str]) -> str:
        raw = json.dumps(document).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{segment({'alg': 'HS256'})}.{segment(claims)}.c2lnbmF0dXJlLXNpZ24"


def test_classifier_jwt_claims_are_searched_with_their_chain(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    token = _token({"sub": "u_4711", "email": "ana.lopez@example.com"})
    request = request_to(headers=(("Authorization", f"Bearer {token}"),))

    matches = classifier.classify(request)

    [claim] = [match for match in matches if match.persona_field == "parent.email"]
    assert claim.location == "header 'Authorization', JWT claim 'email'"
    assert claim.decoding == ("jwt", "base64url", "json")
    assert any(match.category.id == "access-token" for match in matches)


def test_classifier_multipart_upload_finds_each_part(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    boundary = "PipBoundary42"
    parts = (
        ('name="kid"', b"Mia"),
        ('name="voice"; filename="m.wav"\r\nContent-Type: audio/wav', b"RIFF"),
        ('name="selfie"; filename="me.png"', b"\x89PNG\r\n\x1a\n" + bytes(64)),
    )
    body = b"".join(
        f"--{boundary}\r\nContent-Disposition: form-data; {head}\r\n\r\n".encode()
        + content
        + b"\r\n"
        for head, content in parts
    )
    body += f"--{boundary}--\r\n".encode()
    headers = (("Content-Type", f"multipart/form-data; boundary={boundary}"),)

    matches = classifier.classify(request_to(headers=headers, body=body))

    assert [(m.category.id, m.location, m.decoding) for m in matches] == [
        ("voice-recording", "multipart part 'voice'", ("multipart",)),
        ("image", "multipart part 'selfie'", ("multipart",)),
        ("child-name", "multipart part 'kid'", ("multipart",)),
    ]
    assert matches[0].value == "audio/wav, 4 bytes"


def test_classifier_protobuf_body_without_a_schema(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    profile = b"\x0a\x03Mia\x10\x07"
    body = b"\x0a\x0aTB22910047\x12" + bytes([len(profile)]) + profile
    headers = (("Content-Type", "application/x-protobuf"),)

    matches = classifier.classify(request_to(headers=headers, body=body))

    assert [(m.rule, m.location, m.decoding) for m in matches] == [
        ("persona:toy.serial", "request body, protobuf field '1'", ("protobuf",)),
        (
            "persona:child.first_name",
            "request body, protobuf field '2.1'",
            ("protobuf",),
        ),
    ]


def test_classifier_base64_of_gzip_json_in_a_json_field(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    packed = gzip.compress(json.dumps({"owner": "ana.lopez@example.com"}).encode())
    body = json.dumps({"blob": base64.b64encode(packed).decode()}).encode()

    [match] = classifier.classify(request_to(headers=_JSON, body=body))

    assert match.location == "JSON body field 'blob', JSON field 'owner'"
    assert match.decoding == ("json", "base64", "gzip", "json")


def _counted(matches: list[Match]) -> list[tuple[str, str, str, int]]:
    return [(m.rule, m.location, m.value, m.count) for m in matches]


_Identity = tuple[str, str, str, int, tuple[str, ...], Method]
"""Rule, location, value, count, decoding and method of a match."""


def _identities(matches: list[Match]) -> list[_Identity]:
    return [
        (m.rule, m.location, m.value, m.count, m.decoding, m.method) for m in matches
    ]


def _events(count: int, **fields: str) -> list[dict[str, str]]:
    """A telemetry batch: ``count`` events, each with a timestamp and ``fields``."""
    return [{"t": str(1767225600 + second), **fields} for second in range(count)]


def _json_request(
    request_to: RequestFactory, body: object, **parts: str
) -> HttpRequest:
    return request_to(headers=_JSON, body=json.dumps(body).encode(), **parts)


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("mac", "3C:71:BF:00:12:34", "mac-address"),
        ("toy", "A4:CF:12:3B:9E:01", "persona:toy.mac"),
    ],
)
def test_classifier_same_value_in_80_events_is_one_match_counted_80(
    classifier: Classifier, request_to: RequestFactory, key: str, value: str, rule: str
) -> None:
    request = _json_request(request_to, {"events": _events(80, **{key: value})})

    matches = classifier.classify(request)

    assert _counted(matches) == [
        (rule, f"JSON body field 'events[0].{key}'", value, 80)
    ]


def test_classifier_differing_values_in_one_place_are_separate_matches(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    macs = ("3C:71:BF:00:12:34", "3C:71:BF:00:56:78")
    events = [{"mac": macs[number % 2]} for number in range(80)]

    matches = classifier.classify(_json_request(request_to, {"events": events}))

    assert _counted(matches) == [
        ("mac-address", "JSON body field 'events[0].mac'", macs[0], 40),
        ("mac-address", "JSON body field 'events[1].mac'", macs[1], 40),
    ]


@pytest.mark.parametrize("rows", [3, 80])  # walked leaf by leaf, read as a table
def test_classifier_key_only_hits_at_one_place_are_one_match(
    classifier: Classifier, request_to: RequestFactory, rows: int
) -> None:
    # usage-event reads the name "battery", not the level: 80 levels in one
    # batch are one proof, at the first event, counted once per event.
    events = [
        {"battery": str(5 + number), "mac": "3C:71:BF:00:12:34"}
        for number in range(rows)
    ]

    matches = classifier.classify(_json_request(request_to, {"events": events}))

    assert _counted(matches) == [
        ("usage-event", "JSON body field 'events[0].battery'", "5", rows),
        ("mac-address", "JSON body field 'events[0].mac'", "3C:71:BF:00:12:34", rows),
    ]
    assert [m.method for m in matches] == [Method.KEY, Method.PATTERN]


def test_classifier_key_only_hits_at_two_places_stay_apart(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    body = {
        "toy": [{"battery": "80"}, {"battery": "79"}],
        "remote": [{"battery": "40"}, {"battery": "41"}],
    }

    matches = classifier.classify(_json_request(request_to, body))

    assert _counted(matches) == [
        ("usage-event", "JSON body field 'toy[0].battery'", "80", 2),
        ("usage-event", "JSON body field 'remote[0].battery'", "40", 2),
    ]


def test_classifier_same_value_under_two_names_is_two_matches(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    mac = "3C:71:BF:00:12:34"
    body = {"mac": mac, "device": {"mac": mac}, "events": _events(3, mac=mac)}

    matches = classifier.classify(_json_request(request_to, body))

    assert _counted(matches) == [
        ("mac-address", "JSON body field 'mac'", mac, 1),
        ("mac-address", "JSON body field 'device.mac'", mac, 1),
        ("mac-address", "JSON body field 'events[0].mac'", mac, 3),
    ]


def test_classifier_same_observation_twice_gives_equal_matches(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    payload = base64.b64encode(b'{"contact": "kid@mail.example"}').decode()
    body = {
        "profile": {"name": "Mia Lopez", "age": "7"},
        "events": _events(20, mac="3C:71:BF:00:12:34", toy="a4cf123b9e01"),
        "payload": payload,
    }
    request = _json_request(
        request_to,
        body,
        query="child=Mia%20Lopez&lang=en",
        path="/v1/users/ana.lopez%40example.com",
    )

    first = _identities(classifier.classify(request))
    second = _identities(classifier.classify(request))

    assert second == first
    assert len(first) == 7
    assert [identity[3] for identity in first] == [1, 1, 1, 1, 20, 20, 1]


def test_classifier_order_follows_the_document_when_some_fields_were_cached(
    classifier: Classifier,
    classifier_for: Callable[[dict[str, str]], Classifier],
    request_to: RequestFactory,
) -> None:
    mac = "3C:71:BF:00:12:34"
    earlier = {"events": [{"mac": mac}], "contact": "kid@mail.example"}
    classifier.classify(_json_request(request_to, earlier, query="id=TB22910047"))
    body = {
        "name": "Mia Lopez",
        "events": [{"mac": mac}, {"mac": "3C:71:BF:00:56:78"}, {"mac": mac}],
        "contact": "kid@mail.example",
        "idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC",
    }
    request = _json_request(request_to, body, query="lang=en&id=TB22910047")

    warm = classifier.classify(request)
    fresh = classifier_for({}).classify(request)

    assert _identities(warm) == _identities(fresh)
    assert [match.location for match in warm] == [
        "query parameter 'id'",
        "JSON body field 'name'",
        "JSON body field 'events[0].mac'",
        "JSON body field 'events[1].mac'",
        "JSON body field 'contact'",
        "JSON body field 'idfa'",
    ]
    assert warm[2].count == 2


def test_classifier_json_lone_surrogate_does_not_stop_classification(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    body = b'{"note": "\\ud800", "contact": "kid@mail.example"}'

    matches = classifier.classify(request_to(headers=_JSON, body=body))

    assert _counted(matches) == [
        ("email-address", "JSON body field 'contact'", "kid@mail.example", 1)
    ]


def test_classifier_same_observation_twice_at_the_field_limit(
    classifier: Classifier, request_to: RequestFactory, shipped_rules: RuleSet
) -> None:
    events = [
        {
            "note": base64.b64encode(f"story {number}".encode()).decode(),
            "contact": f"kid{number}@mail.example",
        }
        for number in range(shipped_rules.decoding.max_fields // 2 + 500)
    ]
    request = _json_request(request_to, {"events": events})

    first = _identities(classifier.classify(request))

    assert _identities(classifier.classify(request)) == first


def test_classifier_max_fields_bounds_a_flat_json_list(
    classifier: Classifier, request_to: RequestFactory, shipped_rules: RuleSet
) -> None:
    limit = shipped_rules.decoding.max_fields
    emails = [f"kid{number}@mail.example" for number in range(limit + 1000)]

    matches = classifier.classify(_json_request(request_to, {"emails": emails}))

    assert len(matches) <= limit


def test_classifier_table_counts_from_the_first_row_holding_a_cell(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    mac = "3C:71:BF:00:12:34"
    events: list[object] = [{"t": "1"}]
    events += [{"t": "2", "device": {"mac": mac}} for _ in range(11)]

    matches = classifier.classify(_json_request(request_to, {"events": events}))

    assert _counted(matches) == [
        ("mac-address", "JSON body field 'events[1].device.mac'", mac, 11)
    ]


def test_classifier_short_and_long_lists_at_one_place_are_one_match(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    mac = "3C:71:BF:00:12:34"
    groups = [{"events": _events(3, mac=mac)}, {"events": _events(12, mac=mac)}]
    request = _json_request(request_to, {"groups": groups})

    first = classifier.classify(request)

    assert _counted(first) == [
        ("mac-address", "JSON body field 'groups[0].events[0].mac'", mac, 15)
    ]
    assert _identities(classifier.classify(request)) == _identities(first)


def test_classifier_table_of_cached_and_new_cells_follows_the_document(
    classifier: Classifier,
    classifier_for: Callable[[dict[str, str]], Classifier],
    request_to: RequestFactory,
) -> None:
    cached, fresh_mac = "3C:71:BF:00:12:34", "3C:71:BF:00:56:78"
    classifier.classify(_json_request(request_to, {"events": _events(8, mac=cached)}))
    events = [
        *_events(2, mac="none"),
        *_events(1, mac=cached),
        *_events(2, mac=fresh_mac, email="kid@mail.example"),
        *_events(6, mac=cached),
    ]
    request = _json_request(request_to, {"events": events})

    warm = classifier.classify(request)

    assert _identities(warm) == _identities(classifier_for({}).classify(request))
    assert _counted(warm) == [
        ("mac-address", "JSON body field 'events[2].mac'", cached, 7),
        ("mac-address", "JSON body field 'events[3].mac'", fresh_mac, 2),
        ("email-address", "JSON body field 'events[3].email'", "kid@mail.example", 2),
    ]


def test_classifier_table_keeps_document_order_when_first_rows_lack_a_key(
    classifier: Classifier, request_to: RequestFactory
) -> None:
    mac, email = "3C:71:BF:00:12:34", "kid@mail.example"
    events = [{"note": "hi"}, {"mac": mac, "note": email}, *[{"note": "hi"}] * 8]

    matches = classifier.classify(_json_request(request_to, {"events": events}))

    assert _counted(matches) == [
        ("mac-address", "JSON body field 'events[1].mac'", mac, 1),
        ("email-address", "JSON body field 'events[1].note'", email, 1),
    ]


def _field_by_field(
    request: HttpRequest, rules: RuleSet, search: FieldSearch
) -> list[_Identity]:
    """What the classifier must report for a JSON body, found the slow way.

    Each leaf is searched on its own, in document order; the hits of leaves
    at one place (list indices aside) holding one value are one match,
    counted once per leaf and located at the first.
    """
    items = raw_items(request, rules.decoding)
    [document] = [item for item in items if isinstance(item, JsonDocument)]
    matches: dict[tuple[str, str, int], list[Any]] = {}
    for field in document.fields():
        for rank, found in enumerate(search.search(field)[1]):
            held = matches.get((field.place, field.value, rank))
            if held is not None:
                held[3] += 1
                continue
            matches[(field.place, field.value, rank)] = [
                found.rule, field.location + found.suffix, found.value, 1,
                found.decoding, found.method,
            ]  # fmt: skip
    return [tuple(entry) for entry in matches.values()]


def _telemetry_body(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    values: st.SearchStrategy[str],
    sparse: bool = False,
) -> dict[str, object]:
    """A batch of events whose rows list their keys in the same order.

    When ``sparse``, a row may lack any of its keys.
    """
    pool = draw(st.lists(values, min_size=1, max_size=5))
    pool += [base64.b64encode(value.encode()).decode() for value in pool[:2]]
    cell = st.sampled_from(pool)
    kept = st.booleans() if sparse else st.just(True)
    rows = draw(st.integers(min_value=0, max_value=20))
    events = [
        {
            key: value
            for key, value in (
                ("t", draw(cell)),
                ("mac", draw(cell)),
                ("device", {"id": draw(cell)}),
            )
            if draw(kept)
        }
        for _ in range(rows)
    ]
    return {"name": draw(cell), "events": events, "meta": {"mac": draw(cell)}}


# request_to only builds requests; it holds nothing one example could leave behind.
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), sparse=st.booleans())
def test_classifier_counts_what_a_field_by_field_search_finds(
    data: st.DataObject,
    sparse: bool,
    shipped_rules: RuleSet,
    standard_session: Session,
    persona_index: PersonaIndex,
    request_to: RequestFactory,
    telemetry_values: st.SearchStrategy[str],
) -> None:
    earlier = _telemetry_body(data.draw, telemetry_values, sparse)
    body = _telemetry_body(data.draw, telemetry_values, sparse)
    request = request_to(path="/", headers=_JSON, body=json.dumps(body).encode())
    warm = Classifier(shipped_rules, standard_session)
    warm.classify(request_to(headers=_JSON, body=json.dumps(earlier).encode()))
    search = FieldSearch(
        [rule for rule in shipped_rules.detectors if not rule.content],
        persona_index,
        shipped_rules.decoding,
    )
    expected = _field_by_field(request, shipped_rules, search)
    for classifier in (warm, Classifier(shipped_rules, standard_session)):
        assert _identities(classifier.classify(request)) == expected
