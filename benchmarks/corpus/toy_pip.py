"""Pip the Coding Robot: a toy of form posts and query strings.

API style: GET requests whose query strings carry identifiers and
coordinates, URL-encoded form bodies (one brotli-compressed), HTTP Basic
authentication, PHP-style session cookies, multipart uploads of drawings and
recordings, a base64url ``state`` parameter, and an ad SDK's requests with a
real advertising id and with the all-zero one (a decoy).
"""

from __future__ import annotations

import random

from benchmarks.corpus import encode, pip_app
from benchmarks.corpus.encode import (
    plain,
)
from benchmarks.corpus.family import hex_token, unicast_mac
from benchmarks.corpus.media import wav
from benchmarks.corpus.network import HttpMessage, Network, PacketCapture
from benchmarks.corpus.toybase import (
    START,
    ToyCapture,
    decoy,
    pii,
)
from toyaudit import synth

API = "api.circuitcub.example"
ADS = "ads.adnimbus.example"
SERVERS = {API: "203.0.113.30", ADS: "198.51.100.40"}
_AGENT = "PipRobot/2.0.7"
_APP_AGENT = "CircuitCub/4.4 (Android 14)"
_FORM = "application/x-www-form-urlencoded"

Request = tuple[HttpMessage, str]


def capture(toy: ToyCapture) -> None:
    """Write Pip's session: the app logs in and sets up, the robot plays."""
    rng = toy.rng
    host = synth.Host(toy.profile.mac, "192.168.4.24")
    net = Network(PacketCapture(), rng, START.timestamp() + 600, host, SERVERS)
    session_id = hex_token(rng, 26)
    net.lookup(API)
    net.http(API, [_hello(toy), _scan(toy), _wifi_join(toy), _sound(toy), _state(toy)])
    net.http(
        API,
        [pip_app.login(toy), pip_app.kid(toy, session_id), pip_app.guardian(toy)],
        client=net.phone,
    )
    uploads = [
        pip_app.drawing(toy),
        pip_app.recording(toy),
        pip_app.form_parts(toy),
        pip_app.greeting(toy),
    ]
    net.http(API, uploads, client=net.phone)
    net.http(API, [_map(toy), _weather(toy), _progress(toy, session_id), _search(toy)])
    net.http(
        API, [pip_app.oauth_return(toy), pip_app.newsletter(toy)], client=net.phone
    )
    net.lookup(ADS, client=net.phone)
    net.http(
        ADS, [pip_app.ad(toy, real=True), pip_app.ad(toy, real=False)], client=net.phone
    )
    toy.finish_pcap(net.capture)


def _hello(toy: ToyCapture) -> Request:
    """The robot's check-in: serial, MAC with dashes, firmware, clock."""
    message, profile = toy.message(), toy.profile
    dashes = encode.mac_notations(profile.mac)["mac-dashes"]
    query = toy.pairs(
        message,
        [
            ("sn", pii("device-id", profile.serial)),
            ("mac", pii("mac-address", encode.respelled(dashes, "mac-dashes"))),
            ("fw", pii("usage-telemetry", profile.firmware)),
            (
                "t",
                decoy(
                    "phone-number",
                    str(int(START.timestamp()) + 611),
                    "a Unix time has a phone number's length",
                ),
            ),
            ("model", decoy("device-id", "CC-PIP2", "the model number, shared by all")),
            (
                "build",
                decoy("child-birthdate", "2026.11.03", "the firmware's build date"),
            ),
            ("uptime", decoy("phone-number", "86400123", "milliseconds since boot")),
        ],
        "http query",
        "query parameter",
    )
    return HttpMessage("GET", f"/api/v1/hello?{query}", {"User-Agent": _AGENT}), message


def _scan(toy: ToyCapture) -> Request:
    """The networks the robot can see: the home SSID and every router's BSSID."""
    family, message = toy.family, toy.message()
    bssids = [*family.bssids, unicast_mac(toy.rng)]
    for bssid in bssids:
        toy.plant(
            message,
            pii("wifi-network", bssid),
            "http query",
            "query parameter 'bssids'",
            ("url-encode",),
        )
    query = toy.pairs(
        message,
        [
            ("ssid", pii("wifi-network", family.ssid)),
            (
                "placeholder_mac",
                decoy(
                    "mac-address",
                    "02:00:00:00:00:00",
                    "Android's stand-in when the MAC is hidden",
                ),
            ),
        ],
        "http query",
        "query parameter",
    )
    listed = encode.form(plain(",".join(bssids))).text
    path = f"/api/v1/wifi/scan?bssids={listed}&{query}"
    return HttpMessage("GET", path, {"User-Agent": _AGENT}), message


