"""Telephone numbers: could this written number be a family's phone?

A loose regex takes any run of seven to fifteen digits, so it takes Unix
times, uptimes and build numbers too. This module reads a number the way a
numbering plan does instead:

1. an international number (``+44 7700 900128``, ``0044...``, or digits that
   start with a country code) must start with a country calling code that ITU-T
   E.164 assigns, and its national part must have a length that country uses;
2. a North American number (country code 1) must follow the NANP: a
   ten-digit number whose area code and exchange both start with 2 to 9;
3. a national number (``07700 900128``, ``(202) 555-0143``) must have a
   plausible length and not start like a timestamp;
4. freephone and premium-rate service numbers (0800, 1-800, 0900...) and
   runs such as ``0000000`` or ``1234567`` are refused: they are a vendor's
   helpline or a placeholder, never the family's own number.

The facts come from the numbering plans of ITU-T E.164 and of the national
regulators; only well-known, stable ranges are listed.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATORS = frozenset(" -.()/\u00a0")
"""Characters people and apps put between the digits of a phone number."""
NO_TRUNK_PREFIX = frozenset({"1", "34", "39", "45", "47", "351", "352", "30"})
"""Country codes whose national numbers are dialled without a leading 0
(the NANP dials 1; Spain, Italy, Denmark, Norway, Portugal, Luxembourg and
Greece have closed numbering plans)."""

_SINGLE_DIGIT_CODES = frozenset("17")
"""Zone 1 (the NANP) and zone 7 (Russia, Kazakhstan) use one digit."""
_TWO_DIGIT_CODES = frozenset(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split()
)
"""Two-digit country codes (ITU-T E.164 list of assigned codes)."""
_THREE_DIGIT_CODES = frozenset(
    [f"{prefix}{digit}" for prefix in ("22", "23", "24", "26", "35", "37", "50", "59")
     for digit in "0123456789"]
    + "211 212 213 216 218 250 251 252 253 254 255 256 257 258 290 291 297 298 299 "
      "380 381 382 383 385 386 387 389 420 421 423 670 672 673 674 675 676 677 678 "
      "679 680 681 682 683 685 686 687 688 689 690 691 692 850 852 853 855 856 870 "
      "880 881 882 883 886 960 961 962 963 964 965 966 967 968 970 971 972 973 974 "
      "975 976 977 992 993 994 995 996 998".split()
)  # fmt: skip
"""Three-digit country codes in use (ITU-T E.164), including satellite and
global services that a person may subscribe to."""

_NATIONAL_LENGTHS = {
    "1": (10, 10), "7": (10, 10), "20": (8, 10), "27": (9, 9), "30": (10, 10),
    "31": (9, 9), "32": (8, 9), "33": (9, 9), "34": (9, 9), "36": (8, 9),
    "39": (6, 11), "40": (9, 9), "41": (9, 9), "43": (4, 13), "44": (7, 10),
    "45": (8, 8), "46": (7, 10), "47": (8, 8), "48": (9, 9), "49": (5, 13),
    "52": (10, 10), "54": (10, 11), "55": (10, 11), "61": (9, 9), "62": (8, 12),
    "63": (8, 10), "64": (8, 10), "65": (8, 8), "66": (8, 9), "81": (9, 10),
    "82": (8, 10), "84": (9, 10), "86": (10, 11), "90": (10, 10), "91": (10, 10),
    "92": (8, 10), "351": (9, 9), "353": (7, 9), "358": (5, 12),
}  # fmt: skip
"""Digits after the country code, shortest and longest, where a plan is fixed
or well bounded; other countries get :data:`_DEFAULT_NATIONAL_LENGTHS`."""
_DEFAULT_NATIONAL_LENGTHS = (5, 13)
_MAX_DIGITS = 15
"""E.164's longest international number, country code included."""

_SERVICE_PREFIXES = {
    "1": ("800", "833", "844", "855", "866", "877", "888", "900"),
    "31": ("800", "90"), "32": ("800", "90"), "33": ("8",), "34": ("80", "90"),
    "39": ("80", "89"), "41": ("80", "84", "90"), "43": ("80", "81", "82", "90"),
    "44": ("80", "84", "87", "9"), "45": ("80", "90"),
    "46": ("20", "900", "939", "944"), "47": ("80", "82"), "48": ("800", "70"),
    "49": ("800", "180", "900", "137"), "52": ("800",), "55": ("800",),
    "61": ("1",), "64": ("800", "508", "900"), "81": ("120", "800", "570"),
    "91": ("1800", "1860"), "353": ("1800", "1850", "1890"),
}  # fmt: skip
"""National prefixes of freephone, shared-cost and premium-rate numbers, by
country code: helplines and hotlines, never a family's own phone (NANPA toll-free
codes, Ofcom 08/09, BNetzA 0800/0180/0900, ARCEP 08, and their peers)."""
_SERVICE_COUNTRY_CODES = frozenset({"800", "808", "878", "979"})
"""Global freephone, shared-cost, personal-telecom and premium-rate codes."""

