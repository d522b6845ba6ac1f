"""Validators: the checks a regex cannot make."""

from __future__ import annotations

import pytest

from toyaudit.classify.telephone import calling_code, parse_phone
from toyaudit.classify.validators import VALIDATORS


@pytest.mark.parametrize(
    ("name", "text", "genuine"),
    [
        ("imei", "490154203237518", True),
        ("imei", "490154203237519", False),
        ("imei", "000000000000000", False),  # passes Luhn, but a placeholder
        ("imei", "004401234567893", False),  # a test device's type code
        ("iccid", "89441100682964136729", True),
        ("iccid", "8901260222193581820F", True),
        ("iccid", "89441100682964136720", False),
        ("imsi", "234150999999999", True),
        ("imsi", "001010123456789", False),
        ("mac", "a4:cf:12:3b:9e:01", True),
        ("mac", "a4cf.123b.9e01", True),
        ("mac", "01:00:5e:00:00:fb", False),
        ("mac", "ff-ff-ff-ff-ff-ff", False),
        ("advertising-id", "6D92078A-8246-4BA4-AE5B-76104861E7DC", True),
        ("advertising-id", "00000000-0000-0000-0000-000000000000", False),
        ("advertising-id", "ffffffff-ffff-ffff-ffff-ffffffffffff", False),
        ("latitude", "51.501", True),
        ("latitude", "90.001", False),
        ("longitude", "-0.14", False),
        ("coordinates", "51.50134, -0.14189", True),
        ("coordinates", "geo:40.7128,-74.0060", True),
        ("coordinates", "1.333,1.778", False),  # an aspect ratio, in the ocean
        ("coordinates", "0.000,0.000", False),
        ("date", "2018-02-30", False),
        ("date", "14.03.2018", True),
        ("date", "21-06-2017", True),
        ("date", "June 21, 2017", True),
        ("date", "21 Jun 2017", True),
        ("date", "2017-06-21T00:00:00Z", True),
        ("date", "Smarch 21, 2017", False),
        ("epoch-date", "1498003200000", True),
        ("epoch-date", "1498003200", True),
        ("epoch-date", "99999999999999", False),
        ("epoch-date", "12ab", False),
        ("email", "a@b", False),
        ("email", "ana.lopez@example.com", True),
    ],
)
def test_validators_accept_and_refuse(name: str, text: str, genuine: bool) -> None:
    assert VALIDATORS[name](text) is genuine


@pytest.mark.parametrize(
    "text",
    [
        "+44 20 7946 0958",  # London, international
        "+44 7700 900128",  # UK mobile
        "0044 7700 900128",  # the 00 international prefix
        "07700 900128",  # UK national, with the trunk 0
        "447700900128",  # international without "+"
        "+1 (202) 555-0143",  # NANP
        "(202) 555-0143",  # NANP, national
        "1-202-555-0143",  # NANP with the long-distance 1
        "+33 6 12 34 56 78",
        "+49 30 1234567",
        "+86 138 0013 8000",
        "91234567",  # an eight-digit closed plan (Singapore, Norway...)
        "+64 9 123 4567",  # Auckland, whose area code 09 is no premium line
        "+353 1 555 1234",  # Dublin, whose area code 01 is no freephone
        "+46 90 174 520",  # Umea
    ],
)
def test_validators_phone_accepts_numbers_a_family_may_own(text: str) -> None:
    assert VALIDATORS["phone"](text) is True


@pytest.mark.parametrize(
    "text",
    [
        "+1 (555) 010-4477",  # NANP exchange codes never start with 0
        "+1 800 555 0100",  # toll-free: a vendor's hotline
        "+44 800 555 0199",  # UK freephone helpline
        "+44 909 879 0000",  # UK premium rate
        "+49 800 1234567",  # German freephone
        "+353 1800 123 456",  # Irish freephone
        "+61 1800 123 456",  # Australian freephone
        "+800 1234 5678",  # universal international freephone
        "+44 20 794",  # too short for the UK
        "+999 1234567",  # no such country code
        "1795169411",  # a Unix time
        "1795170680370",  # a Unix time in milliseconds
        "0000000000",
        "1234567890",
        "12345",
        "iPhone",
        "+44 20 7946 0958 ext",
    ],
)
def test_validators_phone_refuses_what_is_not_a_family_phone(text: str) -> None:
    assert VALIDATORS["phone"](text) is False


def test_validators_phone_splits_country_code_and_national_number() -> None:
    number = parse_phone("+44 (0)7700-900 128")
    assert number is not None
    assert (number.country_code, number.national, number.e164) == (
        "44",
        "7700900128",
        "+447700900128",
    )
    national = parse_phone("07700 900128")
    assert national is not None and national.e164 is None


@pytest.mark.parametrize(
    ("digits", "code"),
    [("12025550143", "1"), ("447700900128", "44"), ("353871234567", "353"),
     ("2123456789", "212"), ("2801234567", None)],
)  # fmt: skip
def test_validators_calling_code_reads_the_e164_prefix(
    digits: str, code: str | None
) -> None:
    assert calling_code(digits) == code


def test_validators_every_validator_is_named_once() -> None:
    assert set(VALIDATORS) >= {"phone", "imei", "iccid", "imsi", "epoch-date"}
    assert len(set(VALIDATORS.values())) == len(VALIDATORS)