def _state(toy: ToyCapture) -> Request:
    """The robot's state under a path naming its serial, its MAC in a header."""
    message = toy.message()
    toy.plant(
        message, pii("device-id", toy.profile.serial), "http path", "path segment 4"
    )
    bare = encode.mac_notations(toy.profile.mac)["mac-bare-upper"]
    headers = toy.headers(
        message,
        {
            "User-Agent": _AGENT,
            "X-Device-MAC": pii(
                "mac-address", encode.respelled(bare, "mac-bare-upper")
            ),
        },
    )
    path = f"/api/v1/devices/{toy.profile.serial}/state"
    return HttpMessage("GET", path, headers), message


def _wifi_join(toy: ToyCapture) -> Request:
    """The robot joins the home network: SSID and password in a form."""
    family, message = toy.family, toy.message()
    body = toy.pairs(
        message,
        [
            ("ssid", pii("wifi-network", family.ssid)),
            ("wifi_pass", pii("wifi-password", family.wifi_password)),
            ("band", decoy("wifi-network", "5GHz", "a radio band")),
            ("key_mgmt", decoy("wifi-password", "WPA-PSK", "the kind of security")),
            ("country", "GB"),
        ],
        "http body",
        "form field",
        ("form",),
    )
    headers = {"Content-Type": _FORM, "User-Agent": _AGENT}
    return HttpMessage("POST", "/api/v1/wifi/join", headers, body.encode()), message


def _sound(toy: ToyCapture) -> Request:
    """A sound effect downloaded to the robot (inbound audio: a decoy)."""
    message = toy.message()
    toy.media_decoy(
        message,
        "voice-recording",
        "audio/wav",
        ("http body", "response body"),
        "a sound effect downloaded to the robot",
    )
    request = HttpMessage(
        "GET",
        "/api/v1/sounds/beep.wav",
        {"User-Agent": _AGENT},
        response_headers={"Content-Type": "audio/wav"},
        response_body=wav(toy.rng),
    )
    return request, message


def _map(toy: ToyCapture) -> Request:
    """A map tile request centred on the home, as 'lat,lon'."""
    family, message = toy.family, toy.message()
    query = toy.pairs(
        message,
        [
            ("ll", pii("precise-location", family.coordinates)),
            ("z", "15"),
            (
                "aspect",
                decoy(
                    "precise-location",
                    "1.333,1.778",
                    "aspect ratios shaped like a coordinate pair",
                ),
            ),
        ],
        "http query",
        "query parameter",
    )
    return HttpMessage("GET", f"/api/v1/map?{query}", {"User-Agent": _AGENT}), message


def _weather(toy: ToyCapture) -> Request:
    """A weather look-up with a fix near the home, latitude and longitude apart."""
    family, message = toy.family, toy.message()
    near = _near(toy.rng, family.latitude, family.longitude)
    query = toy.pairs(
        message,
        [
            (
                "lat",
                pii("precise-location", encode.respelled(near[0], "within-tolerance")),
            ),
            (
                "lon",
                pii("precise-location", encode.respelled(near[1], "within-tolerance")),
            ),
            ("units", "metric"),
        ],
        "http query",
        "query parameter",
    )
    return HttpMessage(
        "GET", f"/api/v1/weather?{query}", {"User-Agent": _AGENT}
    ), message


def _near(rng: random.Random, latitude: float, longitude: float) -> tuple[str, str]:
    """A fix within about 40 m of a point, with four decimals."""
    return (
        f"{latitude + rng.uniform(-0.0003, 0.0003):.4f}",
        f"{longitude + rng.uniform(-0.0003, 0.0003):.4f}",
    )


def _progress(toy: ToyCapture, session_id: str) -> Request:
    """Game progress as a form: level, play time, event."""
    message = toy.message()
    cookie = toy.cookies(message, [("PHPSESSID", pii("account-id", session_id))])
    body = toy.pairs(
        message,
        [
            ("event", pii("usage-telemetry", "level_complete")),
            ("level", pii("usage-telemetry", "3")),
            ("play_time", pii("usage-telemetry", "340")),
            ("stars", pii("usage-telemetry", "12")),
            ("coding_enabled", decoy("usage-telemetry", "true", "a feature flag")),
        ],
        "http body",
        "form field",
        ("form",),
    )
    headers = {"Content-Type": _FORM, "Cookie": cookie, "User-Agent": _AGENT}
    return HttpMessage("POST", "/api/v1/progress", headers, body.encode()), message


def _search(toy: ToyCapture) -> Request:
    """The child asks the robot a question; it searches with the words and her name."""
    family, message = toy.family, toy.message()
    question = "how do robots sleep at night"
    query = toy.pairs(
        message,
        [
            ("q", pii("chat-message", question)),
            ("kid", pii("child-name", family.child_first)),
            ("safe", "strict"),
        ],
        "http query",
        "query parameter",
    )
    return HttpMessage("GET", f"/api/v1/ask?{query}", {"User-Agent": _AGENT}), message
