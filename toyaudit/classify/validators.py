"""Validators that confirm a value a detector's pattern found is really that data.

A regex says a value has the right shape; a validator checks what a regex
cannot: a checksum, a numeric range, a calendar date, a reserved address, a
telephone numbering plan. Detectors name a validator in YAML
(``value.validator: imei``); this module holds the code behind each name. A
validator returns True to keep the match and False to drop it. Patterns
themselves stay in the YAML rules; the numbering-plan facts a phone number is
checked against live in :mod:`.telephone`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from toyaudit.classify.telephone import valid_phone

logger = logging.getLogger(__name__)

Validator = Callable[[str], bool]
"""Takes the matched text, says whether it is genuine."""

MIN_COORDINATE_DECIMALS = 3
"""Three decimals of a degree is about 110 m: street level (research D1, COPPA
312.2 (9) "sufficient to identify street name")."""

OCEAN_AROUND_NULL_ISLAND = 3.0
"""Degrees of latitude and longitude around (0, 0) with no land at all (the
Gulf of Guinea: the nearest shores, Ghana's at 4.7 N and Sao Tome's at 6.5 E,
lie outside). A "lat,lon" pair in there is a ratio, a scale factor or a
failed fix, never where a child lives."""

_NUMERIC_DATES = (
    "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d", "%Y/%m/%d",
    "%d-%m-%Y", "%m-%d-%Y",
)  # fmt: skip
_WORDED_DATES = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%d %B %Y", "%d %b %Y")
""""June 21, 2017", "Jun 21, 2017", "21 June 2017" (English month names)."""
_EARLIEST_YEAR = 1900
_LATEST_YEAR = 2100
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND_DIGITS = 12
"""Unix times with this many digits or more count milliseconds (seconds have
at most 10 digits until the year 2286)."""

_MCC_FIRST_DIGITS = frozenset("234567")
"""First digit of every mobile country code in use (ITU-T E.212 zones 2-7)."""
_TEST_REPORTING_BODY = "00"
"""IMEIs whose type allocation code starts with 00 belong to test equipment
(GSMA TS.06), such as an emulator's, not to a child's phone."""


def valid_email(text: str) -> bool:
    """One ``@``, a non-empty local part and a dotted domain of sane labels."""
    local, _, domain = text.strip().rpartition("@")
    if not local or "@" in local or len(text) > 254:
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not labels[-1].isalpha():
        return False
    return all(label and not label.startswith("-") for label in labels)


def valid_mac(text: str) -> bool:
    """A unicast MAC address that is neither all zeros nor all ones.

    The least significant bit of the first octet marks group (multicast)
    addresses (IEEE 802, section 8.2), which never identify one device.
    """
    digits = "".join(character for character in text if character not in ":-.")
    if len(digits) != 12 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        return False
    first_octet = int(digits[:2], 16)
    return first_octet & 1 == 0 and not _repeated(digits.lower())


def valid_advertising_id(text: str) -> bool:
    """A UUID-shaped id that is not a placeholder such as the all-zero one.

    Android and iOS hand out the all-zero id when the user limits ad
    tracking; a repeated digit is a stand-in, never a real, random id.
    """
    digits = text.replace("-", "").lower()
    return len(digits) == 32 and not _repeated(digits)


def valid_imei(text: str) -> bool:
    """Fifteen digits with a valid Luhn check digit (3GPP TS 23.003 annex B).

    The all-zero IMEI a phone reports without permission passes Luhn, so
    repeated digits and test equipment's codes are refused too.
    """
    if len(text) != 15 or not text.isdigit() or _repeated(text):
        return False
    return not text.startswith(_TEST_REPORTING_BODY) and _luhn(text)


def valid_iccid(text: str) -> bool:
    """A SIM card number: 89 (telecom), 18 to 20 digits, Luhn (ITU-T E.118)."""
    digits = text.upper().removesuffix("F")
    return (
        18 <= len(digits) <= 20
        and digits.isdigit()
        and digits.startswith("89")
        and _luhn(digits)
    )


def valid_imsi(text: str) -> bool:
    """A subscriber identity: 14 or 15 digits behind a real mobile country code."""
    return (
        len(text) in (14, 15)
        and text.isdigit()
        and text[0] in _MCC_FIRST_DIGITS
        and not _repeated(text)
    )


def _luhn(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _repeated(digits: str) -> bool:
    """One character over and over (``000000000000000``, ``ffff...``)."""
    return len(set(digits)) <= 1


def valid_latitude(text: str) -> bool:
    """A latitude in -90..90 with at least three decimals, and not exactly 0."""
    return _coordinate(text, 90.0)


def valid_longitude(text: str) -> bool:
    """A longitude in -180..180 with at least three decimals, and not exactly 0."""
    return _coordinate(text, 180.0)


def valid_coordinates(text: str) -> bool:
    """A "lat,lon" pair where both halves are precise and the place is on land.

    Both halves must be valid on their own, and the pair must lie outside
    the empty ocean around (0, 0), where aspect ratios (``1.333,1.778``) and
    zeroed fixes fall (:data:`OCEAN_AROUND_NULL_ISLAND`).
    """
    latitude, separator, longitude = text.rpartition(":")[2].partition(",")
    if not (separator and valid_latitude(latitude) and valid_longitude(longitude)):
        return False
    near_zero = OCEAN_AROUND_NULL_ISLAND
    return abs(float(latitude)) >= near_zero or abs(float(longitude)) >= near_zero


def _coordinate(text: str, limit: float) -> bool:
    text = text.strip()
    try:
        degrees = float(text)
    except ValueError:
        return False
    _, _, decimals = text.partition(".")
    # 0.000 ("null island") is what many SDKs send when they have no fix.
    return (
        abs(degrees) <= limit
        and degrees != 0
        and len(decimals) >= MIN_COORDINATE_DECIMALS
    )


def valid_date(text: str) -> bool:
    """A real calendar date between 1900 and 2100, in a usual notation.

    Numeric notations (``2018-03-14``, ``14/03/2018``, ``20180314``...) may be
    followed by a time, as in ISO 8601; worded ones are English
    (``June 21, 2017``, ``21 Jun 2017``).
    """
    text = text.strip()
    candidates = [(notation, text[:10]) for notation in _NUMERIC_DATES]
    candidates += [(notation, text) for notation in _WORDED_DATES]
    for notation, written in candidates:
        try:
            parsed = dt.datetime.strptime(written, notation)
        except ValueError:
            continue
        return _EARLIEST_YEAR <= parsed.year <= _LATEST_YEAR
    return False


def valid_epoch_date(text: str) -> bool:
    """A Unix time, in seconds or milliseconds, between 1900 and 2100."""
    digits = text.strip().removeprefix("-")
    if not digits.isdigit() or len(digits) < 8:
        return False
    seconds = int(text.strip())
    if len(digits) >= _MILLISECOND_DIGITS:
        seconds //= 1000
    try:
        moment = _EPOCH + dt.timedelta(seconds=seconds)
    except OverflowError:
        return False
    return _EARLIEST_YEAR <= moment.year <= _LATEST_YEAR


VALIDATORS: dict[str, Validator] = {
    "email": valid_email,
    "mac": valid_mac,
    "advertising-id": valid_advertising_id,
    "imei": valid_imei,
    "iccid": valid_iccid,
    "imsi": valid_imsi,
    "latitude": valid_latitude,
    "longitude": valid_longitude,
    "coordinates": valid_coordinates,
    "date": valid_date,
    "epoch-date": valid_epoch_date,
    "phone": valid_phone,
}
"""Every validator a rule may name, by the name it uses."""
