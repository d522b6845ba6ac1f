"""Rover the Smart Puppy: a binary-ish toy of protobuf and base64 envelopes.

API style: reports in Protocol Buffers wire format with no schema to read
them by, the same inside base64 inside JSON, base64-wrapped gzip JSON,
base64 JSON, a session JWT in a custom header, hashed contact details,
hardware identifiers in a registration query (IMEI with its check digit,
Android id, a push token, a Google API key), and uploads of every audio and
picture format as ``application/octet-stream``, recognisable only by their
first bytes.
"""

from __future__ import annotations

import base64

from benchmarks.corpus import encode
from benchmarks.corpus.book import Wire
from benchmarks.corpus.encode import b64, compact_json, digest, json_bytes, plain
from benchmarks.corpus.family import hex_token, request_uuid, text_token
from benchmarks.corpus.media import AUDIO, PICTURES
from benchmarks.corpus.network import HttpMessage, Network, PacketCapture
from benchmarks.corpus.toybase import START, ToyCapture, decoy, pii, render_json
from toyaudit import synth

API = "api.barkbyte.example"
SERVERS = {API: "203.0.113.70"}
_AGENT = "Rover/6.3.0 (BB-RV3)"
_JSON = {"Content-Type": "application/json", "User-Agent": _AGENT}
_BINARY = "application/octet-stream"

Request = tuple[HttpMessage, str]


def capture(toy: ToyCapture) -> None:
    """Write Rover's session: registration, reports, envelopes, uploads."""
    host = synth.Host(toy.profile.mac, "192.168.4.26")
    net = Network(PacketCapture(), toy.rng, START.timestamp() + 1800, host, SERVERS)
    net.lookup(API)
    _sni(toy, net)
    imei = _imei(toy)
    net.http(API, [_register(toy, imei), _protobuf_report(toy), _enveloped_report(toy)])
    net.http(API, [_gzip_blob(toy), _json_blob(toy), _session(toy, imei), _pair(toy)])
    net.http(API, _uploads(toy))
    toy.finish_pcap(net.capture)


def _imei(toy: ToyCapture) -> str:
    """A 15-digit IMEI: a type allocation code, a serial, the Luhn digit."""
    body = "35" + f"{toy.rng.randint(0, 10**12 - 1):012d}"
    return body + encode.luhn_digit(body)


def _sni(toy: ToyCapture, net: Network) -> None:
    """A TLS server name made from the MAC address."""
    bare = encode.mac_notations(toy.profile.mac)["mac-bare"]
    message = toy.message()
    net.tls_hello(API, f"rv3-{bare}.iot.barkbyte.example", message)
    toy.plant(message, pii("mac-address", bare), "tls sni", "TLS server name")


def _register(toy: ToyCapture, imei: str) -> Request:
    """Registration: every hardware identifier the companion phone can read."""
    message, rng = toy.message(), toy.rng
    dotted = encode.mac_notations(toy.profile.mac)["mac-dotted"]
    google_key = "AIza" + text_token(rng, 35)
    query = toy.pairs(
        message,
        [
            ("serial", pii("device-id", toy.profile.serial)),
            ("imei", pii("device-id", imei)),
            ("android_id", pii("device-id", hex_token(rng, 16))),
            (
                "fcm_token",
                pii("device-id", f"{text_token(rng, 11)}:APA91b{text_token(rng, 40)}"),
            ),
            ("hw", pii("mac-address", encode.respelled(dotted, "mac-dotted"))),
            ("key", pii("api-key", google_key)),
            (
                "adid",
                pii("advertising-id", encode.upper(plain(toy.family.advertising_id))),
            ),
            (
                "fingerprint",
                decoy(
                    "device-id",
                    "google/panther/panther:14/UQ1A.240205.004/"
                    "11269751:user/release-keys",
                    "a build fingerprint, shared by every phone of a model",
                ),
            ),
            ("os", decoy("usage-telemetry", "Android 14", "the phone's system")),
            (
                "traceparent",
                decoy(
                    "device-id",
                    f"00-{hex_token(rng, 32)}-{hex_token(rng, 16)}-01",
                    "a W3C trace id, new for every request",
                ),
            ),
        ],
        "http query",
        "query parameter",
    )
    path = f"/v1/device/register?{query}"
    return HttpMessage("GET", path, {"User-Agent": _AGENT}), message


