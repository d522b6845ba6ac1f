"""What the benchmark's toys and apps say: child profiles and HTTP exchanges.

Every value is made up from a seeded :class:`random.Random`, so the same seed
gives the same bytes. A :class:`Profile` is one family as a toy and its
companion app know it; the primary profile becomes the session's
``persona.yaml``, and :func:`http_exchange` puts its values into request
bodies, query strings and headers the way real toy back-ends receive them:
plain, URL-encoded, base64 and hashed. Bodies that are not JSON (voice
uploads, story audio, firmware, images) are seeded noise behind the right
magic bytes, so a reader can tell media from ciphertext.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import random
import struct
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

VENDOR_DOMAIN = "brightbuddy.example"
"""The fictional toy vendor's own domain: the session's first party."""

_FIRST_NAMES = (
    "Amara", "Theo", "Isla", "Rowan", "Priya", "Felix", "Noor", "Elodie", "Kofi",
    "Mateo", "Saoirse", "Yusuf", "Hazel", "Ines", "Otto", "Lena", "Arjun", "Freya",
)  # fmt: skip
_LAST_NAMES = (
    "Wrenfield", "Okafor", "Castellano", "Lindqvist", "Marchetti", "Haverford",
    "Nakamura", "Abernethy", "Delacroix", "Fairweather", "Kowalczyk", "Pemberton",
)  # fmt: skip
_STREETS = ("Larch Lane", "Mill Row", "Heron Close", "Quarry Road", "Orchard Way")
_TOWNS = ("Little Amberley", "Westbrook", "Fenwick Green", "Harrowgate Vale")
_SCHOOLS = ("Larkspur Primary", "St Brigid's Infants", "Meadowbank Primary")
_WORDS = (
    "tell", "me", "a", "story", "about", "the", "dragon", "who", "likes", "cake",
    "can", "we", "sing", "song", "my", "name", "is", "I", "am", "years", "old",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Profile:
    """One family's personal data as a toy and its app hold it."""

    child_name: str
    child_first_name: str
    birthdate: str
    """ISO date."""
    school: str
    parent_name: str
    parent_email: str
    parent_phone: str
    address: str
    latitude: float
    longitude: float
    ssid: str
    wifi_password: str
    serial: str
    mac: str
    """The toy's Ethernet address, lower-case colon form."""
    advertising_id: str
    imei: str
    device_id: str
    token: str
    """A bearer token the back-end issued to the toy."""

    def persona(self) -> dict[str, dict[str, Any]]:
        """The ``persona.yaml`` document that lists this profile's values."""
        return {
            "child": {
                "name": self.child_name,
                "first_name": self.child_first_name,
                "birthdate": self.birthdate,
                "school": self.school,
            },
            "parent": {
                "name": self.parent_name,
                "email": self.parent_email,
                "phone": self.parent_phone,
            },
            "home": {
                "address": self.address,
                "coordinates": [self.latitude, self.longitude],
            },
            "wifi": {"ssid": self.ssid, "password": self.wifi_password},
            "toy": {"serial": self.serial, "mac": self.mac},
            "phone": {"advertising_id": self.advertising_id},
        }


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request and its response, before framing."""

    method: str
    host: str
    target: str
    """Path with the query string, as on the request line."""
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    text: bool
    """True when both bodies are JSON or empty, False when one is binary."""


def make_profile(rng: random.Random) -> Profile:
    """Invent a family: names, home, Wi-Fi, and the toy's identifiers."""
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    parent_first = rng.choice(_FIRST_NAMES)
    born = dt.date(2017, 1, 1) + dt.timedelta(days=rng.randrange(6 * 365))
    mac = "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))
    imei_body = "35" + "".join(str(rng.randrange(10)) for _ in range(12))
    return Profile(
        child_name=f"{first} {last}",
        child_first_name=first,
        birthdate=born.isoformat(),
        school=f"{rng.choice(_SCHOOLS)} School",
        parent_name=f"{parent_first} {last}",
        parent_email=f"{parent_first.lower()}.{last.lower()}@example.org",
        parent_phone=f"+44 7700 900{rng.randrange(1000):03d}",
        address=f"{rng.randrange(1, 99)} {rng.choice(_STREETS)}, "
        f"{rng.choice(_TOWNS)}, AB{rng.randrange(10, 99)} {rng.randrange(1, 9)}CD",
        latitude=round(rng.uniform(50.5, 53.5), 5),
        longitude=round(rng.uniform(-2.5, 0.5), 5),
        ssid=f"{last}Home-{rng.choice(('2G', '5G', 'Mesh'))}",
        wifi_password=f"{rng.choice(_WORDS).title()}-Otter-{rng.randrange(100)}",
        serial=f"BB{rng.randrange(10)}-{rng.randrange(100000):05d}-"
        f"{rng.choice('KXQZ')}{rng.choice('ABCD')}",
        mac=mac,
        advertising_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        imei=imei_body + str(_luhn_check_digit(imei_body)),
        device_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        token=base64.urlsafe_b64encode(rng.randbytes(30)).decode(),
    )


