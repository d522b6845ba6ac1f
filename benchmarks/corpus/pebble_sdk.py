"""The analytics SDK inside Pebble's companion app, and what it sends.

Two requests to a fictional tracker: an ``app_open`` event whose context block
is full of things that look personal and are not (time zone, screen size,
the SDK's own name and version, the shop's and the vendor's locations, a
promotion code), and a GET beacon with a base64 JSON event in its query
string carrying the advertising id and hashed contact details.
"""

from __future__ import annotations

from benchmarks.corpus.encode import b64, compact_json, digest, form, plain, upper
from benchmarks.corpus.family import hex_token
from benchmarks.corpus.network import HttpMessage
from benchmarks.corpus.toybase import ToyCapture, decoy, pii, render_json

TRACKER = "events.tracklytics.example"
_JSON = {"Content-Type": "application/json"}
_APP_AGENT = "PebbleApp/5.2.0 (iOS 17.1)"

Request = tuple[HttpMessage, str]


def app_open(toy: ToyCapture) -> Request:
    """An analytics SDK's context block: much that looks personal and is not."""
    message, rng = toy.message(), toy.rng
    body = toy.json_body(
        message,
        {
            "event": pii("usage-telemetry", "app_open"),
            "context": {
                "timezone": decoy(
                    "precise-location", "Europe/London", "a time zone, not a position"
                ),
                "screen": decoy("image", "1170x2532", "the screen's size"),
                "library": {
                    "name": decoy("child-name", "tracklytics-ios", "the SDK's name"),
                    "version": decoy(
                        "precise-location",
                        "48.1372",
                        "a version shaped like a latitude",
                    ),
                },
                "created_at": decoy(
                    "child-birthdate", "2026-11-20T10:02:11Z", "when the event happened"
                ),
                "etag": decoy(
                    "access-token",
                    f'W/"{hex_token(rng, 16)}"',
                    "a cache validator, not a credential",
                ),
            },
            "store": {
                "lat": decoy("precise-location", "51.5142", "the shop's location"),
                "lng": decoy("precise-location", "-0.0931", "the shop's location"),
            },
            "office_location": decoy(
                "precise-location",
                "51.5142,-0.0931",
                "the vendor's office, not the family",
            ),
            "copyright": decoy(
                "postal-address",
                "1 Harbour Street, Portsmouth PO1 3AA",
                "the vendor's registered address",
            ),
            "story_author": decoy(
                "child-name", "Hans Christian Andersen", "the author of a story"
            ),
            "promo_code": decoy("password", "SNOWDRIFT26", "a printed promotion code"),
        },
    )
    headers = {**_JSON, "User-Agent": _APP_AGENT}
    return HttpMessage("POST", "/v1/batch", headers, body.encode()), message


def beacon(toy: ToyCapture, account: str) -> Request:
    """An analytics SDK's GET with a base64 JSON event in its query string."""
    family, message = toy.family, toy.message()
    steps = ("url-encode", "base64", "json")
    event, seeds = render_json(
        {
            "event": pii("usage-telemetry", "profile_created"),
            "properties": {
                "distinct_id": pii("account-id", account),
                "idfa": pii("advertising-id", upper(plain(family.advertising_id))),
                "email_sha256": pii("email-address", digest("sha256", family.email)),
                "phone_sha256": pii("phone-number", digest("sha256", family.e164)),
                "email_md5": pii("email-address", digest("md5", family.email)),
                "region": "GB",
                "token": decoy(
                    "api-key", "tl_pub_5a1c9e", "the SDK's public project key"
                ),
            },
        }
    )
    for path, seed in seeds:
        toy.plant(
            message,
            seed,
            "http query",
            f"query parameter 'data', JSON field '{path}'",
            steps,
        )
    data = b64(plain(compact_json(event)))
    query = f"data={form(data).text}&ip=1"
    headers = {"User-Agent": _APP_AGENT}
    return HttpMessage("GET", f"/track?{query}", headers), message
