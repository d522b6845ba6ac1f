"""Every shipped detector's own positive and negative examples, plus matcher details."""

from __future__ import annotations

from pathlib import Path

import pytest

from toyaudit.classify import default_rules_dir, load_rules
from toyaudit.classify.decoders import Field
from toyaudit.classify.detectors import (
    ContentMatcher,
    Detector,
    Example,
    MagicSignature,
    strongest_magic,
)
from toyaudit.classify.fields import textual_type
from toyaudit.classify.records import Method
from toyaudit.errors import RulesError

_RULES = load_rules([default_rules_dir()])
_CASES = [
    pytest.param(detector, example, id=f"{detector.id}-{example.line}")
    for detector in _RULES.detectors
    for example in detector.examples
]


def _detects(detector: Detector, example: Example) -> bool:
    if detector.content is not None:
        declared = example.content_type
        if detector.content.identify(declared, b"") is not None:
            return True
        if textual_type(declared) or any(
            rule.content.identify(declared, b"")
            for rule in _RULES.detectors
            if rule.content
        ):
            return False
        # Magic: the most specific signature of all content rules decides.
        candidates = [
            (rule, rule.content.magic) for rule in _RULES.detectors if rule.content
        ]
        winners = strongest_magic(candidates, example.body)
        return any(rule is detector for rule, _ in winners)
    field = Field(example.part, example.key, "example", (), example.value)
    return bool(detector.hits(field, _RULES.decoding.ignored_values))


@pytest.mark.parametrize(("detector", "example"), _CASES)
def test_detector_examples_behave_as_declared(
    detector: Detector, example: Example
) -> None:
    where = f"{detector.source} example at line {example.line}"
    assert _detects(detector, example) is example.positive, where


def test_detector_every_rule_has_positive_and_negative_examples() -> None:
    for detector in _RULES.detectors:
        kinds = {example.positive for example in detector.examples}
        assert kinds == {True, False}, detector.id


def test_detector_pattern_hit_reports_only_the_matched_text() -> None:
    email = next(rule for rule in _RULES.detectors if rule.id == "email-address")
    field = Field("body", None, "request body", (), "mail ana@web.de now")
    [hit] = email.hits(field, frozenset())
    assert (hit.value, hit.method) == ("ana@web.de", Method.PATTERN)


def test_detector_skips_parts_it_does_not_cover() -> None:
    bearer = next(rule for rule in _RULES.detectors if rule.id == "bearer-token")
    field = Field(
        "query", "authorization", "query parameter", (), "Bearer 0123456789ab"
    )
    assert bearer.hits(field, frozenset()) == []


def _rule(rule_id: str) -> Detector:
    return next(rule for rule in _RULES.detectors if rule.id == rule_id)


def _categories(key: str | None, value: str, part: str = "body") -> set[str]:
    """Categories of every shipped detector that matches one field."""
    field = Field(part, key, "example", (), value)
    ignored = _RULES.decoding.ignored_values
    return {
        detector.category_id
        for detector in _RULES.detectors
        if detector.content is None and detector.hits(field, ignored)
    }


def test_detector_router_addresses_are_wifi_networks_not_device_macs() -> None:
    scan = "2e:1d:a1:df:0e:00,da:00:bd:34:1a:f7"
    assert _categories("bssids", scan) == {"wifi-network"}
    assert _categories("aps[3].bssid", "2e:1d:a1:df:0e:00") == {"wifi-network"}
    assert _categories("device.mac", "2e:1d:a1:df:0e:00") == {"mac-address"}
    [first, second] = _rule("wifi-bssid").hits(
        Field("query", "bssids", "example", (), scan), frozenset()
    )
    assert (first.value, second.value) == ("2e:1d:a1:df:0e:00", "da:00:bd:34:1a:f7")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sender", "noreply@toyco.example"),
        ("reply_to", "DoNotReply@toyco.example"),
        ("footer", "write to support@toyco.example"),
        ("support_contact", "jane.doe@toyco.example"),
        ("vendor.email", "jane.doe@toyco.example"),
    ],
)
def test_detector_vendor_addresses_are_not_the_family_email(
    key: str, value: str
) -> None:
    assert "email-address" not in _categories(key, value)


@pytest.mark.parametrize(
    ("key", "value", "category"),
    [
        ("support_phone", "+44 20 7946 0958", None),
        ("hotline", "+1 800 555 0100", None),
        ("phone", "+1 800 555 0100", None),
        ("events[0].ts", "1795170680370", None),
        ("phone", "+44 7700 900128", "phone-number"),
    ],
)
def test_detector_phone_is_validated_by_numbering_plan(
    key: str, value: str, category: str | None
) -> None:
    expected = set() if category is None else {category}
    assert _categories(key, value) & {"phone-number"} == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("office_location", "51.5142,-0.0931"),
        ("aspect", "1.333,1.778"),
        ("default_loc", "37.4220,-122.0841"),
        ("loc", "37.785834,-122.406417"),
        ("sdk_version", "12.4521"),
        ("uptime_s", "5123.4471"),
        ("placeholder", "0.00000,0.00000"),
    ],
)
def test_detector_placeholder_positions_are_not_locations(key: str, value: str) -> None:
    assert "precise-location" not in _categories(key, value)


