"""The classifier on hand-built observations: where data hides and how it is found."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable

from toyaudit.classify import Classifier
from toyaudit.classify.records import Match, Method, Party, Tier
from toyaudit.ingest.records import (
    DnsQuery,
    Endpoint,
    Evidence,
    HttpRequest,
    TlsClientHello,
)

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
