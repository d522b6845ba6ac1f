"""Pebble's companion app: account, child profile, Wi-Fi hand-over, photos.

The phone side of :mod:`.toy_pebble`: a JSON login, the child's profile
under a bearer JWT (its claims carry the e-mail and account id), the profile
again as gzip JSON inside a JSON string, the birthdate in the other
notations of the app's screens, a gift-card address under key names no rule
knows, and photos and videos of the child in every picture format, each
with its content type.
"""

from __future__ import annotations

from benchmarks.corpus import encode
from benchmarks.corpus.encode import compact_json, lower, plain, upper
from benchmarks.corpus.family import hex_token, request_uuid
from benchmarks.corpus.media import PICTURES
from benchmarks.corpus.network import HttpMessage
from benchmarks.corpus.toybase import ToyCapture, decoy, pii, render_json

_JSON = {"Content-Type": "application/json"}
_APP_AGENT = "PebbleApp/5.2.0 (iOS 17.1)"

Request = tuple[HttpMessage, str]
"""An HTTP request and its message id."""


def login(toy: ToyCapture) -> Request:
    """The parent's login: e-mail upper-cased, password, advertising id, IDFV."""
    family, message = toy.family, toy.message()
    body = toy.json_body(
        message,
        {
            "email": pii("email-address", upper(plain(family.email))),
            "password": pii("password", family.account_password),
            "client_id": decoy(
                "api-key", "pebble-ios-app", "a public OAuth client id, not a secret"
            ),
            "display_name": pii("parent-name", family.parent_name),
            "device": {
                "adid": pii("advertising-id", family.advertising_id),
                "idfv": pii("device-id", request_uuid(toy.rng).upper()),
                "os_version": pii("usage-telemetry", "17.1"),
                "locale": "en_GB",
            },
        },
    )
    headers = {**_JSON, "User-Agent": _APP_AGENT}
    return HttpMessage("POST", "/v2/accounts/login", headers, body.encode()), message


def wifi_setup(toy: ToyCapture) -> Request:
    """The app hands the penguin the home Wi-Fi under a plain 'password' key."""
    family, message = toy.family, toy.message()
    body = toy.json_body(
        message,
        {
            "ssid": pii("wifi-network", lower(plain(family.ssid))),
            "password": pii("wifi-password", family.wifi_password),
            "hidden": False,
        },
    )
    headers = {**_JSON, "User-Agent": _APP_AGENT}
    return HttpMessage("POST", "/v2/setup/wifi", headers, body.encode()), message


def gift(toy: ToyCapture) -> Request:
    """A gift-card order: the address and phone under key names no rule knows."""
    family, message = toy.family, toy.message()
    bracketed = encode.phone_notations(family.phone)["phone-national-bracketed"]
    body = toy.json_body(
        message,
        {
            "delivery": {
                "line1": pii("postal-address", family.street),
                "town": pii("postal-address", family.town),
                "post_code": pii("postal-address", family.postcode),
                "contact": pii(
                    "phone-number",
                    encode.respelled(bracketed, "phone-national-bracketed"),
                ),
            },
            "help": decoy("phone-number", "0800-555-0199", "the shop's freephone line"),
            "recipient": pii("child-name", family.child_first),
            "sender_note": decoy(
                "chat-message",
                "Happy birthday from Snowdrift!",
                "the shop's printed greeting",
            ),
            "trace_id": decoy(
                "device-id", hex_token(toy.rng, 32), "a per-request trace id"
            ),
        },
    )
    headers = {**_JSON, "User-Agent": _APP_AGENT}
    return HttpMessage("POST", "/v2/gifts", headers, body.encode()), message


def create_child(toy: ToyCapture, token: str, account: str) -> Request:
    """The child's profile as the app's form sends it, under a bearer JWT."""
    family, message = toy.family, toy.message()
    headers = toy.headers(
        message,
        {
            "User-Agent": _APP_AGENT,
            "Content-Type": "application/json",
            "X-Request-Id": decoy(
                "advertising-id",
                request_uuid(toy.rng),
                "a request id is a UUID, not an advertising id",
            ),
        },
    )
    headers["Authorization"] = f"Bearer {token}"
    _plant_bearer(toy, message, token, account)
    body = toy.json_body(
        message,
        {
            "child": {
                "first_name": pii(
                    "child-name", encode.padded(plain(family.child_first))
                ),
                "family_name": pii("child-name", family.surname),
                "nickname": pii("child-name", family.child_first[:3]),
                "birthdate": pii("child-birthdate", family.birthdate.isoformat()),
                "age": pii("child-birthdate", str(family.age), number=True),
                "gender": pii("child-gender", family.gender),
                "school": pii("school", family.school),
                "avatar_id": decoy("image", "penguin_03", "a stock avatar's id"),
                "voice_enabled": True,
                "camera_enabled": decoy("image", "true", "a feature flag"),
            },
            "parent": {
                "name": pii("parent-name", family.parent_name),
                "phone": pii("phone-number", family.phone),
            },
            "home": {
                "street": pii("postal-address", family.street),
                "city": pii("postal-address", family.town),
                "postcode": pii("postal-address", family.postcode),
            },
            "support_phone": decoy(
                "phone-number",
                "+44 800 555 0199",
                "the vendor's helpline, not the family's",
            ),
        },
    )
    return HttpMessage("POST", "/v2/children", headers, body.encode()), message


