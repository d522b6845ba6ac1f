"""The demo's scenario: the fictional toy, family, hosts and what they exchange.

Everything here describes "Bramble the Talking Bear" by the invented vendor
PlushPal Toys Ltd, as captured by :mod:`toyaudit.demo`: the session and child
profile written to ``session.yaml`` and ``persona.yaml``, the addresses of the
toy, phone, gateway and servers, the four HTTPS exchanges that end up in
``flows.mitm`` (and, encrypted, in the pcap) and the toy's plaintext HTTP
conversation. All of it is made up (``.example`` domains and the RFC 5737
documentation networks), except ``app-measurement.com``, the real analytics
host the scenario needs. :mod:`toyaudit.demo` turns it into packets and flows.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

from toyaudit import synth
from toyaudit.synthmessages import http_request, http_response

START = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
"""When the fictional capture began; every timestamp is an offset from it."""

SESSION: dict[str, Any] = {
    "toy": {
        "name": "Bramble the Talking Bear",
        "vendor": "PlushPal Toys Ltd",
        "model": "BRB-200",
        "firmware": "2.4.1",
    },
    "first_party_domains": ["plushpal.example"],
    "captured": {"at": "2026-11-20T10:00:00Z", "by": "toyaudit demo generator"},
    "phases": [
        {
            "name": "setup",
            "start": "2026-11-20T10:00:00Z",
            "end": "2026-11-20T10:05:00Z",
        },
        {
            "name": "play",
            "start": "2026-11-20T10:05:00Z",
            "end": "2026-11-20T10:15:00Z",
        },
    ],
}

PERSONA: dict[str, dict[str, Any]] = {
    "child": {
        "name": "Mirabel Quince",
        "first_name": "Mirabel",
        "birthdate": "2019-04-12",
        "school": "Larkspur Primary School",
    },
    "parent": {
        "name": "Hollis Quince",
        "email": "hollis.quince@example.org",
        "phone": "+44 7700 900123",
    },
    "home": {
        "address": "7 Thistledown Row, Little Amberley, AB12 3CD",
        # A public landmark (Greenwich observatory), so no real home is named.
        "coordinates": [51.47793, -0.00147],
    },
    "wifi": {"ssid": "QuinceHome-5G", "password": "Marmalade-Otter-42"},
    "toy": {"serial": "PPB2-00417-XK", "mac": "02:1a:7d:5e:33:c1"},
    "phone": {"advertising_id": "3f6c9a2e-8b1d-4e57-a9c4-71d2e0b5f816"},
}

GATEWAY_MAC = "02:00:5e:c0:04:01"
TOY = synth.Host(PERSONA["toy"]["mac"], "192.168.4.23")
PHONE = synth.Host("02:5c:11:a0:7e:42", "192.168.4.31")
GATEWAY = synth.Host(GATEWAY_MAC, "192.168.4.1")
SERVER_ADDRESSES = {
    "api.plushpal.example": "203.0.113.10",
    "voice.plushpal.example": "203.0.113.20",
    "app-measurement.com": "198.51.100.7",
}
"""What the demo's DNS answers; public servers sit behind the gateway's MAC."""

TOY_AGENT = "PlushPal-Bramble/2.4.1"
APP_AGENT = "PlushPalApp/3.2.0 (Android 14)"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTPS request and response: a flow in flows.mitm, TLS in the pcap."""

    flow_id: str
    client: synth.Host
    client_port: int
    offset: float
    """Seconds after :data:`START` at which the connection opens."""
    method: str
    host: str
    path: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes

    @property
    def start(self) -> float:
        """The connection's first timestamp, in seconds since the epoch."""
        return START.timestamp() + self.offset


def _epoch_millis(offset: float) -> int:
    """Milliseconds since the epoch at ``offset`` seconds after :data:`START`."""
    return round((START.timestamp() + offset) * 1000)


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _voice_clip() -> bytes:
    """Half a second of 8 kHz, 16-bit mono PCM in a WAV file: a 400 Hz triangle.

    Integer arithmetic only, so the samples are identical on every platform.
    """
    samples = []
    for index in range(4000):
        rise = abs((index % 20) * 4 - 40)  # 40 down to 0 and back, period 20
        samples.append((rise - 20) * 400)
    pcm = struct.pack(f"<{len(samples)}h", *samples)
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    chunks = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    chunks += b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(chunks)) + chunks


