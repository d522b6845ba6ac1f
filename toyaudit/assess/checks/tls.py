"""TLS checks: versions older than 1.2 and weak cipher suites, offered or chosen.

Both read the handshake messages that travel in clear. What the toy
*offers* is in its ClientHello: with the ``supported_versions`` extension
the versions listed there (RFC 8446 section 4.2.1), without it only the
``legacy_version`` field, which is the highest version it accepts (RFC 5246
appendix E.1); and its ``cipher_suites`` list. What was *negotiated* is in
the ServerHello: its version (``supported_versions`` when present) and the
one suite the server picked. A toy that only offers an old version or a weak
suite can be pushed onto it by anyone on the path; a connection that uses
one is readable or forgeable today.

The minimum version and the weak suites, by IANA code point, are
parameters of the rule (rules/checks.yaml), not code.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from toyaudit.assess.checks.base import Observed, SecurityCheck, listing
from toyaudit.assess.checks.rule import CheckRule, Parameters
from toyaudit.assess.tally import CheckTally, FailureTally
from toyaudit.ingest.records import TlsClientHello, TlsServerHello

VERSION_NAMES = {
    0x0002: "SSL 2.0",
    0x0300: "SSL 3.0",
    0x0301: "TLS 1.0",
    0x0302: "TLS 1.1",
    0x0303: "TLS 1.2",
    0x0304: "TLS 1.3",
}
"""Protocol version code points (RFC 8446 appendix B.1, RFC 6101 appendix A)."""


def version_name(version: int) -> str:
    """The version's name (TLS 1.0 for 0x0301), or its code point if unknown."""
    return VERSION_NAMES.get(version, f"version 0x{version:04x}")


class Side(StrEnum):
    """Which handshake message a TLS check reads."""

    OFFERED = "offered"
    """The toy's ClientHello: what it is willing to use."""
    NEGOTIATED = "negotiated"
    """The ServerHello: what the connection uses."""


_KINDS = {
    Side.OFFERED: (TlsClientHello,),
    Side.NEGOTIATED: (TlsServerHello, TlsClientHello),
}
"""What each side reads: a ServerHello is named by its ClientHello's SNI, so
the negotiated side wants ClientHellos too (the checker remembers the name)."""


class TlsVersionCheck(SecurityCheck):
    """Versions older than ``minimum_version`` offered by the toy, or negotiated.

    Parameter ``minimum_version``: the oldest acceptable version, as its code
    point (``0x0303``) or its name (``TLS 1.2``, or just ``1.2``).
    """

    def __init__(self, rule: CheckRule, side: Side) -> None:
        super().__init__(rule)
        parameters = Parameters(rule)
        example = "minimum_version: 0x0303"
        raw = parameters.raw("minimum_version", example)
        named = {name: code for code, name in VERSION_NAMES.items()}
        text = str(raw).strip()
        if isinstance(raw, str) and (text in named or f"TLS {text}" in named):
            self.minimum = named.get(text) or named[f"TLS {text}"]
        else:
            self.minimum = parameters.code("minimum_version", raw, example)
        self.side = side
        self.kinds = _KINDS[side]

    def observe(self, observed: Observed, tally: CheckTally) -> None:
        """Record every version below the minimum that the message names."""
        hello = observed.observation
        match hello:
            case TlsClientHello() if self.side is Side.OFFERED:
                # RFC 8446 4.2.1: with supported_versions present, the
                # legacy field is frozen at TLS 1.2 and means nothing.
                versions = hello.supported_versions or (hello.legacy_version,)
            case TlsServerHello() if self.side is Side.NEGOTIATED:
                versions = (hello.version,)
            case _:
                return
        old = {version_name(each) for each in versions if each < self.minimum}
        if old:
            key = (self.id, observed.host, "")
            tally.fail(key, hello.evidence, observed.order, old)

    def explain(self, failure: FailureTally) -> str:
        """Which old versions, and the minimum they fall short of."""
        minimum = version_name(self.minimum)
        if self.side is Side.OFFERED:
            return f"The toy offered {listing(failure)}, older than {minimum}."
        return f"The connection used {listing(failure)}, older than {minimum}."


class TlsSuiteCheck(SecurityCheck):
    """Weak cipher suites offered by the toy, or chosen by the server.

    Parameter ``weak_suites``: a mapping from a weakness (``RC4``,
    ``EXPORT``...) to the suites that have it, each an IANA code point
    mapped to its IANA name. A suite may be listed under several weaknesses.
    """

    def __init__(self, rule: CheckRule, side: Side) -> None:
        super().__init__(rule)
        self.suites = _weak_suites(Parameters(rule))
        self.side = side
        self.kinds = _KINDS[side]

    def observe(self, observed: Observed, tally: CheckTally) -> None:
        """Record every weak suite the message names."""
        hello = observed.observation
        match hello:
            case TlsClientHello() if self.side is Side.OFFERED:
                suites = hello.cipher_suites
            case TlsServerHello() if self.side is Side.NEGOTIATED:
                suites = (hello.cipher_suite,)
            case _:
                return
        weak = {self.suites[suite] for suite in suites if suite in self.suites}
        if weak:
            key = (self.id, observed.host, "")
            tally.fail(key, hello.evidence, observed.order, weak)

    def explain(self, failure: FailureTally) -> str:
        """Which weak suites, with their weaknesses."""
        if self.side is Side.OFFERED:
            return f"The toy offered weak cipher suites: {listing(failure)}."
        return f"The server chose a weak cipher suite: {listing(failure)}."


def _weak_suites(parameters: Parameters) -> Mapping[int, str]:
    """Code point to its description, e.g. "0x0005 TLS_RSA_WITH_RC4_128_SHA (RC4)"."""
    example = "weak_suites: {RC4: {0x0005: TLS_RSA_WITH_RC4_128_SHA}}"
    table = parameters.mapping(
        "weak_suites", parameters.raw("weak_suites", example), example
    )
    names: dict[int, str] = {}
    weaknesses: dict[int, list[str]] = {}
    for weakness, suites in table.items():
        for code, name in parameters.mapping("weak_suites", suites, example).items():
            number = parameters.code("weak_suites", code, example)
            if not isinstance(name, str) or names.get(number, name) != name:
                parameters.fail(
                    "weak_suites",
                    f"names suite 0x{number:04x} {name!r}, not as elsewhere",
                    "give each code point its one IANA name, as text",
                )
            names[number] = name
            weaknesses.setdefault(number, []).append(weakness)
    if not names:
        parameters.fail("weak_suites", "lists no suite", f"write e.g. {example}")
    return {
        number: f"0x{number:04x} {names[number]} ({', '.join(weaknesses[number])})"
        for number in names
    }
