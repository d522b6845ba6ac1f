"""Pebble the Storytelling Penguin: a REST JSON toy and its companion app.

API style: JSON bodies over plaintext HTTP, a bearer JWT on every call,
cookies for the app's session, gzip and deflate bodies, a profile sent as
JSON inside a JSON string, uploads of every audio and picture format with
their content type, a base64 analytics beacon in a query string, and
downloads of stories and avatars (decoys: inbound media is not the child's).
"""

from __future__ import annotations

from benchmarks.corpus import encode, pebble_app
from benchmarks.corpus.encode import lower, plain
from benchmarks.corpus.family import hex_token, request_uuid
from benchmarks.corpus.media import AUDIO, mp3, png
from benchmarks.corpus.network import HttpMessage, Network, PacketCapture
from benchmarks.corpus.pebble_sdk import TRACKER, app_open, beacon
from benchmarks.corpus.toybase import START, ToyCapture, decoy, pii
from toyaudit import synth

API = "api.snowdrift.example"
SERVERS = {API: "203.0.113.10", TRACKER: "198.51.100.7"}
_JSON = {"Content-Type": "application/json"}
_APP_AGENT = "PebbleApp/5.2.0 (iOS 17.1)"
_TOY_AGENT = "Pebble/3.1.4"

Request = tuple[HttpMessage, str]
"""An HTTP request and its message id."""


def capture(toy: ToyCapture) -> None:
    """Write Pebble's session: setup from the phone, then the toy at play."""
    rng = toy.rng
    host = synth.Host(toy.profile.mac, "192.168.4.23")
    net = Network(PacketCapture(), rng, START.timestamp(), host, SERVERS)
    account = f"u_{rng.randint(10000, 99999)}"
    child_id = f"c_{rng.randint(10000, 99999)}"
    claims = {"sub": account, "email": toy.family.email, "scope": "app"}
    token = encode.jwt(claims)

    _names(toy, net)
    net.http(
        API,
        [pebble_app.login(toy), pebble_app.wifi_setup(toy), pebble_app.gift(toy)],
        client=net.phone,
    )
    app_calls = [
        pebble_app.create_child(toy, token, account),
        pebble_app.profile_update(toy, child_id),
    ]
    net.http(API, app_calls, client=net.phone)
    net.http(API, pebble_app.photos(toy, token, account), client=net.phone)
    net.http(API, _voice(toy, child_id))
    net.http(API, [_telemetry(toy), _location(toy), _crash(toy), _ask(toy, child_id)])
    net.http(API, [pebble_app.birthday(toy, child_id), *_downloads(toy)])
    net.http(TRACKER, [app_open(toy), beacon(toy, account)], client=net.phone)
    toy.finish_pcap(net.capture)


def _names(toy: ToyCapture, net: Network) -> None:
    """A DNS look-up and a TLS server name that carry the toy's serial number."""
    serial = lower(plain(toy.profile.serial))
    serial_host = f"{serial.text}.devices.snowdrift.example"
    message = toy.message()
    net.lookup(serial_host, message)
    toy.plant(message, pii("device-id", serial), "dns", "DNS name")
    net.lookup(API)
    message = toy.message()
    net.tls_hello(API, serial_host, message)
    toy.plant(message, pii("device-id", serial), "tls sni", "TLS server name")


def _voice(toy: ToyCapture, child_id: str) -> list[Request]:
    """The toy uploads what the child said, in every audio format it knows."""
    requests = []
    for kind in AUDIO:
        message = toy.message()
        query = toy.pairs(
            message,
            [
                ("child_id", pii("account-id", child_id)),
                ("lang", "en"),
            ],
            "http query",
            "query parameter",
        )
        headers = toy.headers(
            message,
            {
                "Content-Type": kind.content_type,
                "User-Agent": _TOY_AGENT,
                "X-Device-Serial": pii("device-id", toy.profile.serial),
            },
        )
        toy.book.media(
            message,
            kind.category,
            kind.content_type,
            "http body",
            "request body",
            note=f"{kind.name} upload with its type",
        )
        body = kind.build(toy.rng)
        requests.append(
            (HttpMessage("POST", f"/v2/voice?{query}", headers, body), message)
        )
    return requests


def _telemetry(toy: ToyCapture) -> Request:
    """A batch of play events with battery, firmware and the home network."""
    family, message, rng = toy.family, toy.message(), toy.rng
    clock = int(START.timestamp() * 1000) + 1_800_000
    events = []
    for name in ("story_started", "song_played", "story_started", "button_pressed"):
        clock += rng.randint(20_000, 90_000)
        events.append({"event": name, "ts": str(clock), "event_id": request_uuid(rng)})
    for index, name in enumerate(("story_started", "song_played", "button_pressed")):
        label = "events[].event" if index else "events[0].event"
        toy.plant(
            message,
            pii("usage-telemetry", name),
            "http body",
            f"JSON body field '{label}'",
            ("json",),
        )
    toy.plant(
        message,
        decoy(
            "phone-number",
            events[0]["ts"],
            "a millisecond timestamp has a phone number's length",
        ),
        "http body",
        "JSON body field 'events[0].ts'",
        ("json",),
    )
    body = toy.json_body(
        message,
        {
            "device_id": pii("device-id", toy.profile.serial),
            "mac": pii("mac-address", toy.profile.mac),
            "home_geo": pii("precise-location", family.coordinates),
            "battery_level": pii("usage-telemetry", "83"),
            "firmware_version": pii("usage-telemetry", toy.profile.firmware),
            "wifi": {"ssid": pii("wifi-network", family.ssid), "rssi": "-52"},
            "sdk_version": decoy(
                "precise-location", "12.4521", "a version number shaped like a latitude"
            ),
            "request_id": decoy(
                "advertising-id",
                request_uuid(rng),
                "a request id is a UUID, not an advertising id",
            ),
            "events": events,
        },
    )
    headers = toy.headers(
        message,
        {
            **_JSON,
            "User-Agent": _TOY_AGENT,
            "X-Api-Key": pii("api-key", "sk_" + hex_token(rng, 28)),
        },
    )
    return HttpMessage("POST", "/v2/telemetry", headers, body.encode()), message


