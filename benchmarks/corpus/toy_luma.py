"""Luma the Night-Light Owl: a toy that talks MQTT with JSON payloads.

API style: one MQTT 3.1.1 session to the vendor's broker. The client id
holds the MAC address, the user name is the account id, topics hold the
serial number. Payloads are JSON: telemetry, a Wi-Fi scan, location (as two
numbers and as a "lat,lon" string), a chat transcript, a profile as
base64url JSON, and voice as base64 Ogg/Opus inside JSON or as a raw WAV
payload. The broker's messages to the owl (lullabies, commands) are decoys:
inbound content is not the child's.
"""

from __future__ import annotations

import base64

from benchmarks.corpus import encode
from benchmarks.corpus.encode import b64url, compact_json, json_bytes, plain
from benchmarks.corpus.family import hex_token, unicast_mac
from benchmarks.corpus.media import mp3, ogg_opus, png, wav
from benchmarks.corpus.network import Network, PacketCapture
from benchmarks.corpus.toybase import START, ToyCapture, decoy, pii, render_json
from toyaudit import synth

BROKER = "mqtt.brightnest.example"
SERVERS = {BROKER: "203.0.113.50"}
_PAYLOAD = "MQTT payload JSON field"

Publish = tuple[str, bytes, str, bool]
"""(topic, payload, message id, sent by the toy?)."""


def capture(toy: ToyCapture) -> None:
    """Write Luma's session: one MQTT connection carrying everything."""
    host = synth.Host(toy.profile.mac, "192.168.4.25")
    net = Network(PacketCapture(), toy.rng, START.timestamp() + 1200, host, SERVERS)
    net.lookup(BROKER)
    bare = encode.mac_notations(toy.profile.mac)["mac-bare"]
    message = toy.message()
    net.lookup(f"luma-{bare}.devices.brightnest.example", message)
    toy.plant(message, pii("mac-address", bare), "dns", "DNS name")
    connect = _connect(toy)
    publishes = [
        _hello(toy),
        _telemetry(toy),
        _scan(toy),
        _position(toy),
        _home(toy),
        _chat(toy),
        _profile(toy),
        _voice_json(toy),
        _voice_raw(toy),
        _settings(toy),
        _alerts(toy),
        *_inbound(toy),
    ]
    net.mqtt(BROKER, connect, publishes)
    toy.finish_pcap(net.capture)


def _topic(toy: ToyCapture, message: str, leaf: str) -> str:
    """``owl/<serial>/<leaf>``, the serial recorded as a device id."""
    toy.plant(
        message, pii("device-id", toy.profile.serial), "mqtt publish", "MQTT topic"
    )
    return f"owl/{toy.profile.serial}/{leaf}"


def _connect(toy: ToyCapture) -> tuple[tuple[str, str, str], str]:
    """CONNECT: MAC in the client id, account id as user, device key as password."""
    message, rng = toy.message(), toy.rng
    bare = encode.mac_notations(toy.profile.mac)["mac-bare"]
    account = f"acct-{rng.randint(1000, 9999)}"
    key = f"dk_{hex_token(rng, 24)}"
    toy.plant(
        message,
        pii("mac-address", encode.embedded(bare, f"luma-{bare}")),
        "mqtt connect",
        "MQTT client id",
    )
    toy.plant(message, pii("account-id", account), "mqtt connect", "MQTT username")
    toy.plant(message, pii("password", key), "mqtt connect", "MQTT password")
    return (f"luma-{bare}", account, key), message


def _json_publish(toy: ToyCapture, leaf: str, document: object) -> Publish:
    message = toy.message()
    topic = _topic(toy, message, leaf)
    payload = toy.json_body(message, document, ("json",), "mqtt publish", _PAYLOAD)
    return topic, payload.encode(), message, True


