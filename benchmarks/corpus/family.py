"""The fictional family whose toys the corpus captures, drawn from a seed.

One household owns every toy of the corpus: a child, a sibling, two parents,
a home, a Wi-Fi network and a phone. Each toy's session gets the household's
persona plus that toy's own serial number and MAC address. Names are rare on
purpose, phone numbers come from Ofcom's range for drama (07700 900xxx),
e-mail addresses use ``example.org`` (RFC 2606), and the home sits on a
public landmark, so nothing names a real person or home.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from typing import Any

_CHILD_NAMES = ("Mirabel", "Odalys", "Tamsin", "Ysolde", "Cosima", "Leocadia")
_SIBLING_NAMES = ("Barnaby", "Fenwick", "Ottoline", "Ambrose", "Clemency")
_PARENT_NAMES = ("Hollis", "Marigold", "Peregrine", "Rosalind", "Evander")
_OTHER_PARENT_NAMES = ("Juniper", "Lysander", "Philippa", "Thaddeus")
_SURNAMES = ("Quince", "Fairweather", "Penhallow", "Thistlewood", "Marchbank")
_STREETS = ("Wren Lane", "Thistledown Row", "Pipit Close", "Larch Crescent")
_TOWNS = ("Little Amberley", "Ashby Parva", "Nether Wallop", "Kings Sutton")
_WIFI_WORDS = ("Marmalade", "Otter", "Teapot", "Lantern", "Comet", "Puffin")
_LANDMARKS = (
    (51.47793, -0.00147),  # Royal Observatory, Greenwich
    (51.50135, -0.14189),  # Buckingham Palace gates
    (55.94863, -3.19998),  # Edinburgh Castle esplanade
    (53.47949, -2.24523),  # Manchester Town Hall
)
"""Public places only, so no real home is named."""


@dataclass(frozen=True, slots=True)
class Family:
    """The household the corpus's toys belong to."""

    child_first: str
    surname: str
    sibling_first: str
    birthdate: dt.date
    gender: str
    """As the app's profile form stores it: ``female`` or ``male``."""
    school: str
    parent_first: str
    other_parent_first: str
    email: str
    other_email: str
    """The second parent's address, not in the persona: found only by pattern."""
    phone: str
    """National display form with country code, e.g. ``+44 7700 900123``."""
    street: str
    town: str
    postcode: str
    latitude: float
    longitude: float
    ssid: str
    wifi_password: str
    account_password: str
    advertising_id: str
    bssids: tuple[str, ...]
    """Routers a Wi-Fi scan sees from the home, the household's first."""
    capture_day: dt.date

    @property
    def child_name(self) -> str:
        """The child's full name."""
        return f"{self.child_first} {self.surname}"

    @property
    def parent_name(self) -> str:
        """The parent who set the toys up."""
        return f"{self.parent_first} {self.surname}"

    @property
    def address(self) -> str:
        """The home address on one line, as the persona holds it."""
        return f"{self.street}, {self.town}, {self.postcode}"

    @property
    def age(self) -> int:
        """The child's age in whole years on the capture day."""
        before_birthday = (self.capture_day.month, self.capture_day.day) < (
            self.birthdate.month,
            self.birthdate.day,
        )
        return self.capture_day.year - self.birthdate.year - int(before_birthday)

    @property
    def e164(self) -> str:
        """The phone number in E.164 (``+447700900123``)."""
        return "+" + "".join(char for char in self.phone if char.isdigit())

    @property
    def coordinates(self) -> str:
        """``lat,lon`` with five decimals, as the persona holds it."""
        return f"{self.latitude:.5f},{self.longitude:.5f}"

    def persona(self, serial: str, mac: str) -> dict[str, dict[str, Any]]:
        """``persona.yaml`` for one toy's session (docs/session-format.md)."""
        return {
            "child": {
                "name": self.child_name,
                "first_name": self.child_first,
                "birthdate": self.birthdate.isoformat(),
                "school": self.school,
            },
            "sibling": {"first_name": self.sibling_first},
            "parent": {
                "name": self.parent_name,
                "email": self.email,
                "phone": self.phone,
            },
            "home": {
                "address": self.address,
                "coordinates": [self.latitude, self.longitude],
            },
            "wifi": {"ssid": self.ssid, "password": self.wifi_password},
            "toy": {"serial": serial, "mac": mac},
            "phone": {"advertising_id": self.advertising_id},
        }


def make_family(rng: random.Random, capture_day: dt.date) -> Family:
    """Draw a household; the same generator state always gives the same one."""
    surname = rng.choice(_SURNAMES)
    parent_first = rng.choice(_PARENT_NAMES)
    other_parent = rng.choice(_OTHER_PARENT_NAMES)
    town = rng.choice(_TOWNS)
    latitude, longitude = rng.choice(_LANDMARKS)
    words = rng.sample(_WIFI_WORDS, 2)
    return Family(
        child_first=rng.choice(_CHILD_NAMES),
        surname=surname,
        sibling_first=rng.choice(_SIBLING_NAMES),
        birthdate=dt.date(
            rng.randint(2016, 2020), rng.randint(1, 12), rng.randint(1, 28)
        ),
        gender=rng.choice(("female", "male")),
        school=f"{town} Primary School",
        parent_first=parent_first,
        other_parent_first=other_parent,
        email=f"{parent_first.lower()}.{surname.lower()}@example.org",
        other_email=f"{other_parent.lower()}.{surname.lower()}@example.net",
        phone=f"+44 7700 900{rng.randint(100, 999)}",
        street=f"{rng.randint(2, 98)} {rng.choice(_STREETS)}",
        town=town,
        postcode=f"AB{rng.randint(10, 99)} {rng.randint(1, 9)}CD",
        latitude=latitude,
        longitude=longitude,
        ssid=f"{surname}Home-5G",
        wifi_password=f"{words[0]}-{words[1]}-{rng.randint(10, 99)}",
        account_password=f"{rng.choice(_WIFI_WORDS)}{rng.randint(1000, 9999)}!",
        advertising_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        bssids=tuple(unicast_mac(rng) for _ in range(4)),
        capture_day=capture_day,
    )


def unicast_mac(rng: random.Random) -> str:
    """A locally administered unicast MAC: bit 1 of the first octet set, bit 0 clear."""
    octets = bytearray(rng.randbytes(6))
    octets[0] = (octets[0] | 0x02) & 0xFE
    return ":".join(f"{octet:02x}" for octet in octets)


def hex_token(rng: random.Random, length: int) -> str:
    """``length`` lower-case hex digits."""
    return f"{rng.getrandbits(4 * length):0{length}x}"


def text_token(rng: random.Random, length: int) -> str:
    """``length`` characters of URL-safe base64 alphabet (a session or API token)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(length))


def request_uuid(rng: random.Random) -> str:
    """A random (version 4) UUID, as a request or trace id."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