def _report_fields(toy: ToyCapture, message: str, outer: tuple[str, ...]) -> bytes:
    """A position report in protobuf wire format, each field recorded."""
    family = toy.family
    mac = toy.profile.mac
    where = "protobuf field"
    channel = "http body"
    steps = (*outer, "protobuf")
    for number, seed in (
        (1, pii("device-id", toy.profile.serial)),
        (2, pii("child-name", family.child_first)),
        (4, pii("wifi-network", family.ssid)),
        (5, pii("mac-address", Wire(mac, mac, ("raw-bytes",)))),
    ):
        toy.plant(message, seed, channel, f"{where} {number}", steps)
    for number, value in ((1, family.latitude), (2, family.longitude)):
        seed = pii("precise-location", Wire(repr(value), repr(value), ("double",)))
        toy.plant(message, seed, channel, f"{where} 3.{number}", steps)
    return encode.protobuf(
        [
            (1, toy.profile.serial),
            (2, family.child_first),
            (3, [(1, family.latitude), (2, family.longitude)]),
            (4, family.ssid),
            (5, bytes.fromhex(mac.replace(":", ""))),
            (6, 71),
        ]
    )


def _protobuf_report(toy: ToyCapture) -> Request:
    message = toy.message()
    body = _report_fields(toy, message, ())
    headers = {"Content-Type": "application/x-protobuf", "User-Agent": _AGENT}
    return HttpMessage("POST", "/rpc/rover.Report", headers, body), message


def _enveloped_report(toy: ToyCapture) -> Request:
    """The same report, base64 in a JSON envelope."""
    message = toy.message()
    report = _report_fields(toy, message, ("json", "base64"))
    envelope = {
        "envelope": base64.b64encode(report).decode("ascii"),
        "schema": "rover.Report/3",
    }
    return HttpMessage(
        "POST", "/rpc/rover.Report", _JSON, json_bytes(envelope)
    ), message


def _gzip_blob(toy: ToyCapture) -> Request:
    """Profile fields as base64 of gzip of JSON: no text survives the wrapping."""
    family, message = toy.family, toy.message()
    inner, seeds = render_json(
        {
            "dob": pii("child-birthdate", family.birthdate.isoformat()),
            "owner_email": pii("email-address", family.email),
            "gender": pii("child-gender", family.gender),
        }
    )
    for path, seed in seeds:
        toy.plant(
            message,
            seed,
            "http body",
            f"JSON body field 'blob', field '{path}'",
            ("json", "base64", "gzip", "json"),
        )
    packed = encode.gzip_bytes(json_bytes(inner))
    body = {"blob": base64.b64encode(packed).decode("ascii"), "enc": "gz+b64"}
    return HttpMessage("POST", "/v1/ingest", _JSON, json_bytes(body)), message


def _json_blob(toy: ToyCapture) -> Request:
    """Owner details as base64 of JSON, with the pet's name as a decoy."""
    family, message = toy.family, toy.message()
    named = encode.date_notations(family.birthdate)["date-month-name-dashed"]
    inner, seeds = render_json(
        {
            "owner_email": pii("email-address", family.email),
            "owner_phone": pii("phone-number", encode.respelled(family.e164, "e164")),
            "d": pii(
                "child-birthdate", encode.respelled(named, "date-month-name-dashed")
            ),
            "pet_name": decoy("child-name", "Rover", "the toy dog's name"),
            "firmware_sha256": decoy(
                "email-address",
                digest("sha256", "rover-6.3.0").text,
                "a firmware digest, shaped like a hashed e-mail",
            ),
        }
    )
    for path, seed in seeds:
        toy.plant(
            message,
            seed,
            "http body",
            f"JSON body field 'payload', JSON field '{path}'",
            ("json", "base64", "json"),
        )
    wrapped = b64(plain(compact_json(inner))).text
    body = json_bytes({"payload": wrapped, "v": "1"})
    return HttpMessage("POST", "/v1/ingest", _JSON, body), message