def _hello(toy: ToyCapture) -> Publish:
    """The owl comes online; its profile's date is a DATETIME column's text."""
    colons = encode.mac_notations(toy.profile.mac)["mac-colons-upper"]
    sql_time = encode.date_notations(toy.family.birthdate)["date-sql-time"]
    return _json_publish(
        toy,
        "hello",
        {
            "mac": pii("mac-address", encode.respelled(colons, "upper-case")),
            "fw": pii("usage-telemetry", toy.profile.firmware),
            "ssid": pii("wifi-network", toy.family.ssid),
            "since": pii(
                "child-birthdate", encode.respelled(sql_time, "date-sql-time")
            ),
            "bssid": pii("wifi-network", toy.family.bssids[0]),
            "ip": "192.168.4.25",
            "model": decoy("device-id", "BN-OWL1", "the model number, shared by all"),
        },
    )


def _telemetry(toy: ToyCapture) -> Publish:
    return _json_publish(
        toy,
        "telemetry",
        {
            "battery": pii("usage-telemetry", "64", number=True),
            "event": pii("usage-telemetry", "lullaby_played"),
            "duration": pii("usage-telemetry", "1260", number=True),
            "uptime_s": decoy(
                "precise-location",
                "5123.4471",
                "an uptime with decimals, not a coordinate",
            ),
            "temp_c": "21.5",
            "night_mode": decoy("usage-telemetry", "on", "a setting, not usage"),
            "sensor": decoy("device-id", "BH1750FVI", "the light sensor's part number"),
            "sunset_utc": decoy(
                "child-birthdate",
                "2026-11-20T16:05:00Z",
                "today's sunset, not a birthdate",
            ),
            "seq": "17",
        },
    )


def _scan(toy: ToyCapture) -> Publish:
    """Routers in range of the owl: a location proxy as good as GPS."""
    rng = toy.rng
    routers = [*toy.family.bssids[1:], unicast_mac(rng)]
    return _json_publish(
        toy,
        "wifi_scan",
        {
            "aps": [
                {"bssid": pii("wifi-network", bssid), "rssi": str(-40 - 7 * index)}
                for index, bssid in enumerate(routers)
            ],
            "channel": "6",
        },
    )


def _position(toy: ToyCapture) -> Publish:
    """A fix from the parent's phone, relayed: persona numbers as JSON numbers."""
    family = toy.family
    return _json_publish(
        toy,
        "geo",
        {
            "lat": pii("precise-location", f"{family.latitude:.5f}", number=True),
            "lon": pii("precise-location", f"{family.longitude:.5f}", number=True),
            "acc": "9",
        },
    )


def _home(toy: ToyCapture) -> Publish:
    """The home as a rounded 'lat,lon' string, and a default fix as a decoy."""
    family = toy.family
    rounded = f"{family.latitude:.4f},{family.longitude:.4f}"
    return _json_publish(
        toy,
        "home",
        {
            "loc": pii(
                "precise-location", encode.respelled(rounded, "within-tolerance")
            ),
            "default_loc": decoy(
                "precise-location",
                "37.4220,-122.0841",
                "the emulator's default fix, a placeholder",
            ),
            "timezone": "Europe/London",
        },
    )


def _chat(toy: ToyCapture) -> Publish:
    """What the child said, which names her brother or sister."""
    family, message = toy.family, toy.message()
    topic = _topic(toy, message, "chat")
    said = f"goodnight owl, can {family.sibling_first} have a story too"
    toy.plant(
        message,
        pii("child-name", encode.embedded(family.sibling_first, said)),
        "mqtt publish",
        f"{_PAYLOAD} 'utterance'",
        ("json",),
    )
    payload = toy.json_body(
        message,
        {
            "utterance": pii("chat-message", said),
            "speaker": pii("child-name", family.child_first),
            "confidence": "0.91",
        },
        ("json",),
        "mqtt publish",
        _PAYLOAD,
    )
    return topic, payload.encode(), message, True


def _profile(toy: ToyCapture) -> Publish:
    """The child's profile as base64url JSON inside the JSON payload."""
    family, message = toy.family, toy.message()
    topic = _topic(toy, message, "profile")
    dates = encode.date_notations(family.birthdate)
    compact, dotted = dates["date-compact"], dates["date-dotted-year-first"]
    inner, seeds = render_json(
        {
            "n": pii("child-name", family.child_name),
            "b": pii("child-birthdate", encode.respelled(compact, "date-compact")),
            "c": pii(
                "child-birthdate", encode.respelled(dotted, "date-dotted-year-first")
            ),
            "g": pii("child-gender", family.gender[0]),
        }
    )
    for path, seed in seeds:
        toy.plant(
            message,
            seed,
            "mqtt publish",
            f"{_PAYLOAD} 'p', JSON field '{path}'",
            ("json", "base64url", "json"),
        )
    wrapped = b64url(plain(compact_json(inner))).text
    payload = json_bytes({"p": wrapped, "v": "2"})
    return topic, payload, message, True