def _luhn_check_digit(digits: str) -> int:
    """The check digit that makes ``digits`` pass the Luhn test, as IMEIs do."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def _json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _event(rng: random.Random, profile: Profile, clock: float) -> dict[str, Any]:
    """One telemetry event as a toy batches them: ids, radio, place, activity."""
    return {
        "ts": round(clock * 1000) - rng.randrange(600_000),
        "device_id": profile.device_id,
        "mac": profile.mac,
        "event": rng.choice(("button", "story_start", "story_end", "wake", "sleep")),
        "battery": rng.randrange(5, 100),
        "rssi": -rng.randrange(30, 90),
        "ssid": profile.ssid,
        "loc": {"lat": profile.latitude, "lon": profile.longitude},
        "session": rng.getrandbits(48),
    }


def _utterance(rng: random.Random, profile: Profile) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randrange(4, 14))]
    words.insert(rng.randrange(len(words)), profile.child_first_name)
    return " ".join(words)


def _telemetry(rng: random.Random, profile: Profile, clock: float) -> Exchange:
    events = [_event(rng, profile, clock) for _ in range(rng.randrange(1, 80))]
    body = _json({"serial": profile.serial, "imei": profile.imei, "events": events})
    return _exchange("POST", "api", "/v1/telemetry", profile, body, 204, b"")


def _child_profile(rng: random.Random, profile: Profile, clock: float) -> Exchange:
    document = {
        "child": {
            "name": profile.child_name,
            "birthdate": profile.birthdate,
            "school": profile.school,
            "avatar": base64.b64encode(
                rng.randbytes(rng.randrange(200, 3000))
            ).decode(),
        },
        "parent": {
            "name": profile.parent_name,
            "email": profile.parent_email,
            "phone": profile.parent_phone,
        },
        "home": {"address": profile.address},
        "updated": round(clock),
    }
    target = f"/v2/children/{profile.device_id}"
    reply = _json({"ok": True, "child_id": rng.getrandbits(40)})
    return _exchange("PUT", "api", target, profile, _json(document), 200, reply)


def _location(rng: random.Random, profile: Profile, clock: float) -> Exchange:
    query = urllib.parse.urlencode(
        {
            "lat": f"{profile.latitude + rng.uniform(-0.001, 0.001):.6f}",
            "lon": f"{profile.longitude + rng.uniform(-0.001, 0.001):.6f}",
            "email": profile.parent_email,
            "device": profile.serial,
            "t": round(clock),
        }
    )
    reply = _json({"forecast": "sunny", "temp_c": rng.randrange(-5, 30)})
    return _exchange("GET", "api", f"/v1/weather?{query}", profile, b"", 200, reply)


def _provisioning(rng: random.Random, profile: Profile, clock: float) -> Exchange:
    scan = [
        {
            "ssid": f"NET-{rng.getrandbits(16):04X}",
            "bssid": ":".join(f"{rng.randrange(256):02x}" for _ in range(6)),
            "rssi": -rng.randrange(40, 95),
        }
        for _ in range(rng.randrange(3, 25))
    ]
    scan.append({"ssid": profile.ssid, "bssid": profile.mac, "rssi": -41})
    document = {
        "ssid": profile.ssid,
        "password": profile.wifi_password,
        "scan": scan,
        "mac": profile.mac,
        "imei": profile.imei,
        "time": round(clock),
    }
    reply = _json({"token": profile.token, "expires": 86400})
    body = _json(document)
    return _exchange("POST", "api", "/v1/provision", profile, body, 201, reply)


def _tracker(rng: random.Random, profile: Profile, clock: float) -> Exchange:
    """An analytics SDK's GET with a base64 JSON blob, as Mixpanel's /track takes."""
    event = {
        "event": rng.choice(("app_open", "story_played", "purchase_view")),
        "properties": {
            "distinct_id": profile.advertising_id,
            "$email": profile.parent_email,
            "$name": profile.parent_name,
            "time": round(clock),
            "child_age": rng.randrange(3, 10),
        },
    }
    blob = base64.b64encode(_json(event)).decode()
    target = "/track?" + urllib.parse.urlencode({"data": blob, "ip": 1})
    return Exchange(
        "GET", "api.mixpanel.com", target,
        {"User-Agent": "mixpanel-android/7.3.1", "Accept": "*/*"}, b"",
        200, {"Content-Type": "text/plain"}, b"1", True,
    )  # fmt: skip


def _voice_upload(rng: random.Random, profile: Profile, clock: float) -> Exchange:
    samples = rng.randrange(2, 25) * 8000
    reply = _json({"transcript": _utterance(rng, profile), "intent": "chat"})
    exchange = _exchange(
        "POST", "voice", "/v1/utterance", profile, wav(rng, samples), 200, reply
    )
    exchange.request_headers["Content-Type"] = "audio/wav"
    return exchange


def _download(rng: random.Random, profile: Profile, clock: float) -> Exchange:
    kind = rng.choices(("story", "image", "firmware"), (6, 5, 1))[0]
    if kind == "story":
        target, media = f"/stories/{rng.getrandbits(32):08x}.mp3", "audio/mpeg"
        body = mp3(rng, rng.randrange(200, 3000))
    elif kind == "image":
        target, media = f"/avatars/{rng.getrandbits(32):08x}.jpg", "image/jpeg"
        body = jpeg(rng, rng.randrange(8_000, 120_000))
    else:
        target, media = "/fw/bb-200/3.1.4.bin", "application/octet-stream"
        body = b"BBFW\x03\x01\x04\x00" + rng.randbytes(rng.randrange(1, 4) << 20)
    exchange = _exchange("GET", "cdn", target, profile, b"", 200, body)
    exchange.response_headers["Content-Type"] = media
    return exchange


def _exchange(
    method: str,
    service: str,
    target: str,
    profile: Profile,
    body: bytes,
    status: int,
    reply: bytes,
) -> Exchange:
    """A request from the toy to one of the vendor's services, with its answer."""
    headers = {
        "User-Agent": "BrightBuddy-Pip/3.1.4",
        "Authorization": f"Bearer {profile.token}",
        "X-Device-Id": profile.serial,
    }
    if body:
        headers["Content-Type"] = "application/json"
    reply_headers = {"Content-Type": "application/json"} if reply else {}
    host = f"{service}.{VENDOR_DOMAIN}"
    binary = not (body[:1] in (b"", b"{") and reply[:1] in (b"", b"{", b"1"))
    return Exchange(
        method, host, target, headers, body, status, reply_headers, reply, not binary
    )