def _session(toy: ToyCapture, imei: str) -> Request:
    """A session JWT in a custom header, its claims naming the child and phone."""
    family, message = toy.family, toy.message()
    claims = {
        "child": family.child_first,
        "dob": family.birthdate.isoformat(),
        "imei": imei,
        "iat": str(int(START.timestamp())),
    }
    token = encode.jwt(claims, kid="rover")
    toy.plant(
        message, pii("access-token", token), "http header", "header 'X-Rover-Session'"
    )
    steps = ("jwt", "base64url", "json")
    for claim, category, value in (
        ("child", "child-name", family.child_first),
        ("dob", "child-birthdate", claims["dob"]),
        ("imei", "device-id", imei),
    ):
        toy.plant(
            message,
            pii(category, value),
            "http header",
            f"header 'X-Rover-Session', JWT claim '{claim}'",
            steps,
        )
    body = toy.json_body(
        message,
        {
            "ad_request_id": decoy(
                "advertising-id",
                request_uuid(toy.rng),
                "a request id, not an advertising id",
            ),
            "device": {
                "imei": decoy(
                    "device-id",
                    "0" * 15,
                    "the zero IMEI a phone sends without permission",
                )
            },
            "nonce": decoy(
                "access-token",
                hex_token(toy.rng, 32),
                "a one-time nonce, not a credential",
            ),
            "hotline": decoy("phone-number", "+1 800 555 0100", "the vendor's hotline"),
        },
    )
    headers = {**_JSON, "X-Rover-Session": token}
    return HttpMessage("POST", "/v1/session/refresh", headers, body.encode()), message


def _pair(toy: ToyCapture) -> Request:
    """Wi-Fi hand-over with the password in base64, and hashed contact details."""
    family, message = toy.family, toy.message()
    digits = "".join(char for char in family.phone if char.isdigit())
    dotted = encode.phone_notations(family.phone)["phone-dotted"]
    body = toy.json_body(
        message,
        {
            "wifi": {
                "ssid": pii("wifi-network", family.ssid),
                "psk": pii("wifi-password", b64(plain(family.wifi_password))),
                "security": decoy("wifi-password", "WPA2-PSK", "the kind of security"),
                "channel": decoy("wifi-network", "11", "a radio channel"),
            },
            "country": decoy("postal-address", "GB", "a country code"),
            "owner": {
                "account_holder": pii("parent-name", family.parent_name),
                "email_sha1": pii("email-address", digest("sha1", family.email)),
                "phone_md5": pii("phone-number", digest("md5", digits)),
                "contact": pii(
                    "phone-number", encode.respelled(dotted, "phone-dotted")
                ),
            },
        },
    )
    return HttpMessage("POST", "/v1/pair", _JSON, body.encode()), message


def _uploads(toy: ToyCapture) -> list[Request]:
    """Every recording and picture format, sent without a content type to go by."""
    api_key = f"rk_live_{text_token(toy.rng, 24)}"
    requests = []
    for index, kind in enumerate((*AUDIO, *PICTURES), start=1):
        message = toy.message()
        headers = {"Content-Type": _BINARY, "User-Agent": _AGENT}
        if index % 5 == 1:  # the SDK re-sends its key every fifth upload
            headers = toy.headers(
                message, {**headers, "x-api-key": pii("api-key", api_key)}
            )
        toy.book.media(
            message,
            kind.category,
            kind.content_type,
            "http body",
            "request body",
            ("untyped",),
            note=f"{kind.name} sent as {_BINARY}: only its first bytes say what it is",
        )
        body = kind.build(toy.rng)
        path = f"/v1/clips/{index}"
        requests.append((HttpMessage("POST", path, headers, body), message))
    return requests