def _voice_json(toy: ToyCapture) -> Publish:
    """What the child whispered, as base64 Ogg/Opus in a JSON payload."""
    message = toy.message()
    topic = _topic(toy, message, "voice")
    toy.book.media(
        message,
        "voice-recording",
        "audio/ogg",
        "mqtt publish",
        f"{_PAYLOAD} 'audio'",
        ("json", "base64"),
    )
    audio = base64.b64encode(ogg_opus(toy.rng)).decode("ascii")
    payload = json_bytes({"codec": "opus", "seq": "1", "audio": audio})
    return topic, payload, message, True


def _voice_raw(toy: ToyCapture) -> Publish:
    """A WAV recording as the raw PUBLISH payload."""
    message = toy.message()
    topic = _topic(toy, message, "voice/raw")
    toy.book.media(
        message, "voice-recording", "audio/wav", "mqtt publish", "MQTT payload"
    )
    return topic, wav(toy.rng), message, True


def _settings(toy: ToyCapture) -> Publish:
    """Feature flags a naive tool reads as voice, location and chat data."""
    return _json_publish(
        toy,
        "settings",
        {
            "voice_enabled": decoy("voice-recording", "true", "a feature flag"),
            "location_enabled": decoy("precise-location", "false", "a feature flag"),
            "chat_mode": decoy("chat-message", "bedtime", "a mode, not a message"),
            "mic_permission": decoy("voice-recording", "granted", "a permission state"),
            "volume": "4",
        },
    )


def _alerts(toy: ToyCapture) -> Publish:
    """Where the owl sends night-time alerts: the parent's phone, hashed and bare."""
    family = toy.family
    digits = family.e164.lstrip("+")
    dashed = encode.phone_notations(family.phone)["phone-dashed"]
    return _json_publish(
        toy,
        "alerts",
        {
            "relay": {
                "to": pii("phone-number", encode.respelled(dashed, "phone-dashed"))
            },
            "alert_phone": pii(
                "phone-number", encode.respelled(digits, "phone-digits")
            ),
            "owner_hash": pii("phone-number", encode.digest("sha1", family.e164)),
            "class_name": pii("school", f"Hedgehogs class, {family.school}"),
            "fallback": {
                "lat": decoy("precise-location", "0.000000", "no fix: null island"),
                "lon": decoy("precise-location", "0.000000", "no fix: null island"),
            },
            "quiet_hours": "19:00-07:00",
        },
    )


def _inbound(toy: ToyCapture) -> list[Publish]:
    """The broker's messages to the owl: a lullaby and a story command."""
    song_message, command_message, sky = toy.message(), toy.message(), toy.message()
    serial = toy.profile.serial
    toy.media_decoy(
        song_message,
        "voice-recording",
        "audio/mpeg",
        ("mqtt publish", "MQTT payload"),
        "a lullaby sent to the owl",
    )
    command = {
        "play": "lullaby_03",
        "text": "Sleep tight, little one",
        "audio_url": "http://cdn.brightnest.example/lullaby_03.mp3",
    }
    toy.plant(
        command_message,
        decoy("chat-message", command["text"], "a line the owl is told to say"),
        "mqtt publish",
        f"{_PAYLOAD} 'text'",
    )
    toy.media_decoy(
        sky,
        "image",
        "image/png",
        ("mqtt publish", "MQTT payload"),
        "a star pattern for the owl to project",
    )
    return [
        (f"owl/{serial}/sky", png(toy.rng), sky, False),
        (f"owl/{serial}/song", mp3(toy.rng), song_message, False),
        (f"owl/{serial}/cmd", json_bytes(command), command_message, False),
    ]