ExchangeBuilder = Callable[[random.Random, Profile, float], Exchange]

_KINDS: tuple[tuple[ExchangeBuilder, int], ...] = (
    (_telemetry, 30),
    (_child_profile, 4),
    (_location, 10),
    (_provisioning, 3),
    (_tracker, 10),
    (_voice_upload, 6),
    (_download, 3),
)


def http_exchange(rng: random.Random, profile: Profile, clock: float) -> Exchange:
    """Pick one kind of exchange at random and build it for ``profile``."""
    builders = [builder for builder, _weight in _KINDS]
    weights = [weight for _builder, weight in _KINDS]
    builder = rng.choices(builders, weights)[0]
    return builder(rng, profile, clock)


def wav(rng: random.Random, samples: int) -> bytes:
    """A mono 8 kHz, 16-bit WAV file holding ``samples`` samples of noise."""
    pcm = rng.randbytes(samples * 2)
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    chunks = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    chunks += b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(chunks)) + chunks


def jpeg(rng: random.Random, size: int) -> bytes:
    """A baseline JPEG of about ``size`` bytes whose scan data is noise.

    The markers are well formed (ITU T.81 annex B: SOI, a 16-byte JFIF APP0,
    SOS, EOI) and every 0xFF in the scan is stuffed with a zero byte, so a
    dissector walks it without calling it malformed.
    """
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    start_of_scan = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    scan = rng.randbytes(size).replace(b"\xff", b"\xff\x00")
    return b"\xff\xd8" + app0 + start_of_scan + scan + b"\xff\xd9"


def mp3(rng: random.Random, frames: int) -> bytes:
    """An MPEG-1 Layer III stream of ``frames`` 417-byte frames of noise."""
    header = b"ID3\x03\x00\x00\x00\x00\x00\x00"
    return header + b"".join(
        b"\xff\xfb\x90\x64" + rng.randbytes(413) for _ in range(frames)
    )


def mqtt_telemetry(rng: random.Random, profile: Profile, clock: float) -> bytes:
    """The JSON a toy publishes to its MQTT broker: state and whereabouts."""
    document = _event(rng, profile, clock)
    document["child"] = profile.child_first_name
    document["email_sha256"] = hashlib.sha256(profile.parent_email.encode()).hexdigest()
    return _json(document)
