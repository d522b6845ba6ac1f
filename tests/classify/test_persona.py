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
}


def _index(**values: str) -> PersonaIndex:
    persona = [
        PersonaValue(field.replace("_", "."), value) for field, value in values.items()
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
    ],
)
def test_persona_mac_notations_are_found(text: str, form: str) -> None:
    assert _forms(_index(toy_mac="A4:CF:12:3B:9E:01"), f"mac={text}") == [
        ("toy.mac", form)
    ]


def test_persona_birthdate_other_notations_are_found() -> None:
    index = _index(child_birthdate="2018-03-14")
    assert _forms(index, "dob=14/03/2018") == [("child.birthdate", "date-day-first")]
    assert _forms(index, "dob=20180314") == [("child.birthdate", "date-compact")]


def test_persona_hits_come_in_text_order() -> None:
    index = _index(child_name="Mia Lopez", parent_email="ana@web.de")
    fields = [field for field, _ in _forms(index, "ana@web.de wrote to Mia Lopez")]
    assert fields == ["parent.email", "child.name"]
