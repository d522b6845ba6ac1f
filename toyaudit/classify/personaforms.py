"""The spellings of a persona value that apps and SDKs send.

Each value of the fake child profile is expanded into every literal form it
commonly travels in (:func:`persona_forms`): as typed, URL-encoded, base64,
hex, hashes of its usual normalisations, and notations of its own kind (MAC
separators, phone formats, date formats, address lines, names family-first).
Values that also travel as nearby numbers (coordinates, a birthdate as a
Unix time) get :func:`numeric_targets` as well. :mod:`.persona` compiles
both into one search.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from toyaudit.classify.personanumbers import (
    NumericTarget,
    coordinate_targets,
    epoch_targets,
)
from toyaudit.classify.telephone import NO_TRUNK_PREFIX, parse_phone
from toyaudit.session import PersonaValue

_MIN_LITERAL_LENGTH = 2
_HEX_DIGITS = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class PersonaForm:
    """One searchable spelling of one persona value."""

    field: str
    """Persona field, e.g. ``parent.email``."""
    category_id: str
    form: str
    """Name of the form: plain, url-encoded, base64, md5, mac-no-separators..."""
    literal: str
    case_sensitive: bool
    plain: str
    """The persona value as typed and trimmed, whatever the form."""


def persona_forms(
    item: PersonaValue, categories: Mapping[str, str]
) -> list[PersonaForm]:
    """Every literal form of one persona value, deduplicated, each with its category."""
    category_id = categories[item.field]
    plain = item.value.strip()
    spellings = [("plain", plain), *_field_spellings(item.field, plain)]
    encoded = _encodings(plain)
    normalised = _normalisations(item.field, plain)
    if normalised[0][1] != plain:
        encoded += [(name, literal) for name, literal in _encodings(normalised[0][1])
                    if name == "base64"]  # fmt: skip
    forms: dict[str, PersonaForm] = {}
    for form_name, literal in spellings + encoded:
        sensitive = form_name == "base64"
        key = literal if sensitive else literal.lower()
        if len(literal) >= _MIN_LITERAL_LENGTH and key not in forms:
            forms[key] = PersonaForm(
                item.field, category_id, form_name, literal, sensitive, plain
            )
    for variant, value in normalised:
        for algorithm, digest in _hashes(value):
            form_name = algorithm if not variant else f"{algorithm}-{variant}"
            forms.setdefault(
                digest,
                PersonaForm(item.field, category_id, form_name, digest, False, plain),
            )
    return list(forms.values())


def numeric_targets(item: PersonaValue) -> list[NumericTarget]:
    """Ranges of numbers that stand for this value (:mod:`.personanumbers`)."""
    if item.field == "home.coordinates":
        return coordinate_targets(item.field, item.value.strip())
    if item.field == "child.birthdate":
        try:
            birthdate = dt.date.fromisoformat(item.value.strip())
        except ValueError:
            return []
        return epoch_targets(item.field, birthdate)
    return []


def numeric_form(
    item: PersonaValue, target: NumericTarget, categories: Mapping[str, str]
) -> PersonaForm:
    """The form a numeric hit reports: which number, and that it is near."""
    plain = item.value.strip()
    category_id = categories[item.field]
    return PersonaForm(item.field, category_id, target.form, target.exact, False, plain)


def _field_spellings(field: str, plain: str) -> list[tuple[str, str]]:
    """Other notations of the same value that apps commonly use."""
    if field == "toy.mac":
        return _mac_spellings(plain)
    if field == "parent.phone":
        return _phone_spellings(plain)
    if field == "child.birthdate":
        return _date_spellings(plain)
    if field == "home.coordinates":
        return [("coordinates-spaced", plain.replace(",", ", "))]
    if field == "home.address":
        return _address_spellings(plain)
    if field == "phone.advertising_id":
        return [("uuid-no-dashes", plain.replace("-", ""))]
    if field in ("child.name", "sibling.name", "parent.name"):
        return _name_spellings(plain)
    return []


def _mac_spellings(plain: str) -> list[tuple[str, str]]:
    digits = _mac_digits(plain)
    if digits is None:
        return []
    octets = [digits[index : index + 2] for index in range(0, 12, 2)]
    return [
        ("mac-colons", ":".join(octets)),
        ("mac-dashes", "-".join(octets)),
        ("mac-no-separators", digits),
        (
            "mac-dotted",
            ".".join(digits[index : index + 4] for index in range(0, 12, 4)),
        ),
        # Bluetooth stacks carry addresses least significant octet first
        # (Bluetooth Core, Vol 3, Part C, 15.1), and some firmware prints them so.
        ("mac-reversed", ":".join(reversed(octets))),
        ("mac-reversed-no-separators", "".join(reversed(octets))),
    ]


def _mac_digits(plain: str) -> str | None:
    digits = "".join(char for char in plain.lower() if char in _HEX_DIGITS)
    return digits if len(digits) == 12 else None


def _phone_spellings(plain: str) -> list[tuple[str, str]]:
    """Digits only, E.164, the international 00 prefix and the national forms."""
    digits = "".join(char for char in plain if char.isdigit())
    spellings = [("phone-digits", digits)]
    number = parse_phone(plain)
    if number is None or number.e164 is None or number.country_code is None:
        return spellings
    code, national = number.country_code, number.national
    spellings += [
        ("phone-e164", number.e164),
        ("phone-international-00", f"00{code}{national}"),
        ("phone-national-number", national),
    ]
    if code not in NO_TRUNK_PREFIX:
        spellings.append(("phone-national", f"0{national}"))
        typed = plain.removeprefix("+").removeprefix("00").strip()
        rest = typed.removeprefix(code).lstrip(" -.")
        if rest != national:
            spellings.append(("phone-national", f"0{rest}"))
    return spellings


def _date_spellings(plain: str) -> list[tuple[str, str]]:
    """Numeric notations, then the month by name, with and without a padded day.

    Month names are English, as apps and servers write them: C's ``%b``
    (``14-Mar-2018`` in Oracle's DD-MON-YYYY, ``14/Mar/2018`` in web server
    logs), JavaScript's ``toDateString`` (``Mar 14 2018``), HTTP and e-mail
    dates (RFC 9110 and RFC 5322: ``04 Mar 2018``). An ISO date with a time
    of day is found by :mod:`.personapatterns`.
    """
    try:
        birthdate = dt.date.fromisoformat(plain)
    except ValueError:
        return []
    year, written = birthdate.year, birthdate.strftime
    spellings = [
        ("date-day-first", written("%d/%m/%Y")),
        ("date-month-first", written("%m/%d/%Y")),
        ("date-dotted", written("%d.%m.%Y")),
        ("date-dotted-year-first", written("%Y.%m.%d")),
        ("date-compact", written("%Y%m%d")),
        ("date-slashed", written("%Y/%m/%d")),
        ("date-day-first-dashed", written("%d-%m-%Y")),
        ("date-month-first-dashed", written("%m-%d-%Y")),
        ("date-day-first-short", f"{birthdate.day}/{birthdate.month}/{year}"),
        ("date-month-first-short", f"{birthdate.month}/{birthdate.day}/{year}"),
    ]
    days = dict.fromkeys([str(birthdate.day), written("%d")])
    ordinal = _ordinal(birthdate.day)
    for month in dict.fromkeys([written("%B"), written("%b")]):
        for day in days:
            spellings += [
                ("date-long", f"{month} {day}, {year}"),
                ("date-long-no-comma", f"{month} {day} {year}"),
                ("date-long-day-first", f"{day} {month} {year}"),
                ("date-month-name-dashed", f"{day}-{month}-{year}"),
                ("date-month-name-slashed", f"{day}/{month}/{year}"),
            ]
        # As people and greeting texts write it: "March 14th, 2018",
        # "14th March 2018", "14th of March 2018".
        spellings += [
            ("date-ordinal", f"{month} {ordinal}, {year}"),
            ("date-ordinal-no-comma", f"{month} {ordinal} {year}"),
            ("date-ordinal-day-first", f"{ordinal} {month} {year}"),
            ("date-ordinal-of", f"{ordinal} of {month} {year}"),
            ("date-ordinal-of", f"{ordinal} of {month}, {year}"),
        ]
    return spellings


def _ordinal(day: int) -> str:
    """The English ordinal of a day of the month: 1st, 2nd, 3rd, 4th, 11th, 22nd."""
    if 11 <= day <= 13:
        return f"{day}th"
    return f"{day}" + {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _address_spellings(plain: str) -> list[tuple[str, str]]:
    """The parts of an address that pin it down alone: street with number, postcode.

    A town on its own names thousands of homes (and the school down the
    road), so only parts holding a digit are searched apart.
    """
    parts = [part.strip() for part in plain.split(",")]
    if len(parts) < 2:
        return []
    return [
        ("address-part", part)
        for part in parts
        if len(part) >= _MIN_ADDRESS_PART and any(char.isdigit() for char in part)
    ]


_MIN_ADDRESS_PART = 5


def _name_spellings(plain: str) -> list[tuple[str, str]]:
    """Family name first, as registers and some sign-up forms write it."""
    words = plain.split()
    if len(words) != 2:
        return []
    given, family = words
    return [
        ("name-reversed", f"{family} {given}"),
        ("name-reversed", f"{family}, {given}"),
    ]


def _encodings(plain: str) -> list[tuple[str, str]]:
    """URL-encoded, base64 (standard and URL-safe, unpadded) and hex spellings."""
    raw = plain.encode("utf-8")
    return [
        ("url-encoded", quote(plain, safe="")),
        ("url-encoded", quote_plus(plain, safe="")),
        ("base64", base64.b64encode(raw).decode("ascii").rstrip("=")),
        ("base64", base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")),
        ("hex", raw.hex()),
    ]


def _normalisations(field: str, plain: str) -> list[tuple[str, str]]:
    """The value as services normalise it before hashing, the usual one first.

    Each comes with the name of the variant ("" for the usual one), so a
    hash hit says which was hashed: e-mail lower-cased (as ad platforms
    match audiences), phone digits and E.164, MAC and advertising ids in
    both cases (iOS writes the IDFA upper-case), anything else as typed and
    lower-cased.
    """
    lower = plain.lower()
    if field == "parent.email":
        variants = [("", lower), ("as-typed", plain)]
    elif field == "parent.phone":
        number = parse_phone(plain)
        digits = "".join(char for char in plain if char.isdigit())
        variants = [("", digits)]
        if number is not None and number.e164 is not None:
            variants.append(("e164", number.e164))
    elif field == "toy.mac" and (bare := _mac_digits(plain)) is not None:
        colons = ":".join(bare[index : index + 2] for index in range(0, 12, 2))
        variants = [
            ("", colons),
            ("upper-case", colons.upper()),
            ("no-separators", bare),
            ("no-separators-upper-case", bare.upper()),
        ]
    elif field == "phone.advertising_id":
        variants = [("", lower), ("upper-case", plain.upper())]
    else:
        variants = [("", plain), ("lower-case", lower)]
    unique: dict[str, tuple[str, str]] = {}
    for name, value in variants:
        unique.setdefault(value, (name, value))
    return list(unique.values())


def _hashes(normalised: str) -> list[tuple[str, str]]:
    raw = normalised.encode("utf-8")
    return [
        ("md5", hashlib.md5(raw, usedforsecurity=False).hexdigest()),
        ("sha1", hashlib.sha1(raw, usedforsecurity=False).hexdigest()),
        ("sha256", hashlib.sha256(raw).hexdigest()),
    ]