def _location(toy: ToyCapture) -> Request:
    """A GPS fix from the app, a little off the persona's coordinates, deflated."""
    family, message, rng = toy.family, toy.message(), toy.rng
    latitude = round(family.latitude + rng.uniform(-0.0004, 0.0004), 5)
    longitude = round(family.longitude + rng.uniform(-0.0004, 0.0004), 5)
    near = "within-tolerance"
    body = toy.json_body(
        message,
        {
            "fix": {
                "lat": pii(
                    "precise-location",
                    encode.respelled(repr(latitude), near),
                    number=True,
                ),
                "lng": pii(
                    "precise-location",
                    encode.respelled(repr(longitude), near),
                    number=True,
                ),
                "accuracy_m": "12",
            },
            "placeholder": decoy(
                "precise-location",
                "0.00000,0.00000",
                "'null island', sent when there is no fix",
            ),
            "source": "gps",
        },
        outer=("deflate", "json"),
    )
    headers = {**_JSON, "Content-Encoding": "deflate", "User-Agent": _TOY_AGENT}
    body_bytes = encode.deflate_bytes(body.encode())
    return HttpMessage("POST", "/v2/location", headers, body_bytes), message


def _crash(toy: ToyCapture) -> Request:
    """A crash report: the product's names and the vendor's contacts are decoys."""
    family, message = toy.family, toy.message()
    body = toy.json_body(
        message,
        {
            "product_name": decoy("child-name", toy.profile.name, "the toy's own name"),
            "character_name": decoy(
                "child-name", "Captain Flipper", "a character in the toy's stories"
            ),
            "app_version": pii("usage-telemetry", "5.2.0"),
            "device_name": pii(
                "child-name",
                encode.embedded(family.child_first, f"{family.child_first}'s Pebble"),
            ),
            "support_contact": decoy(
                "email-address",
                "help@snowdrift.example",
                "the vendor's support address",
            ),
            "build_date": decoy(
                "child-birthdate", "2025-11-03", "the firmware's build date"
            ),
            "build_hash": decoy(
                "email-address",
                hex_token(toy.rng, 40),
                "a build id shaped like a hashed e-mail",
            ),
            "stack": "StoryPlayer.next (player.c:212)",
        },
    )
    headers = {**_JSON, "User-Agent": _TOY_AGENT}
    return HttpMessage("POST", "/v2/crash", headers, body.encode()), message


def _ask(toy: ToyCapture, child_id: str) -> Request:
    """A question the child asked, sent as text under an unusual key."""
    message = toy.message()
    body = toy.json_body(
        message,
        {
            "question": pii("chat-message", "what do penguins eat for breakfast"),
            "child_id": pii("account-id", child_id),
            "lang": "en",
        },
    )
    headers = {**_JSON, "User-Agent": _TOY_AGENT}
    return HttpMessage("POST", "/v2/ask", headers, body.encode()), message


def _downloads(toy: ToyCapture) -> list[Request]:
    """A story and an avatar downloaded to the toy (inbound media: decoys)."""
    family, rng = toy.family, toy.rng
    message = toy.message()
    query = toy.pairs(
        message,
        [
            ("age", pii("child-birthdate", str(family.age))),
            ("lang", "en"),
        ],
        "http query",
        "query parameter",
    )
    toy.media_decoy(
        message,
        "voice-recording",
        "audio/mpeg",
        ("http body", "response body"),
        "a story downloaded to the toy",
    )
    story = HttpMessage(
        "GET",
        f"/v2/stories/next?{query}",
        {"User-Agent": _TOY_AGENT},
        response_headers={"Content-Type": "audio/mpeg"},
        response_body=mp3(rng),
    )
    avatar_message = toy.message()
    toy.media_decoy(
        avatar_message,
        "image",
        "image/png",
        ("http body", "response body"),
        "a stock avatar downloaded to the toy",
    )
    toy.plant(
        avatar_message,
        decoy("image", "penguin_03.png", "an asset name"),
        "http path",
        "path segment 3",
    )
    avatar = HttpMessage(
        "GET",
        "/v2/avatars/penguin_03.png",
        {"User-Agent": _TOY_AGENT},
        response_headers={"Content-Type": "image/png"},
        response_body=png(rng),
    )
    return [(story, message), (avatar, avatar_message)]
