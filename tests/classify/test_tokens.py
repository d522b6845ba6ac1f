"""JWT payloads and Basic credentials: decoded when genuine, refused otherwise."""

from __future__ import annotations

import base64
import json

import pytest

from toyaudit.classify.tokens import basic_credentials, jwt_payload


def _segment(document: object) -> str:
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_CLAIMS = {"sub": "u_4711", "email": "ana.lopez@example.com"}
_TOKEN = f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(_CLAIMS)}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "value", [_TOKEN, f"Bearer {_TOKEN}", f"bearer  {_TOKEN}", f"TOKEN {_TOKEN}"]
)
def test_tokens_jwt_payload_is_the_claims_text(value: str) -> None:
    payload = jwt_payload(value)

    assert payload is not None
    assert json.loads(payload) == _CLAIMS


@pytest.mark.parametrize(
    "value",
    [
        f"{_segment({'typ': 'JWT'})}.{_segment(_CLAIMS)}.c2ln",  # no alg
        f"{_TOKEN}.ZXh0cmE.bW9yZQ",  # five segments: encrypted (JWE)
        _TOKEN.replace(".", ".!", 1),  # not base64url
        "eyJhbGciOi.not-json.sig",
        f"see the token {_TOKEN}",  # a sentence, not a scheme and a token
    ],
)
def test_tokens_jwt_payload_refuses_what_is_not_a_signed_jwt(value: str) -> None:
    assert jwt_payload(value) is None


def test_tokens_basic_credentials_split_user_and_password() -> None:
    encoded = base64.b64encode(b"ana.lopez@example.com:otter:42").decode()

    assert basic_credentials(f"Basic {encoded}") == (
        "ana.lopez@example.com",
        "otter:42",
    )


@pytest.mark.parametrize(
    "value",
    [
        "Bearer YW5hOnB3",
        f"Basic {base64.b64encode(b'no-colon').decode()}",
        "Basic not*base64",
        f"Basic {base64.b64encode(bytes(range(1, 20))).decode()}",
    ],
)
def test_tokens_basic_credentials_refuse_other_values(value: str) -> None:
    assert basic_credentials(value) is None
