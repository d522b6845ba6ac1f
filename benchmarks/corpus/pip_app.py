"""Pip's companion app: login, the child's profile, uploads, sign-ups, ads.

The phone side of :mod:`.toy_pip`: a form login, the child's profile as a
brotli-compressed form behind PHP session cookies, the parents' contacts
under HTTP Basic authentication, multipart uploads (a drawing, a voice
message with a selfie, text-only profile parts, a FLAC greeting), an OAuth
return whose ``state`` is base64url JSON, a newsletter sign-up with the
e-mail in the path and the query, and an ad SDK's requests with the real
advertising id (and its MD5) and with the all-zero id.
"""

from __future__ import annotations

from benchmarks.corpus import encode
from benchmarks.corpus.book import Wire
from benchmarks.corpus.encode import (
    b64,
    b64url,
    compact_json,
    digest,
    lower,
    plain,
    upper,
)
from benchmarks.corpus.family import text_token
from benchmarks.corpus.media import flac, jpeg, png, wav
from benchmarks.corpus.network import HttpMessage
from benchmarks.corpus.toybase import Seed, ToyCapture, decoy, pii, render_json

_APP_AGENT = "CircuitCub/4.4 (Android 14)"
_FORM = "application/x-www-form-urlencoded"

Request = tuple[HttpMessage, str]
"""An HTTP request and its message id."""


def login(toy: ToyCapture) -> Request:
    """A form login with the parent's e-mail and password."""
    family, message = toy.family, toy.message()
    headers = {"Content-Type": _FORM, "User-Agent": _APP_AGENT}
    body = toy.pairs(
        message,
        [
            ("email", pii("email-address", lower(plain(family.email)))),
            ("pass", pii("password", family.account_password)),
            ("remember", "1"),
        ],
        "http body",
        "form field",
        ("form",),
    )
    return HttpMessage("POST", "/api/v1/login", headers, body.encode()), message


def kid(toy: ToyCapture, session_id: str) -> Request:
    """The child's profile as a brotli-compressed form, behind session cookies."""
    family, message = toy.family, toy.message()
    dates = encode.date_notations(family.birthdate)
    month_first, js_date = dates["date-month-first"], dates["date-js-string"]
    cookie = toy.cookies(
        message,
        [
            ("PHPSESSID", pii("account-id", session_id)),
            ("cc_uid", pii("account-id", f"{toy.rng.randint(100000, 999999)}")),
        ],
    )
    body = toy.pairs(
        message,
        [
            ("kid_name", pii("child-name", upper(plain(family.child_name)))),
            (
                "dob",
                pii(
                    "child-birthdate", encode.respelled(month_first, "date-month-first")
                ),
            ),
            (
                "gender",
                pii("child-gender", "girl" if family.gender == "female" else "boy"),
            ),
            ("age_months", pii("child-birthdate", str(family.age * 12 + 3))),
            (
                "since",
                pii(
                    "child-birthdate",
                    encode.embedded(dates["date-long-no-comma"], js_date),
                ),
            ),
            ("school", pii("school", family.school)),
            ("theme", "space"),
        ],
        "http body",
        "form field",
        ("br", "form"),
    )
    headers = {
        "Content-Type": _FORM,
        "Content-Encoding": "br",
        "Cookie": cookie,
        "User-Agent": _APP_AGENT,
    }
    compressed = encode.brotli_bytes(body.encode())
    return HttpMessage("POST", "/api/v1/kids", headers, compressed), message


def guardian(toy: ToyCapture) -> Request:
    """The parents' contacts, under HTTP Basic authentication of the account.

    The phone number is in national form and the second parent's address is
    not in the persona: only key names and patterns can find them.
    """
    family, message = toy.family, toy.message()
    credentials = f"{family.email}:{family.account_password}"
    encoded = b64(plain(credentials))
    basic = Wire(
        f"Basic {encoded.text}", credentials, ("basic-auth", "base64"), (encoded.text,)
    )
    headers = toy.headers(
        message,
        {
            "Authorization": pii("password", basic),
            "Content-Type": _FORM,
            "User-Agent": _APP_AGENT,
        },
    )
    toy.plant(
        message,
        pii("email-address", family.email),
        "http header",
        "header 'Authorization', user name",
        ("basic-auth", "base64"),
    )
    national = "0" + family.phone.split(" ", 1)[1]
    body = toy.pairs(
        message,
        [
            ("parent_name", pii("parent-name", family.parent_name)),
            ("shipping_address", pii("postal-address", family.address)),
            ("parent_pin", pii("password", f"{toy.rng.randint(1000, 9999)}")),
            (
                "guardian_phone",
                pii("phone-number", encode.respelled(national, "phone-national")),
            ),
            ("second_parent_name", pii("parent-name", family.other_parent_first)),
            ("second_email", pii("email-address", family.other_email)),
            ("newsletter", "0"),
        ],
        "http body",
        "form field",
        ("form",),
    )
    return HttpMessage("POST", "/api/v1/guardian", headers, body.encode()), message


def _multipart(
    toy: ToyCapture, message: str, parts: list[encode.MultipartPart]
) -> HttpMessage:
    """A POST to the upload endpoint with ``parts`` as multipart/form-data."""
    boundary = f"----PipBoundary{text_token(toy.rng, 16)}"
    body = encode.multipart(boundary, parts)
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "User-Agent": _APP_AGENT,
    }
    return HttpMessage("POST", "/api/v1/upload", headers, body)


