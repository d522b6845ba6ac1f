"""TLS connections without keys: grouped by host and cause, merged exactly."""

from __future__ import annotations

import itertools

import pytest

from toyaudit.ingest import keyless
from toyaudit.ingest.keyless import KeylessConnection, KeylessTally, Refusals
from toyaudit.ingest.records import Endpoint, Evidence, InterceptionVerdict, TlsVerdict

TOY = Endpoint("192.168.4.23", 40000)


def _connection(frame: int, host: str | None, port: int = 40000) -> KeylessConnection:
    return KeylessConnection(
        Endpoint(TOY.ip, port), Endpoint("203.0.113.12", 443), host, frame
    )


def test_refusals_key_by_client_and_server_name_or_address() -> None:
    verdicts = [
        TlsVerdict(
            Evidence("v", (1,)),
            TOY,
            Endpoint("203.0.113.12", 443),
            "media.example",
            InterceptionVerdict.REJECTED,
        ),
        TlsVerdict(
            Evidence("v", (2,)),
            TOY,
            Endpoint("203.0.113.99", 443),
            None,
            InterceptionVerdict.REJECTED,
        ),
        TlsVerdict(
            Evidence("v", (3,)),
            TOY,
            Endpoint("203.0.113.10", 443),
            "api.example",
            InterceptionVerdict.ACCEPTED,
        ),
    ]

    refusals = Refusals.from_verdicts(verdicts)

    assert refusals.refused(Endpoint(TOY.ip, 41234), "media.example")
    assert refusals.refused(Endpoint(TOY.ip, 41234), "203.0.113.99")
    assert not refusals.refused(Endpoint(TOY.ip, 41234), "api.example")
    assert not refusals.refused(Endpoint("192.168.4.24", 41234), "media.example")


def test_keyless_tally_notes_one_line_per_host_with_the_first_connection() -> None:
    tally = KeylessTally("traffic.pcap", decrypted=2)
    tally.add(_connection(90, "media.example", 40002), refused=True)
    tally.add(_connection(40, "media.example", 40001), refused=True)
    tally.add(_connection(70, None, 40003), refused=False)

    assert tally.problems() == []
    assert tally.notes() == [
        "traffic.pcap: content not visible: the toy refused interception of "
        "media.example, so the capture passed it through (2 TLS connections, the "
        "first 192.168.4.23:40001 -> 203.0.113.12:443 at frame 40)",
        "traffic.pcap: content not visible: the key log holds no secrets for "
        "203.0.113.12, so it stays encrypted (1 TLS connection, "
        "192.168.4.23:40003 -> 203.0.113.12:443 at frame 70)",
    ]


def test_keyless_tally_blames_a_key_log_that_matches_nothing() -> None:
    tally = KeylessTally("traffic.pcap")
    tally.add(_connection(40, "media.example"), refused=True)
    tally.add(_connection(70, "cdn.example", 40001), refused=False)

    assert tally.problems() == [
        "traffic.pcap: TLS connections not decrypted: the key log holds no secrets "
        "for any of the 1 TLS connections the capture did not pass through, the "
        "first 192.168.4.23:40001 -> 203.0.113.12:443 at frame 70; check that the "
        "key log belongs to this capture"
    ]
    [note] = tally.notes()
    assert "refused interception of media.example" in note


def test_keyless_tally_names_the_first_hosts_and_counts_the_rest() -> None:
    tally = KeylessTally("traffic.pcap", decrypted=1)
    for number in range(keyless.NOTED_HOSTS + 3):
        tally.add(_connection(100 + number, f"h{number}.example"), refused=False)

    notes = tally.notes()

    assert len(notes) == keyless.NOTED_HOSTS + 1
    assert notes[-1] == (
        "traffic.pcap: content not visible for 3 more TLS connections to 3 more "
        "hosts, for the same reasons"
    )


@pytest.mark.parametrize("hosts", [3, 9])
def test_keyless_tally_merges_as_one_whatever_the_split(
    monkeypatch: pytest.MonkeyPatch, hosts: int
) -> None:
    monkeypatch.setattr(keyless, "MAX_HOSTS", 6)  # (host, cause) groups: 18 or 6
    connections = [
        (_connection(10 + number, f"h{number % hosts}.example"), number % 2 == 0)
        for number in range(24)
    ]
    whole = KeylessTally("traffic.pcap", decrypted=3)
    for connection, refused in connections:
        whole.add(connection, refused)

    for pattern in itertools.islice(itertools.product(range(3), repeat=24), 0, 200, 37):
        shards = [KeylessTally("traffic.pcap") for _ in range(3)]
        shards[0].decrypted = 3
        for (connection, refused), shard in zip(connections, pattern, strict=True):
            shards[shard].add(connection, refused)
        for other in shards[1:]:
            shards[0].merge(other)
        assert shards[0].notes() == whole.notes()
        assert shards[0].problems() == whole.problems()
    assert whole.overflow == (hosts > 6)
