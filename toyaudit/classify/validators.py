"""Validators that confirm a value a detector's pattern found is really that data.

A regex says a value has the right shape; a validator checks what a regex
cannot: a checksum, a numeric range, a calendar date, a reserved address.
Detectors name a validator in YAML (``value.validator: imei``); this module
holds the code behind each name. A validator returns True to keep the match
and False to drop it. Patterns themselves stay in the YAML rules.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

Validator = Callable[[str], bool]
"""Takes the matched text, says whether it is genuine."""

MIN_COORDINATE_DECIMALS = 3
"""Three decimals of a degree is about 110 m: street level (research D1, COPPA
312.2 (9) "sufficient to identify street name")."""

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d", "%Y/%m/%d")
_EARLIEST_YEAR = 1900
_LATEST_YEAR = 2100


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
    return (
        first_octet & 1 == 0 and digits.strip("0") != "" and digits.lower() != "f" * 12
    )


def valid_advertising_id(text: str) -> bool:
    """A UUID-shaped id that is not the all-zero "limit ad tracking" placeholder."""
    digits = text.replace("-", "")
    return len(digits) == 32 and digits.strip("0") != ""


def valid_imei(text: str) -> bool:
    """Fifteen digits whose last one is the Luhn check digit (3GPP TS 23.003)."""
    return len(text) == 15 and text.isdigit() and _luhn(text)


def _luhn(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def valid_latitude(text: str) -> bool:
    """A latitude in -90..90 with at least three decimals, and not exactly 0."""
    return _coordinate(text, 90.0)


def valid_longitude(text: str) -> bool:
    """A longitude in -180..180 with at least three decimals, and not exactly 0."""
    return _coordinate(text, 180.0)


def valid_coordinates(text: str) -> bool:
    """A "lat,lon" pair where both halves are valid, precise coordinates."""
    latitude, separator, longitude = text.partition(",")
    return bool(separator) and valid_latitude(latitude) and valid_longitude(longitude)


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
    """A real calendar date in one of the usual notations, between 1900 and 2100."""
    for notation in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(text.strip()[:10], notation)
        except ValueError:
            continue
        return _EARLIEST_YEAR <= parsed.year <= _LATEST_YEAR
    return False


def valid_phone(text: str) -> bool:
    """Seven to fifteen digits, the E.164 maximum, ignoring separators."""
    digits = [character for character in text if character.isdigit()]
    return 7 <= len(digits) <= 15


VALIDATORS: dict[str, Validator] = {
    "email": valid_email,
    "mac": valid_mac,
    "advertising-id": valid_advertising_id,
    "imei": valid_imei,
    "latitude": valid_latitude,
    "longitude": valid_longitude,
    "coordinates": valid_coordinates,
    "date": valid_date,
    "phone": valid_phone,
}
"""Every validator a rule may name, by the name it uses."""