def drawing(toy: ToyCapture) -> Request:
    """A photo of the child's drawing, as one file part of a multipart form."""
    family, message = toy.family, toy.message()
    toy.book.media(
        message,
        "image",
        "image/jpeg",
        "http body",
        "multipart part 'photo'",
        ("multipart",),
    )
    toy.plant(
        message,
        pii("child-name", family.child_first),
        "http body",
        "multipart part 'kid'",
        ("multipart",),
    )
    parts: list[encode.MultipartPart] = [
        ("kid", None, None, family.child_first.encode()),
        ("photo", "drawing.jpg", "image/jpeg", jpeg(toy.rng)),
    ]
    return _multipart(toy, message, parts), message


def recording(toy: ToyCapture) -> Request:
    """A voice message recorded in the app, as a multipart file part."""
    message = toy.message()
    toy.book.media(
        message,
        "voice-recording",
        "audio/wav",
        "http body",
        "multipart part 'voice'",
        ("multipart",),
    )
    toy.book.media(
        message,
        "image",
        "image/png",
        "http body",
        "multipart part 'selfie'",
        ("multipart",),
    )
    parts: list[encode.MultipartPart] = [
        ("voice", "message.wav", "audio/wav", wav(toy.rng)),
        ("selfie", "me.png", "image/png", png(toy.rng)),
        ("lang", None, None, b"en"),
    ]
    return _multipart(toy, message, parts), message


def form_parts(toy: ToyCapture) -> Request:
    """Text-only multipart: the profile's fields as parts.

    The birthdate is the date picker's midnight on a phone set to UTC+1,
    sent as UTC, so it reads as the evening before.
    """
    family, message = toy.family, toy.message()
    shifted = encode.date_notations(family.birthdate)["date-iso-time-utc+1"]
    for name, seed in (
        ("first_name", pii("child-name", family.child_first)),
        ("email", pii("email-address", family.email)),
        ("postcode", pii("postal-address", family.postcode)),
        (
            "t0",
            pii("child-birthdate", encode.respelled(shifted, "date-iso-time-utc+1")),
        ),
    ):
        toy.plant(
            message, seed, "http body", f"multipart part '{name}'", ("multipart",)
        )
    parts: list[encode.MultipartPart] = [
        ("first_name", None, None, family.child_first.encode()),
        ("email", None, None, family.email.encode()),
        ("postcode", None, None, family.postcode.encode()),
        ("t0", None, None, shifted.encode()),
    ]
    return _multipart(toy, message, parts), message


def greeting(toy: ToyCapture) -> Request:
    """A FLAC greeting the child recorded for a friend, as a multipart file part."""
    message = toy.message()
    toy.book.media(
        message,
        "voice-recording",
        "audio/flac",
        "http body",
        "multipart part 'greeting'",
        ("multipart",),
    )
    parts: list[encode.MultipartPart] = [
        ("greeting", "hello.flac", "audio/flac", flac(toy.rng)),
        ("to", None, None, b"friend-2291"),
    ]
    return _multipart(toy, message, parts), message


def oauth_return(toy: ToyCapture) -> Request:
    """An OAuth redirect whose 'state' is base64url JSON naming the child."""
    family, message = toy.family, toy.message()
    state, seeds = render_json(
        {
            "child": pii("child-name", family.child_name),
            "return_to": "/home",
        }
    )
    for path, seed in seeds:
        toy.plant(
            message,
            seed,
            "http query",
            f"query parameter 'state', JSON field '{path}'",
            ("base64url", "json"),
        )
    encoded = b64url(plain(compact_json(state))).text
    code = text_token(toy.rng, 20)
    toy.plant(
        message, pii("access-token", code), "http query", "query parameter 'code'"
    )
    path = f"/oauth/callback?code={code}&state={encoded}"
    return HttpMessage("GET", path, {"User-Agent": _APP_AGENT}), message


def newsletter(toy: ToyCapture) -> Request:
    """A newsletter sign-up with the e-mail in the query string."""
    family, message = toy.family, toy.message()
    toy.plant(
        message,
        pii("email-address", family.email),
        "http path",
        "path segment 4",
        ("url-encode",),
    )
    query = toy.pairs(
        message,
        [
            ("contact", pii("email-address", encode.padded(plain(family.other_email)))),
            (
                "sender",
                decoy(
                    "email-address",
                    "noreply@circuitcub.example",
                    "the vendor's sending address",
                ),
            ),
            ("utm_source", decoy("account-id", "box_insert", "a campaign tag")),
            ("ref", decoy("device-id", "CC-PIP2-EU", "a product reference")),
        ],
        "http query",
        "query parameter",
    )
    user = encode.url(plain(family.email)).text
    path = f"/api/v1/users/{user}/newsletter?{query}"
    return HttpMessage("GET", path, {"User-Agent": _APP_AGENT}), message


def ad(toy: ToyCapture, real: bool) -> Request:
    """An ad request: with the phone's advertising id, or with the zero id."""
    family, message = toy.family, toy.message()
    zero = "00000000-0000-0000-0000-000000000000"
    gaid = (
        pii("advertising-id", family.advertising_id)
        if real
        else decoy("advertising-id", zero, "limit-ad-tracking: the all-zero id")
    )
    hashed: list[tuple[str, Seed | str]] = []
    if real:
        hashed = [("dh", pii("advertising-id", digest("md5", family.advertising_id)))]
    query = toy.pairs(
        message,
        [
            ("gaid", gaid),
            *hashed,
            ("lmt", "0" if real else "1"),
            ("app", "com.circuitcub.pip"),
            (
                "ad_unit",
                decoy(
                    "api-key",
                    "ca-app-pub-3940256099942544/6300978111",
                    "a public ad unit id",
                ),
            ),
            ("coppa", "1"),
        ],
        "http query",
        "query parameter",
    )
    return HttpMessage("GET", f"/v1/ad?{query}", {"User-Agent": _APP_AGENT}), message
