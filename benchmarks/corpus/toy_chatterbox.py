"""Chatterbox the Parrot: a chat toy on one WebSocket connection.

API style: an HTTP upgrade whose query string carries the token, the serial
and the child's name; then JSON text messages from the toy (a hello with the
profile, utterances under several key names, a location, an event as JSON
inside a JSON string) and binary messages of Ogg/Opus and WebM voice. The
server's replies and its synthesised speech are decoys: what the toy says
is not what the child says.
"""

from __future__ import annotations

from benchmarks.corpus import encode
from benchmarks.corpus.encode import compact_json, json_bytes, lower, plain
from benchmarks.corpus.family import text_token
from benchmarks.corpus.media import mp3, ogg_opus, webm_audio
from benchmarks.corpus.network import Network, PacketCapture
from benchmarks.corpus.toybase import START, ToyCapture, decoy, pii, render_json
from toyaudit import synth

CHAT = "chat.talktales.example"
SERVERS = {CHAT: "203.0.113.90"}
_MESSAGE = "WebSocket message JSON field"

Frame = tuple[bytes, bool, str, bool]
"""(payload, text?, message id, sent by the toy?)."""


def capture(toy: ToyCapture) -> None:
    """Write Chatterbox's session: one chat connection, both directions."""
    host = synth.Host(toy.profile.mac, "192.168.4.27")
    net = Network(PacketCapture(), toy.rng, START.timestamp() + 2400, host, SERVERS)
    net.lookup(CHAT)
    frames = [
        _hello(toy),
        *_utterances(toy),
        _location(toy),
        _event(toy),
        _story(toy),
        _cloud_config(toy),
        _voice(toy, ogg=True),
        _voice(toy, ogg=False),
        *_server_frames(toy),
    ]
    net.websocket(CHAT, _upgrade(toy), frames)
    toy.finish_pcap(net.capture)


def _upgrade(toy: ToyCapture) -> tuple[str, dict[str, str], str]:
    """The upgrade request: credentials and names in the query string."""
    family, message = toy.family, toy.message()
    token = text_token(toy.rng, 32)
    query = toy.pairs(
        message,
        [
            ("token", pii("access-token", token)),
            ("device", pii("device-id", toy.profile.serial)),
            ("child", pii("child-name", family.child_first)),
            ("v", "4"),
        ],
        "http query",
        "query parameter",
    )
    headers = toy.headers(
        message,
        {
            "User-Agent": "Chatterbox/4.0.1",
            "Origin": "http://chat.talktales.example",
            "X-User-Hash": pii("email-address", encode.digest("sha256", family.email)),
        },
    )
    return f"/ws/v1/chat?{query}", headers, message


def _text(toy: ToyCapture, document: object, message: str | None = None) -> Frame:
    """One JSON text message from the toy, its seeds recorded."""
    message = message or toy.message()
    text = toy.json_body(message, document, ("json",), "websocket", _MESSAGE)
    return text.encode(), True, message, True


def _hello(toy: ToyCapture) -> Frame:
    """The greeting: the profile, its birthdate as ``toISOString`` writes it."""
    family = toy.family
    dashes = encode.mac_notations(toy.profile.mac)["mac-dashes"]
    iso_ms = encode.date_notations(family.birthdate)["date-iso-time-ms"]
    return _text(
        toy,
        {
            "type": "hello",
            "device": {
                "mac": pii("mac-address", encode.respelled(dashes, "mac-dashes")),
                "fw": pii("usage-telemetry", toy.profile.firmware),
                "voice_enabled": decoy("voice-recording", "true", "a feature flag"),
            },
            "profile": {
                "name": pii("child-name", lower(plain(family.child_name))),
                "age": pii("child-birthdate", str(family.age)),
                "d": pii(
                    "child-birthdate", encode.respelled(iso_ms, "date-iso-time-ms")
                ),
                "gender": pii(
                    "child-gender", "girl" if family.gender == "female" else "boy"
                ),
                "voice": decoy(
                    "voice-recording",
                    "en-GB-Standard-C",
                    "the name of the parrot's speaking voice",
                ),
            },
            "character": decoy("child-name", "Captain Polly", "the parrot's character"),
            "voice_pitch": decoy("precise-location", "1.250", "a pitch factor"),
            "ifa": decoy(
                "advertising-id",
                "00000000-0000-0000-0000-000000000000",
                "limit-ad-tracking: the all-zero id",
            ),
            "avatar_url": decoy(
                "image",
                "http://cdn.talktales.example/avatars/polly.png",
                "a stock avatar's address",
            ),
            "ringtone": decoy(
                "voice-recording", "chirp.mp3", "a built-in sound's name"
            ),
            "connected_at": decoy(
                "child-birthdate", "2026-11-20T10:40:00Z", "when the toy connected"
            ),
        },
    )