@pytest.mark.parametrize(
    ("key", "value", "category"),
    [
        ("child.gender", "female", "child-gender"),
        ("gender", "boy", "child-gender"),
        ("voice_enabled", "true", None),
        ("device.voice_enabled", "true", None),
        ("camera_enabled", "true", None),
        ("chat_mode", "bedtime", None),
        ("request_id", "a3da6862-23f9-425a-8df7-9c3ef617e8a8", None),
        ("ifa", "00000000-0000-0000-0000-000000000000", None),
        ("device.imei", "000000000000000", None),
    ],
)
def test_detector_flags_and_placeholders_are_not_personal_data(
    key: str, value: str, category: str | None
) -> None:
    expected = set() if category is None else {category}
    assert _categories(key, value) == expected


@pytest.mark.parametrize(
    ("body_hex", "category", "name"),
    [
        ("00 00 00 1C 66 74 79 70 4D 34 41 20", "voice-recording", "M4A audio"),
        ("FF F1 50 80 05 9F FC", "voice-recording", "MPEG audio frames (MP3 or AAC)"),
        ("1A 45 DF A3 87 42 82 84", "voice-recording", "WebM/Matroska recording"),
        ("00 00 00 18 66 74 79 70 68 65 69 63", "image", "HEIC image"),
        ("00 00 00 20 66 74 79 70 69 73 6F 6D", "image", "MP4 video"),
        ("52 49 46 46 24 00 00 00 57 45 42 50", "image", "WebP image"),
    ],
)
def test_detector_content_names_each_format_by_its_magic(
    body_hex: str, category: str, name: str
) -> None:
    body = bytes.fromhex(body_hex.replace(" ", ""))
    found = [
        (detector.category_id, kind)
        for detector in _RULES.detectors
        if detector.content is not None
        and (kind := detector.content.identify("application/octet-stream", body))
    ]
    assert found == [(category, name)]


_EBML = bytes.fromhex("1A45DFA3")
_FULL = b"\xff" * 4


def test_detector_magic_contains_looks_within_its_window() -> None:
    signature = MagicSignature("clip", ((0, _EBML, _FULL),), (b"V_VP8", b"V_AV1"), 64)
    assert signature.matches(_EBML + bytes(20) + b"V_AV1")
    assert not signature.matches(_EBML + bytes(20))  # no codec named
    assert not signature.matches(_EBML + bytes(60) + b"V_VP8")  # past 64 bytes
    assert not signature.matches(b"\x00" + _EBML[1:] + b"V_VP8")  # magic first
    assert (signature.fixed_bits, signature.strength) == (32, 72)


def test_detector_content_identify_takes_the_strongest_signature() -> None:
    matcher = ContentMatcher(
        (),
        (
            MagicSignature("any Matroska", ((0, _EBML, _FULL),)),
            MagicSignature("a video", ((0, _EBML, _FULL),), (b"V_VP9",)),
        ),
    )
    assert matcher.identify("", _EBML + b"..V_VP9..") == "a video"
    assert matcher.identify("", _EBML + b"..A_OPUS..") == "any Matroska"


@pytest.mark.parametrize(
    ("tracks", "category", "name"),
    [
        (b"\x83\x81\x01\x86\x85V_VP8", "image", "WebM/Matroska video"),
        (b"\x83\x81\x01\x86\x85V_AV1\x83\x81\x02\x86\x86A_OPUS", "image",
         "WebM/Matroska video"),
        (b"\x83\x81\x02\x86\x86A_OPUS", "voice-recording", "WebM/Matroska recording"),
        (b"", "voice-recording", "WebM/Matroska recording"),
    ],
)  # fmt: skip
def test_detector_webm_naming_a_video_track_is_a_video(
    tracks: bytes, category: str, name: str
) -> None:
    body = _EBML + b"\x87\x42\x82\x84webm" + tracks + bytes(200)
    candidates = [
        (rule, rule.content.magic) for rule in _RULES.detectors if rule.content
    ]
    [(rule, signature)] = strongest_magic(candidates, body)
    assert (rule.category_id, signature.name) == (category, name)


@pytest.mark.parametrize(
    ("signature", "problem"),
    [
        ("{name: v, bytes: {0: '1A 45'}, contains: ['56 5F ??']}", "has '?'"),
        ("{name: v, bytes: {0: '1A 45'}, contains: ['56 5']}", "is not hex"),
        ("{name: v, bytes: {0: '1A 45'}, within: 100}", "'within'"),
        ("{name: v, bytes: {0: '1A 45'}, contains: ['56'], within: 0}", "'within'"),
    ],
)
def test_detector_magic_contains_is_checked_when_loaded(
    tmp_path: Path, signature: str, problem: str
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "clip.yaml").write_text(
        "detectors:\n"
        "  - id: t-clip\n"
        "    category: image\n"
        "    content:\n"
        f"      magic: [{signature}]\n",
        encoding="utf-8",
    )
    with pytest.raises(RulesError) as caught:
        load_rules([default_rules_dir(), folder])
    assert "rule t-clip" in caught.value.message
    assert problem in caught.value.message
