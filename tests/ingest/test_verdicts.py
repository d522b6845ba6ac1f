"""Tests of tls-verdicts.jsonl, the toy's answers to an untrusted certificate."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from toyaudit.ingest import read_evidence
from toyaudit.ingest.records import (
    Coverage,
    Endpoint,
    Evidence,
    InterceptionVerdict,
    Observation,
    TlsVerdict,
    Transport,
    host_of,
    transport_of,
)
from toyaudit.ingest.shard import Shard
from toyaudit.ingest.verdicts import MAX_LINE, MAX_NOTED, looks_like_tls_verdicts

ACCEPTED = {
    "time": "2026-11-20T10:00:05Z",
    "client": "192.168.4.23:49731",
    "server": "203.0.113.10:443",
    "sni": "API.Toy.Example.",
    "verdict": "accepted",
    "detail": "GET /v1/hello",
}
REJECTED = {
    "time": "2026-11-20T10:00:06.500+01:00",
    "client": "[fd00::23]:50000",
    "server": "[2001:db8::10]:8883",
    "sni": None,
    "verdict": "rejected",
    "detail": "tlsv1 alert unknown ca",
}


def _read(
    tmp_path: Path,
    lines: list[object],
    name: str = "tls-verdicts.jsonl",
    shard: Shard | None = None,
) -> tuple[list[Observation], Coverage]:
    path = tmp_path / name
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines
    )
    path.write_text(text, encoding="utf-8")
    coverage = Coverage()
    return list(read_evidence(path, name, coverage, shard=shard)), coverage


def test_read_tls_verdicts_reads_each_line(tmp_path: Path) -> None:
    (accepted, rejected), coverage = _read(tmp_path, [ACCEPTED, "", REJECTED])

    assert accepted == TlsVerdict(
        evidence=Evidence(
            "tls-verdicts.jsonl",
            (1,),
            time=dt.datetime(2026, 11, 20, 10, 0, 5, tzinfo=dt.UTC).timestamp(),
        ),
        client=Endpoint("192.168.4.23", 49731),
        server=Endpoint("203.0.113.10", 443),
        sni="api.toy.example",
        verdict=InterceptionVerdict.ACCEPTED,
        detail="GET /v1/hello",
    )
    assert isinstance(rejected, TlsVerdict)
    assert rejected.evidence.packets == (3,)
    assert rejected.evidence.time == (
        dt.datetime(2026, 11, 20, 9, 0, 6, 500000, tzinfo=dt.UTC).timestamp()
    )
    assert (rejected.client, rejected.server) == (
        Endpoint("fd00::23", 50000),
        Endpoint("2001:db8::10", 8883),
    )
    assert rejected.sni is None
    assert coverage.files_read == ["tls-verdicts.jsonl"]
    assert coverage.problems == []


def test_read_tls_verdicts_names_hosts_and_counts_as_tls(tmp_path: Path) -> None:
    (accepted, rejected), _ = _read(tmp_path, [ACCEPTED, REJECTED])

    assert host_of(accepted) == "api.toy.example"
    assert host_of(rejected) == "2001:db8::10"
    assert transport_of(accepted) is Transport.TLS


def test_read_tls_verdicts_takes_a_time_without_zone_as_utc(tmp_path: Path) -> None:
    line = {**ACCEPTED, "time": "2026-11-20T10:00:05"}

    (verdict,), _ = _read(tmp_path, [line])

    assert verdict.evidence.time == (
        dt.datetime(2026, 11, 20, 10, 0, 5, tzinfo=dt.UTC).timestamp()
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ({**ACCEPTED, "verdict": "maybe"}, "'verdict' is 'maybe'"),
        ({**ACCEPTED, "time": 1767225605}, "'time' is missing"),
        ({**ACCEPTED, "time": "yesterday"}, "'time' 'yesterday' is not ISO 8601"),
        ({**ACCEPTED, "client": "192.168.4.23"}, "'client' is missing"),
        ({**ACCEPTED, "server": "toy.example:443"}, "is not 'ip:port'"),
        ({**ACCEPTED, "server": "203.0.113.10:70000"}, "has no valid port"),
        ({**ACCEPTED, "sni": 5}, "'sni' is neither"),
        ({**ACCEPTED, "detail": ["x"]}, "'detail' is not a string"),
    ],
)
def test_read_tls_verdicts_skips_malformed_lines_with_a_note(
    tmp_path: Path, line: object, problem: str
) -> None:
    observations, coverage = _read(tmp_path, [line, ACCEPTED])

    assert [item.evidence.packets for item in observations] == [(2,)]
    [note] = coverage.problems
    assert note.startswith("tls-verdicts.jsonl: line 1: ")
    assert problem in note
    assert note.endswith("; the line was skipped")


def test_read_tls_verdicts_sums_up_many_malformed_lines(tmp_path: Path) -> None:
    lines: list[object] = ["{bad"] * (MAX_NOTED + 3)
    long_line = json.dumps({**ACCEPTED, "detail": "x" * MAX_LINE})

    observations, coverage = _read(tmp_path, [long_line, *lines, ACCEPTED])

    assert len(observations) == 1
    assert "line 1: longer than" in coverage.problems[0]
    assert coverage.problems[-1] == (
        "tls-verdicts.jsonl: 4 more malformed lines were skipped"
    )


def test_read_tls_verdicts_only_in_the_first_shard(tmp_path: Path) -> None:
    first, _ = _read(tmp_path, [ACCEPTED], shard=Shard(0, 2))
    second, coverage = _read(tmp_path, [ACCEPTED], shard=Shard(1, 2))

    assert len(first) == 1
    assert second == []
    assert coverage.files_read == ["tls-verdicts.jsonl"]


def test_tls_verdicts_recognised_by_name_before_ble_jsonl(tmp_path: Path) -> None:
    (verdict,), _ = _read(tmp_path, [ACCEPTED], name="run2.tls-verdicts.jsonl")

    assert isinstance(verdict, TlsVerdict)
    assert looks_like_tls_verdicts("session/tls-verdicts.jsonl")
    assert not looks_like_tls_verdicts("ble.jsonl")
    assert not looks_like_tls_verdicts("tls-verdicts.jsonl.bak")
