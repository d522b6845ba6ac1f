"""Shared fixtures for the classify tests: the shipped rules, sessions, requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import strategies as st

from toyaudit.classify import Classifier, RuleSet, default_rules_dir, load_rules
from toyaudit.classify.persona import PersonaIndex
from toyaudit.ingest.records import Endpoint, Evidence, HttpRequest, Transport
from toyaudit.session import PersonaValue, Session, Toy

PERSONA = {
    "child.name": "Mia Lopez",
    "child.first_name": "Mia",
    "child.birthdate": "2018-03-14",
    "parent.email": "Ana.Lopez@Example.com",
    "parent.phone": "+44 20 7946 0958",
    "toy.serial": "TB22910047",
    "toy.mac": "A4:CF:12:3B:9E:01",
    "wifi.ssid": "Lopez-Home-5G",
}

RequestFactory = Callable[..., HttpRequest]


@pytest.fixture(scope="session")
def shipped_rules() -> RuleSet:
    """The rules in rules/, loaded once for the whole test run."""
    return load_rules([default_rules_dir()])


def make_session(persona: dict[str, str] | None = None) -> Session:
    """A session of a toy by ToyCo whose own domain is toyco.example."""
    values = PERSONA if persona is None else persona
    return Session(
        path=Path("session"),
        name="session",
        toy=Toy(name="Talking Bear", vendor="ToyCo"),
        first_party_domains=("toyco.example",),
        captured_at=None,
        captured_by="tests",
        phases=(),
        persona=tuple(PersonaValue(field, value) for field, value in values.items()),
        evidence=("flows.mitm",),
        manifest_sha256="0" * 64,
    )


@pytest.fixture(scope="session")
def standard_session() -> Session:
    """The standard test session, shared by the whole run.

    Hypothesis runs one test body many times, so its tests cannot take
    function-scoped fixtures such as ``classifier``.
    """
    return make_session()


@pytest.fixture(scope="session")
def persona_index(shipped_rules: RuleSet) -> PersonaIndex:
    """Every form of the standard test persona, under the shipped categories."""
    return PersonaIndex(make_session().persona, shipped_rules.persona)


@pytest.fixture(scope="session")
def telemetry_values(persona_index: PersonaIndex) -> st.SearchStrategy[str]:
    """Values as a toy's telemetry holds them, for property tests.

    Each joins up to four pieces: random text, digits, e-mail and MAC
    addresses, coordinates, keys and tokens, every form of the test persona,
    and characters that trouble a joined scan (newlines, "İ", whose lower
    case is two characters, the Kelvin sign, a final sigma).
    """
    persona = sorted({form.literal for form in persona_index.forms})
    shapes = (
        r"[0-9]{1,16}",
        r"[a-z0-9._%+-]{1,8}@[a-z0-9-]{1,8}\.[a-z]{2,4}",
        r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}",
        r"[0-9A-Fa-f]{12}",
        r"-?[0-9]{1,2}\.[0-9]{3,6}, ?-?[0-9]{1,3}\.[0-9]{3,6}",
        r"AKIA[0-9A-Z]{16}",
        r"eyJ[A-Za-z0-9_-]{8,12}\.eyJ[A-Za-z0-9_-]{8,12}\.[A-Za-z0-9_-]{0,8}",
    )
    pieces = st.one_of(
        st.text(max_size=12),
        *(st.from_regex(shape, fullmatch=True) for shape in shapes),
        st.sampled_from(persona),
        st.sampled_from(persona).map(str.upper),
        st.sampled_from(["\n", " ", "=", ",", "@", ":", "İ", "\u212a", "ΟΔΟΣ"]),
    )
    return st.lists(pieces, max_size=4).map("".join)


@pytest.fixture
def classifier(shipped_rules: RuleSet) -> Classifier:
    """A classifier with the shipped rules and the standard test persona."""
    return Classifier(shipped_rules, make_session())


@pytest.fixture
def request_to() -> RequestFactory:
    """Build an HTTP request by hand; every field has a harmless default."""

    def build(
        host: str = "api.toyco.example",
        path: str = "/v1/ping",
        query: str = "",
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
    ) -> HttpRequest:
        return HttpRequest(
            evidence=Evidence(file="flows.mitm", flow_id="f1"),
            client=Endpoint("192.168.1.20", 50111),
            server=Endpoint("203.0.113.7", 443),
            transport=Transport.TLS,
            method="POST",
            host=host,
            path=path,
            query=query,
            headers=headers,
            body=body,
            scheme="https",
        )

    return build


ClassifierFactory = Callable[[dict[str, str]], Classifier]


@pytest.fixture
def classifier_for(shipped_rules: RuleSet) -> ClassifierFactory:
    """Build a classifier for the default persona plus extra persona values."""

    def build(extra: dict[str, str]) -> Classifier:
        return Classifier(shipped_rules, make_session({**PERSONA, **extra}))

    return build


RulesClassifierFactory = Callable[[RuleSet], Classifier]


@pytest.fixture
def classifier_with() -> RulesClassifierFactory:
    """Build a classifier for the standard test persona under other rules."""

    def build(rules: RuleSet) -> Classifier:
        return Classifier(rules, make_session())

    return build