def _utterances(toy: ToyCapture) -> list[Frame]:
    """What the child says, under the key names chat APIs use."""
    family = toy.family
    frames = []
    lines = (
        ("text", "utterance", "why do parrots talk"),
        ("message", "user_message", "tell me a joke about bananas"),
        ("transcript", "transcript", "I had a bad dream about the dark"),
        ("prompt", "prompt", "can you sing the dinosaur song"),
    )
    for key, kind, said in lines:
        frames.append(
            _text(toy, {"type": kind, key: pii("chat-message", said), "lang": "en"})
        )
    message = toy.message()
    said = f"my name is {family.child_first} and I go to {family.school}"
    toy.plant(
        message,
        pii("child-name", encode.embedded(family.child_first, said)),
        "websocket",
        f"{_MESSAGE} 'chat'",
        ("json",),
    )
    toy.plant(
        message,
        pii("school", encode.embedded(family.school, said)),
        "websocket",
        f"{_MESSAGE} 'chat'",
        ("json",),
    )
    frames.append(
        _text(toy, {"type": "chat", "chat": pii("chat-message", said)}, message)
    )
    message = toy.message()
    said = f"I live at {family.street} with {family.sibling_first}"
    toy.plant(
        message,
        pii("postal-address", encode.embedded(family.street, said)),
        "websocket",
        f"{_MESSAGE} 'transcript'",
        ("json",),
    )
    toy.plant(
        message,
        pii("child-name", encode.embedded(family.sibling_first, said)),
        "websocket",
        f"{_MESSAGE} 'transcript'",
        ("json",),
    )
    frames.append(
        _text(
            toy,
            {"type": "transcript", "transcript": pii("chat-message", said)},
            message,
        )
    )
    return frames


def _location(toy: ToyCapture) -> Frame:
    """A geo URI (RFC 5870) from the companion app, relayed by the toy."""
    family = toy.family
    uri = f"geo:{family.coordinates};u=35"
    return _text(
        toy,
        {
            "type": "location",
            "geo": pii("precise-location", encode.embedded(family.coordinates, uri)),
        },
    )


def _event(toy: ToyCapture) -> Frame:
    """A play event as JSON inside a JSON string."""
    message = toy.message()
    inner, seeds = render_json(
        {
            "event": pii("usage-telemetry", "story_finished"),
            "duration": pii("usage-telemetry", "312"),
        }
    )
    for path, seed in seeds:
        toy.plant(
            message,
            seed,
            "websocket",
            f"{_MESSAGE} 'data', JSON field '{path}'",
            ("json", "json"),
        )
    payload = json_bytes({"type": "event", "data": compact_json(inner)})
    return payload, True, message, True


def _story(toy: ToyCapture) -> Frame:
    """The child picks a story: titles and authors are not personal data."""
    return _text(
        toy,
        {
            "type": "story",
            "title": decoy("child-name", "Peter Pan", "a story's title"),
            "author": decoy("parent-name", "J. M. Barrie", "a story's author"),
            "chapter": "3",
            "story_id": decoy("account-id", "st-00417", "a catalogue number"),
        },
    )


def _cloud_config(toy: ToyCapture) -> Frame:
    """Cloud keys the firmware ships with and reports back (a real failing).

    The Wi-Fi name comes in hex, as firmware prints a network name that may
    hold any bytes.
    """
    rng = toy.rng
    key_id = "AKIA" + "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)
    )
    return _text(
        toy,
        {
            "type": "diagnostics",
            "aws_access_key_id": pii("api-key", key_id),
            "aws_secret_access_key": pii("api-key", text_token(rng, 40)),
            "region": "eu-west-2",
            "ap": pii("wifi-network", encode.hexed(plain(toy.family.ssid))),
            "uptime": decoy("phone-number", "1700000123", "seconds since boot"),
        },
    )


def _voice(toy: ToyCapture, ogg: bool) -> Frame:
    """A binary message of the child's voice: Ogg/Opus or WebM."""
    message = toy.message()
    media_type = "audio/ogg" if ogg else "audio/webm"
    toy.book.media(
        message, "voice-recording", media_type, "websocket", "WebSocket binary message"
    )
    audio = ogg_opus(toy.rng) if ogg else webm_audio(toy.rng)
    return audio, False, message, True


def _server_frames(toy: ToyCapture) -> list[Frame]:
    """The parrot's replies and synthesised speech, sent to the toy."""
    reply, speech = toy.message(), toy.message()
    text = "Why did the banana go to the doctor? It was not peeling well!"
    toy.plant(
        reply,
        decoy("chat-message", text, "the toy's reply, not the child's"),
        "websocket",
        f"{_MESSAGE} 'text'",
    )
    toy.media_decoy(
        speech,
        "voice-recording",
        "audio/mpeg",
        ("websocket", "WebSocket binary message"),
        "speech synthesised for the toy",
    )
    return [
        (json_bytes({"type": "reply", "text": text}), True, reply, False),
        (mp3(toy.rng), False, speech, False),
    ]