def profile_update(toy: ToyCapture, child_id: str) -> Request:
    """A gzip body whose profile is JSON inside a JSON string."""
    family, message = toy.family, toy.message()
    dates = encode.date_notations(family.birthdate)
    day_first, named = dates["date-day-first"], dates["date-month-name-slashed"]
    inner, seeds = render_json(
        {
            "name": pii("child-name", family.child_name),
            "dob": pii(
                "child-birthdate", encode.respelled(day_first, "date-day-first")
            ),
            "label": pii(
                "child-birthdate", encode.respelled(named, "date-month-name-slashed")
            ),
            "school_name": pii("school", family.school),
            "favourite_colour": "teal",
        }
    )
    for path, seed in seeds:
        toy.plant(
            message,
            seed,
            "http body",
            f"JSON body field 'profile_json', JSON field '{path}'",
            ("gzip", "json", "json"),
        )
    body = toy.json_body(
        message,
        {
            "profile_json": compact_json(inner),
            "updated_by": pii("parent-name", family.parent_name),
            "revision": "4",
        },
        outer=("gzip", "json"),
    )
    toy.plant(message, pii("account-id", child_id), "http path", "path segment 3")
    headers = {**_JSON, "Content-Encoding": "gzip", "User-Agent": _APP_AGENT}
    path = f"/v2/children/{child_id}/profile"
    return HttpMessage("PUT", path, headers, encode.gzip_bytes(body.encode())), message


def _plant_bearer(toy: ToyCapture, message: str, token: str, account: str) -> None:
    """Label a bearer JWT and the claims it carries, in every request it rides."""
    toy.plant(
        message, pii("access-token", token), "http header", "header 'Authorization'"
    )
    jwt_steps = ("jwt", "base64url", "json")
    toy.plant(
        message,
        pii("email-address", toy.family.email),
        "http header",
        "header 'Authorization', JWT claim 'email'",
        jwt_steps,
    )
    toy.plant(
        message,
        pii("account-id", account),
        "http header",
        "header 'Authorization', JWT claim 'sub'",
        jwt_steps,
    )


def photos(toy: ToyCapture, token: str, account: str) -> list[Request]:
    """The parent photographs the child for the toy's avatar: every picture format."""
    requests = []
    for kind in PICTURES:
        message = toy.message()
        headers = {
            "Content-Type": kind.content_type,
            "User-Agent": _APP_AGENT,
            "Authorization": f"Bearer {token}",
        }
        _plant_bearer(toy, message, token, account)
        toy.book.media(
            message,
            kind.category,
            kind.content_type,
            "http body",
            "request body",
            note=f"{kind.name} upload with its type",
        )
        body = kind.build(toy.rng)
        path = f"/v2/media/photo.{kind.extension}"
        requests.append((HttpMessage("POST", path, headers, body), message))
    return requests


def birthday(toy: ToyCapture, child_id: str) -> Request:
    """The birthdate again, in the notations other screens of the app use."""
    family, message = toy.family, toy.message()
    dates = encode.date_notations(family.birthdate)
    body = toy.json_body(
        message,
        {
            "birthday": pii(
                "child-birthdate", encode.respelled(dates["date-long"], "date-long")
            ),
            "dateOfBirth": pii(
                "child-birthdate",
                encode.respelled(dates["date-iso-time"], "date-iso-time"),
            ),
            "born": pii(
                "child-birthdate", encode.respelled(dates["date-dotted"], "date-dotted")
            ),
            "birth_ts": pii(
                "child-birthdate",
                encode.respelled(dates["date-epoch-ms"], "date-epoch-ms"),
            ),
            "party_reminder": decoy(
                "child-birthdate", "2026-04-09", "a reminder date, not a birthdate"
            ),
        },
    )
    toy.plant(message, pii("account-id", child_id), "http path", "path segment 3")
    headers = {**_JSON, "User-Agent": _APP_AGENT}
    return HttpMessage(
        "PATCH", f"/v2/children/{child_id}", headers, body.encode()
    ), message