_ASCENDING = "01234567890123456789"
_DESCENDING = "98765432109876543210"


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A phone number read from text."""

    country_code: str | None
    """E.164 country calling code; None for a number written nationally."""
    national: str
    """Digits after the country code, or every digit of a national number."""

    @property
    def e164(self) -> str | None:
        """``+`` country code national number, when the country is known."""
        if self.country_code is None:
            return None
        return f"+{self.country_code}{self.national}"


def calling_code(digits: str) -> str | None:
    """The E.164 country calling code that starts ``digits``, if any.

    Country codes are a prefix code: no code is the start of another, so
    one reading is the only reading.
    """
    for length, codes in ((1, _SINGLE_DIGIT_CODES), (2, _TWO_DIGIT_CODES)):
        if digits[:length] in codes:
            return digits[:length]
    return digits[:3] if digits[:3] in _THREE_DIGIT_CODES else None


def parse_phone(text: str) -> PhoneNumber | None:
    """Split a written number into country code and national digits.

    Returns None for text that is not a phone number at all (letters, a
    misplaced ``+``, too few or too many digits).
    """
    written = text.strip()
    if written.startswith(("+", "00")):
        # "+44 (0)20 7946 0958": the trunk 0 shown for callers at home.
        written = written.replace("(0)", "", 1)
    body = written.removeprefix("+")
    if not body or any(
        not character.isdigit() and character not in SEPARATORS for character in body
    ):
        return None
    digits = "".join(character for character in body if character.isdigit())
    if not digits.isascii() or not 7 <= len(digits) <= _MAX_DIGITS + 2:
        return None
    if not written.startswith("+"):
        if not digits.startswith("00"):
            return PhoneNumber(None, digits)
        digits = digits[2:]  # the international prefix of most countries
    code = calling_code(digits)
    return None if code is None else PhoneNumber(code, digits[len(code) :])


def valid_phone(text: str) -> bool:
    """Whether ``text`` could be a family's phone number (see the module doc)."""
    number = parse_phone(text)
    if number is None or _degenerate(number.national):
        return False
    if number.country_code is not None:
        return _valid_international(number.country_code, number.national)
    return _valid_national(number.national)


def _valid_international(code: str, national: str) -> bool:
    # Step 1: a country code in use, a national part of that country's length.
    if code in _SERVICE_COUNTRY_CODES or len(code) + len(national) > _MAX_DIGITS:
        return False
    shortest, longest = _NATIONAL_LENGTHS.get(code, _DEFAULT_NATIONAL_LENGTHS)
    if not shortest <= len(national) <= longest:
        return False
    # Step 2: the NANP's own structure.
    if code == "1" and not _valid_nanp(national):
        return False
    # Step 4: helplines and premium lines.
    return not national.startswith(_SERVICE_PREFIXES.get(code, ()))


def _valid_national(digits: str) -> bool:
    """Step 3: a number written as dialled inside its country."""
    if digits.startswith("0"):
        # A trunk prefix and an area or mobile code: 9 (Sweden) to 12 digits
        # (long German numbers) in Europe, Asia and Oceania.
        return 9 <= len(digits) <= 12
    if digits.startswith("1"):
        # NANP with its long-distance prefix; anything else starting with 1
        # of this length is a Unix time (1 000 000 000 s fell in 2001).
        return len(digits) == 11 and _valid_international("1", digits[1:])
    if len(digits) <= 10:
        return True  # local numbers, or closed plans without a trunk prefix
    code = calling_code(digits)  # international, written without "+"
    return code is not None and _valid_international(code, digits[len(code) :])


def _valid_nanp(national: str) -> bool:
    """NPA-NXX-XXXX: area code and exchange start with 2-9; no N11 area code."""
    if len(national) != 10 or national[0] in "01" or national[3] in "01":
        return False
    return national[1:3] != "11"


def _degenerate(digits: str) -> bool:
    """A placeholder: one digit repeated, or a straight run such as 1234567."""
    return len(set(digits)) <= 1 or digits in _ASCENDING or digits in _DESCENDING
