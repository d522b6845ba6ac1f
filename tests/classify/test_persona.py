"""The persona search: every form of every persona value, and nothing more."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

import pytest

from toyaudit.classify.persona import PersonaIndex
from toyaudit.session import PersonaValue

_CATEGORIES = {
    "child.name": "child-name",
    "parent.email": "email-address",
    "parent.phone": "phone-number",
    "toy.mac": "mac-address",
    "child.birthdate": "child-birthdate",
    "home.coordinates": "precise-location",
    "home.address": "postal-address",
    "wifi.ssid": "wifi-network",
    "phone.advertising_id": "advertising-id",
}


def _index(**values: str) -> PersonaIndex:
    persona = [
        PersonaValue(field.replace("_", ".", 1), value)
        for field, value in values.items()
    ]
    return PersonaIndex(persona, _CATEGORIES)


def _forms(index: PersonaIndex, text: str) -> list[tuple[str, str]]:
    return [(hit.form.field, hit.form.form) for hit in index.search(text)]


def test_persona_plain_form_is_case_insensitive_and_trimmed() -> None:
    index = _index(child_name="  Mia Lopez ")
    assert _forms(index, "hello MIA LOPEZ!") == [("child.name", "plain")]


def test_persona_plain_form_needs_whole_words() -> None:
    index = _index(child_name="Mia")
    assert _forms(index, "Miami") == []
    assert _forms(index, "id=mia&x=1") == [("child.name", "plain")]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (quote("Mia Lopez", safe=""), "url-encoded"),
        ("Mia+Lopez", "url-encoded"),
        (base64.b64encode(b"Mia Lopez").decode(), "base64"),
        (hashlib.md5(b"Mia Lopez").hexdigest(), "md5"),  # noqa: S324 -- what apps send
        (hashlib.sha1(b"Mia Lopez").hexdigest().upper(), "sha1"),  # noqa: S324
        (hashlib.sha256(b"Mia Lopez").hexdigest(), "sha256"),
        (hashlib.sha256(b"mia lopez").hexdigest(), "sha256-lower-case"),
        (b"Mia Lopez".hex(), "hex"),
        (b"Mia Lopez".hex().upper(), "hex"),
        ("Lopez, Mia", "name-reversed"),
    ],
)
def test_persona_encoded_and_hashed_forms_are_found(text: str, form: str) -> None:
    index = _index(child_name="Mia Lopez")
    assert _forms(index, f"v={text};") == [("child.name", form)]


def test_persona_base64_form_is_case_sensitive() -> None:
    encoded = base64.b64encode(b"Mia Lopez").decode()
    assert _forms(_index(child_name="Mia Lopez"), encoded.swapcase()) == []


def test_persona_email_hash_uses_lower_cased_trimmed_address() -> None:
    index = _index(parent_email=" Ana.Lopez@Example.com ")
    digest = hashlib.sha256(b"ana.lopez@example.com").hexdigest()
    [hit] = index.search(f"em={digest}")
    assert (hit.form.form, hit.form.category_id, hit.value) == (
        "sha256",
        "email-address",
        digest,
    )


def test_persona_phone_digits_and_their_hash_are_found() -> None:
    index = _index(parent_phone="+44 20 7946 0958")
    digest = hashlib.md5(b"442079460958").hexdigest()  # noqa: S324
    assert _forms(index, "p=442079460958") == [("parent.phone", "phone-digits")]
    assert _forms(index, digest) == [("parent.phone", "md5")]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("A4:CF:12:3B:9E:01", "plain"),
        ("a4:cf:12:3b:9e:01", "plain"),
        ("a4-cf-12-3b-9e-01", "mac-dashes"),
        ("A4CF123B9E01", "mac-no-separators"),
        ("a4cf.123b.9e01", "mac-dotted"),
        ("01:9e:3b:12:cf:a4", "mac-reversed"),
    ],
)
def test_persona_mac_notations_are_found(text: str, form: str) -> None:
    assert _forms(_index(toy_mac="A4:CF:12:3B:9E:01"), f"mac={text}") == [
        ("toy.mac", form)
    ]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("dob=14/03/2018", "date-day-first"),
        ("dob=20180314", "date-compact"),
        ("born March 14, 2018!", "date-long"),
        ("born Mar 14, 2018", "date-long"),
        ("14 March 2018", "date-long-day-first"),
        ("3/14/2018", "date-month-first-short"),
        ("2018/03/14", "date-slashed"),
        ("1520985600", "date-unix-time"),
        ("1520985600000", "date-unix-time"),
        ("birth_ts=1520982000000", "date-unix-time-nearby"),  # midnight in UTC+1
    ],
)
def test_persona_birthdate_other_notations_are_found(text: str, form: str) -> None:
    index = _index(child_birthdate="2018-03-14")
    assert _forms(index, text) == [("child.birthdate", form)]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("exp=14-Mar-2018;", "date-month-name-dashed"),  # Oracle's DD-MON-YYYY
        ("14-MAR-2018", "date-month-name-dashed"),
        ("14-March-2018", "date-month-name-dashed"),
        ('[14/Mar/2018:00:00:00 +0000] "GET', "date-month-name-slashed"),
        ("Wed Mar 14 2018 00:00:00 GMT+0000", "date-long-no-comma"),
        ("v=2018.03.14", "date-dotted-year-first"),
    ],
)
def test_persona_birthdate_month_name_notations_are_found(text: str, form: str) -> None:
    index = _index(child_birthdate="2018-03-14")
    assert _forms(index, text) == [("child.birthdate", form)]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("Sun, 04 Mar 2018 00:00:00 GMT", "date-long-day-first"),  # RFC 9110
        ("4 Mar 2018", "date-long-day-first"),
        ("04-Mar-2018", "date-month-name-dashed"),
        ("4-Mar-2018", "date-month-name-dashed"),
        ("March 04, 2018", "date-long"),
        ("Sun Mar 04 2018", "date-long-no-comma"),
    ],
)
def test_persona_birthdate_early_in_the_month_is_found_with_or_without_a_zero(
    text: str, form: str
) -> None:
    index = _index(child_birthdate="2018-03-04")
    assert _forms(index, text) == [("child.birthdate", form)]


@pytest.mark.parametrize(
    ("birthdate", "text", "form"),
    [
        ("2018-03-14", "Happy birthday! Born March 14th, 2018", "date-ordinal"),
        ("2018-03-14", "born on the 14th of March 2018", "date-ordinal-of"),
        ("2018-03-14", "14th of March, 2018", "date-ordinal-of"),
        ("2018-03-01", "1st March 2018", "date-ordinal-day-first"),
        ("2018-03-02", "Mar 2nd 2018", "date-ordinal-no-comma"),
        ("2018-03-23", "March 23rd, 2018", "date-ordinal"),
        ("2018-03-11", "11th March 2018", "date-ordinal-day-first"),
        ("2018-03-22", "22nd of March 2018", "date-ordinal-of"),
    ],
)
def test_persona_birthdate_with_an_ordinal_day_is_found(
    birthdate: str, text: str, form: str
) -> None:
    assert _forms(_index(child_birthdate=birthdate), text) == [
        ("child.birthdate", form)
    ]


@pytest.mark.parametrize(
    "text",
    ["14th March 2019", "March 14th, 2017", "4th of March 2018", "114th March 2018"],
)
def test_persona_birthdate_ordinal_of_another_day_is_not_found(text: str) -> None:
    assert _forms(_index(child_birthdate="2018-03-14"), text) == []
    # The 4th is inside "14th": only a whole word counts.
    assert _forms(_index(child_birthdate="2018-03-04"), "14th of March 2018") == []


@pytest.mark.parametrize(
    "text", ["14-Mar-2019", "14-Apr-2018", "114-Mar-2018", "14/Mar/20180", "Mar 14 20"]
)
def test_persona_birthdate_month_name_of_another_day_is_not_found(text: str) -> None:
    assert _forms(_index(child_birthdate="2018-03-14"), text) == []


def test_persona_birthdate_unix_time_of_another_day_is_not_found() -> None:
    index = _index(child_birthdate="2018-03-14")
    assert _forms(index, "ts=1521158400") == []  # 16 March, midnight UTC
    assert _forms(index, "v1520985600") == []  # part of a word
    assert _forms(index, "ts=1521023633000") == []  # 10:33:53 that day: an event


def test_persona_phone_e164_national_and_their_hashes_are_found() -> None:
    index = _index(parent_phone="+44 7700 900128")
    e164 = hashlib.sha1(b"+447700900128").hexdigest()  # noqa: S324
    assert _forms(index, e164) == [("parent.phone", "sha1-e164")]
    assert _forms(index, "tel=+447700900128") == [("parent.phone", "phone-e164")]
    assert _forms(index, "07700 900128") == [("parent.phone", "phone-national")]
    assert _forms(index, "07700900128") == [("parent.phone", "phone-national")]


@pytest.mark.parametrize(
    ("text", "forms"),
    [
        ("55.94824", ["latitude-nearby"]),
        ("lon=-3.19973", ["longitude-nearby"]),
        ("55.9486,-3.2000", ["latitude-nearby", "longitude-nearby"]),
        ("[-3.19998, 55.94863]", ["longitude", "latitude"]),  # GeoJSON order
        ("55.94863,-3.19998", ["plain"]),
    ],
)
def test_persona_coordinates_within_tolerance_are_found(
    text: str, forms: list[str]
) -> None:
    index = _index(home_coordinates="55.94863,-3.19998")
    assert [form for _, form in _forms(index, text)] == forms


@pytest.mark.parametrize(
    "text",
    [
        "55.95",  # two decimals: a city, not a street
        "55.9512",  # 280 m north: outside the tolerance
        "v1.55.9486",  # part of a version
        "155.94863",
        "3.19998",  # the wrong hemisphere
    ],
)
def test_persona_coordinates_far_or_coarse_are_not_found(text: str) -> None:
    assert _forms(_index(home_coordinates="55.94863,-3.19998"), text) == []


def test_persona_coordinate_near_zero_needs_its_partner() -> None:
    index = _index(home_coordinates="51.50134,-0.14189")
    assert _forms(index, "score=-0.1419") == []
    assert [form for _, form in _forms(index, "51.5014 -0.1419")] == [
        "latitude-nearby",
        "longitude-nearby",
    ]


def test_persona_numeric_forms_are_flagged_by_the_screens() -> None:
    index = _index(home_coordinates="55.94863,-3.19998", child_birthdate="2017-06-21")
    screens = index.screens()
    for text in ("55.94824", "-3.2002", "1498003200000", "1497960000"):
        assert _forms(index, text), text
        assert any(
            pattern.search(text.lower() if lowered else text)
            for pattern, lowered in screens
        ), text


def test_persona_address_parts_with_a_number_are_found_alone() -> None:
    index = _index(home_address="97 Thistledown Row, Little Amberley, AB71 1CD")
    assert _forms(index, "I live at 97 Thistledown Row") == [
        ("home.address", "address-part")
    ]
    assert _forms(index, "ab71 1cd") == [("home.address", "address-part")]
    assert _forms(index, "Little Amberley Primary School") == []


def test_persona_ssid_in_hex_and_advertising_id_without_dashes_are_found() -> None:
    index = _index(
        wifi_ssid="Lopez-Home-5G",
        phone_advertising_id="6D92078A-8246-4BA4-AE5B-76104861E7DC",
    )
    assert _forms(index, b"Lopez-Home-5G".hex()) == [("wifi.ssid", "hex")]
    assert _forms(index, "6d92078a82464ba4ae5b76104861e7dc") == [
        ("phone.advertising_id", "uuid-no-dashes")
    ]
    upper = hashlib.md5(b"6D92078A-8246-4BA4-AE5B-76104861E7DC").hexdigest()  # noqa: S324
    assert _forms(index, upper) == [("phone.advertising_id", "md5-upper-case")]


def test_persona_hits_come_in_text_order() -> None:
    index = _index(child_name="Mia Lopez", parent_email="ana@web.de")
    fields = [field for field, _ in _forms(index, "ana@web.de wrote to Mia Lopez")]
    assert fields == ["parent.email", "child.name"]