def _story_audio() -> bytes:
    """A short MPEG-1 Layer III stream: 24 silent 128 kbit/s, 44.1 kHz frames."""
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413  # 144 * 128000 / 44100 = 417 bytes
    return frame * 24


def exchanges() -> list[Exchange]:
    """The four HTTPS exchanges of the demo, in the order they happen."""
    return [*_setup_exchanges(), *_play_exchanges()]


def _setup_exchanges() -> list[Exchange]:
    """The companion app at setup: Wi-Fi hand-over, then an analytics event."""
    persona = PERSONA
    lat, lon = persona["home"]["coordinates"]
    child_name = persona["child"]["name"].encode()
    wifi_setup = {
        "ssid": persona["wifi"]["ssid"],
        "password": persona["wifi"]["password"],
        "location": {"lat": lat, "lon": lon},
        "child_name_b64": base64.b64encode(child_name).decode(),
        "device_serial": persona["toy"]["serial"],
    }
    email = persona["parent"]["email"].lower().encode()
    analytics = {
        "adid": persona["phone"]["advertising_id"],
        "app_version": "3.2.0",
        "events": [{"name": "child_profile_created", "ts": _epoch_millis(90.5)}],
        "user_properties": {"hashed_email": hashlib.sha256(email).hexdigest()},
    }
    json_type = {"Content-Type": "application/json"}
    return [
        Exchange(
            "5d1e0c3a-0001-4000-8000-00000000000d",
            PHONE, 52114, 40.5, "POST", "api.plushpal.example", "/v1/setup/wifi",
            {"User-Agent": APP_AGENT, **json_type}, _json(wifi_setup),
            200, json_type, _json({"status": "linked", "device": "BRB-200"}),
        ),
        Exchange(
            "5d1e0c3a-0002-4000-8000-00000000000b",
            PHONE, 52120, 90.5, "POST", "app-measurement.com", "/a",
            {"User-Agent": APP_AGENT, **json_type}, _json(analytics),
            204, {}, b"",
        ),
    ]  # fmt: skip


def _play_exchanges() -> list[Exchange]:
    """The toy at play: a voice upload, then a story download (inbound audio)."""
    transcript = {
        "transcript": "Hi Bramble, it's Mirabel. Can you tell me a story "
        "about a hedgehog?",
        "intent": "tell_story",
        "confidence": 0.93,
    }
    voice_headers = {
        "User-Agent": TOY_AGENT,
        "Content-Type": "audio/wav",
        "X-Device-Id": PERSONA["toy"]["serial"],
    }
    json_type = {"Content-Type": "application/json"}
    return [
        Exchange(
            "5d1e0c3a-0003-4000-8000-00000000000a",
            TOY, 49802, 360.5, "POST", "voice.plushpal.example", "/v2/voice",
            voice_headers, _voice_clip(), 200, json_type, _json(transcript),
        ),
        Exchange(
            "5d1e0c3a-0004-4000-8000-00000000000c",
            TOY, 49810, 372.0, "GET", "api.plushpal.example", "/v1/stories?lang=en",
            {"User-Agent": TOY_AGENT, "Accept": "audio/mpeg"}, b"",
            200, {"Content-Type": "audio/mpeg"}, _story_audio(),
        ),
    ]  # fmt: skip


def plain_http_messages() -> list[tuple[bool, float, bytes]]:
    """A hello, then the child's profile upload, each with the server's answer.

    The POST goes out as two segments, headers first and body second, so a
    reader has to reassemble the stream to see the whole request.
    """
    persona = PERSONA
    host = "api.plushpal.example"
    agent = {"User-Agent": TOY_AGENT}
    json_type = {"Content-Type": "application/json"}
    hello_path = (
        f"/v1/hello?child={persona['child']['first_name']}"
        f"&serial={persona['toy']['serial']}&fw={SESSION['toy']['firmware']}"
    )
    profile = {
        "child_name": persona["child"]["name"],
        "birthdate": persona["child"]["birthdate"],
        "device_mac": persona["toy"]["mac"],
    }
    body = _json(profile)
    post = http_request("POST", host, "/v1/profile", {**agent, **json_type}, body)
    head_length = len(post) - len(body)
    return [
        (True, 0.0, http_request("GET", host, hello_path, agent)),
        (False, 0.08, http_response(200, json_type, _json({"status": "ok"}))),
        (True, 0.4, post[:head_length]),
        (True, 0.0, post[head_length:]),
        (False, 0.06, http_response(201, json_type, _json({"id": "p-5521"}))),
    ]
