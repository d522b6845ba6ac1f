"""Tests of the HAR reader with hand-written HAR documents and mitmproxy's export."""

from __future__ import annotations

import base64
import io
import json
import runpy
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toyaudit.errors import IngestError
from toyaudit.ingest import Shard, har, read_evidence
from toyaudit.ingest.har import read_har
from toyaudit.ingest.records import (
    Coverage,
    Endpoint,
    Evidence,
    HttpRequest,
    Observation,
    Transport,
    WebSocketMessage,
)

FLOWS = Path(__file__).parent / "flows"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
STARTED = "2026-01-01T00:00:01.500Z"


def _entry(url: str, method: str = "GET", **fields: Any) -> dict[str, Any]:
    request = {"method": method, "url": url, **fields.pop("request", {})}
    return {"startedDateTime": STARTED, "request": request, **fields}


def _har(*entries: Any) -> str:
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "tests", "version": "1"},
            "pages": [{"id": "page_1", "title": "toy app"}],
            "entries": list(entries),
        }
    }
    return json.dumps(document, indent=2)


def _read_text(
    tmp_path: Path, text: str | bytes, name: str = "app.har"
) -> tuple[list[Observation], Coverage]:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    coverage = Coverage()
    return list(read_evidence(path, name, coverage)), coverage


def _only_request(observations: list[Observation]) -> HttpRequest:
    (request,) = observations
    assert isinstance(request, HttpRequest)
    return request


def test_har_entry_becomes_request_with_response(tmp_path: Path) -> None:
    entry = _entry(
        "https://Cloud.Toy.Example/v1/child?name=Lily%20Doe#top",
        "POST",
        request={
            "headers": [
                {"name": ":authority", "value": "cloud.toy.example"},
                {"name": "Content-Type", "value": "application/json"},
            ],
            "postData": {"mimeType": "application/json", "text": '{"child": "Lily"}'},
        },
        response={
            "status": 200,
            "headers": [{"name": "Content-Encoding", "value": "gzip"}],
            "content": {"size": 12, "mimeType": "application/json", "text": "{}"},
        },
        serverIPAddress="[2001:db8::7]",
    )

    observations, coverage = _read_text(tmp_path, _har(entry))

    request = _only_request(observations)
    assert request.evidence == Evidence("app.har", flow_id="entry 1", time=START + 1.5)
    assert request.transport == Transport.TLS and request.scheme == "https"
    assert request.client == Endpoint("0.0.0.0", 0)  # noqa: S104
    assert request.server == Endpoint("2001:db8::7", 443)
    assert (request.method, request.host, request.path, request.query) == (
        "POST",
        "cloud.toy.example",
        "/v1/child",
        "name=Lily%20Doe",
    )
    assert request.headers == (("Content-Type", "application/json"),)
    assert request.body == b'{"child": "Lily"}'
    assert request.response is not None
    assert request.response.status == 200
    assert request.response.headers == (("Content-Encoding", "gzip"),)
    assert request.response.body == b"{}"
    assert coverage.flows == 1 and coverage.problems == []
    assert coverage.files_read == ["app.har"]


def test_har_base64_bodies_are_decoded(tmp_path: Path) -> None:
    voice = b"OggS\x00\x02\xff\xfe"
    entry = _entry(
        "http://toy.example/upload",
        "PUT",
        request={
            "postData": {
                "mimeType": "audio/ogg",
                "text": base64.b64encode(voice).decode(),
                "encoding": "base64",
            }
        },
        response={
            "status": 201,
            "content": {
                "text": base64.b64encode(b"\x00\x01").decode(),
                "encoding": "base64",
            },
        },
    )

    request = _only_request(_read_text(tmp_path, _har(entry))[0])

    assert request.body == voice
    assert request.transport == Transport.PLAINTEXT and request.scheme == "http"
    assert request.response is not None and request.response.body == b"\x00\x01"


def test_har_form_params_stand_in_for_missing_text(tmp_path: Path) -> None:
    params = [{"name": "child", "value": "Lily Doe"}, {"name": "age", "value": "7"}]
    entry = _entry(
        "https://toy.example/form",
        "POST",
        request={
            "postData": {
                "mimeType": "application/x-www-form-urlencoded",
                "params": params,
            }
        },
    )

    request = _only_request(_read_text(tmp_path, _har(entry))[0])

    assert request.body == b"child=Lily Doe&age=7"


def test_har_entry_with_only_method_and_url_is_read(tmp_path: Path) -> None:
    document = {
        "log": {
            "entries": [{"request": {"method": "GET", "url": "http://[::1]:8080/p"}}]
        }
    }

    request = _only_request(_read_text(tmp_path, json.dumps(document))[0])

    assert request.evidence == Evidence("app.har", flow_id="entry 1")
    assert (request.host, request.path, request.query) == ("::1", "/p", "")
    assert request.server == Endpoint("0.0.0.0", 8080)  # noqa: S104
    assert request.headers == () and request.body == b""
    assert request.response is None


def test_har_status_zero_means_no_response(tmp_path: Path) -> None:
    entry = _entry("https://tracker.example/", response={"status": 0, "content": {}})

    request = _only_request(_read_text(tmp_path, _har(entry))[0])

    assert request.response is None


def test_har_broken_entries_are_noted_and_reading_goes_on(tmp_path: Path) -> None:
    entries = [
        _entry("https://toy.example/1"),
        {"request": {"method": "GET"}},
        _entry("https://toy.example/3", response={"status": "200"}),
        "not an entry",
        _entry("https://toy.example:99999/5"),
        _entry(
            "https://toy.example/6",
            request={"postData": {"text": "%%", "encoding": "base64"}},
        ),
        _entry("https://toy.example/7"),
    ]

    observations, coverage = _read_text(tmp_path, _har(*entries))

    assert [item.evidence.flow_id for item in observations] == ["entry 1", "entry 7"]
    assert coverage.flows == 7
    assert coverage.problems[:3] == [
        "app.har: entry 2 skipped: request.url is missing or not a string",
        "app.har: entry 3 skipped: response.status is not a int",
        "app.har: entry 4 skipped: entry is missing or not an object",
    ]
    assert coverage.problems[3].startswith(
        "app.har: entry 5 skipped: request.url: Port"
    )
    assert coverage.problems[4].startswith(
        "app.har: entry 6 skipped: request.postData.text is not valid base64"
    )


def test_har_other_url_schemes_are_counted_in_one_note(tmp_path: Path) -> None:
    entries = [
        _entry("data:image/png;base64,AAAA"),
        _entry("blob:https://x/1"),
        _entry("data:,"),
    ]

    observations, coverage = _read_text(tmp_path, _har(*entries))

    assert observations == []
    assert coverage.problems == [
        "app.har: entries of URLs that are not HTTP skipped (1 blob:, 2 data:)"
    ]


def test_har_websocket_messages_follow_the_upgrade(tmp_path: Path) -> None:
    messages = [
        {"type": "send", "time": START + 2.1, "opcode": 1, "data": '{"child": "Lily"}'},
        {"type": "receive", "time": START + 2.2, "opcode": 2, "data": "AAE="},
        {"type": "send", "time": START + 2.3, "opcode": 9, "data": ""},
    ]
    entry = _entry(
        "wss://cloud.toy.example/ws?token=abc",
        response={"status": 101},
        _webSocketMessages=messages,
    )

    observations, _ = _read_text(tmp_path, _har(entry))

    upgrade, *sockets = observations
    assert isinstance(upgrade, HttpRequest) and upgrade.scheme == "https"
    assert upgrade.query == "token=abc"
    assert all(isinstance(item, WebSocketMessage) for item in sockets)
    assert [
        (item.from_client, item.text, item.payload, item.evidence)
        for item in sockets
        if isinstance(item, WebSocketMessage)
    ] == [
        (
            True,
            True,
            b'{"child": "Lily"}',
            Evidence("app.har", flow_id="entry 1", time=START + 2.1),
        ),
        (
            False,
            False,
            b"\x00\x01",
            Evidence("app.har", flow_id="entry 1", time=START + 2.2),
        ),
    ]
    assert {
        (item.host, item.path, item.transport)
        for item in sockets
        if isinstance(item, WebSocketMessage)
    } == {("cloud.toy.example", "/ws", Transport.TLS)}


def test_har_bom_whitespace_and_key_order_are_accepted(tmp_path: Path) -> None:
    text = (
        '\n  {"comment": {"log": 1}, "log": {"entries": ['
        + json.dumps(_entry("https://toy.example/a"))
        + '], "version": "1.2", "pages": []}, "extra": [1, 2]}\n'
    )

    observations, coverage = _read_text(tmp_path, b"\xef\xbb\xbf" + text.encode())

    assert _only_request(observations).path == "/a"
    assert coverage.problems == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{ this is not json", "not a readable HAR file"),
        ('{"log": {"version": "1.2"}}', "without a log.entries array"),
        ('{"entries": []}', "without a log.entries array"),
        ('{"log": {"entries": {}}}', "without a log.entries array"),
        ('{"log": {"entries": [', "not a readable HAR file"),
        ('{"log": "\xff"}', "without a log.entries array"),
    ],
)
def test_har_unreadable_files_are_errors(
    tmp_path: Path, text: str, reason: str
) -> None:
    with pytest.raises(IngestError, match=f"app.har: .*{reason}"):
        _read_text(tmp_path, text)


def test_har_not_utf8_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not UTF-8"):
        _read_text(tmp_path, b'{"log": {"entries": ["\xff\xfe"]}}')


def test_har_truncated_file_keeps_earlier_entries(tmp_path: Path) -> None:
    text = _har(*[_entry(f"https://toy.example/{index}") for index in range(6)])

    observations, coverage = _read_text(tmp_path, text[: len(text) * 2 // 3])

    assert 1 <= len(observations) < 6
    assert coverage.flows == len(observations)
    (note,) = coverage.problems
    assert note.startswith(f"app.har: not valid JSON after entry {len(observations)} (")
    assert note.endswith("the file may be cut short; entries after it are lost")


def test_har_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    body = json.dumps({"events": ["tap"] * 4000})
    entry = _entry(
        "https://toy.example/events", "POST", request={"postData": {"text": body}}
    )
    count = 600
    path = tmp_path / "big.har"
    with path.open("w") as stream:
        stream.write('{"log": {"version": "1.2", "entries": [')
        stream.write(",".join([json.dumps(entry)] * count))
        stream.write("]}}")
    size = path.stat().st_size
    assert size > 20 << 20

    calls: list[tuple[str, int, int]] = []
    with path.open("rb") as stream:
        observations = read_har(
            stream, "big.har", Coverage(), size, lambda *call: calls.append(call)
        )
        next(observations)
        assert stream.tell() <= 3 << 20
        tracemalloc.start()
        try:
            remaining = sum(1 for _ in observations)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert remaining == count - 1
    assert peak < 12 << 20
    assert len(calls) > 10 and calls[-1] == ("big.har", size, size)
    assert [done for _, done, _ in calls] == sorted(done for _, done, _ in calls)


def test_har_oversized_entry_is_noted_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(har, "MAX_ENTRY_CHARS", 1 << 20)
    huge = _entry(
        "https://toy.example/huge", request={"postData": {"text": "x" * (3 << 20)}}
    )
    entries = [_entry("https://toy.example/1"), huge, _entry("https://toy.example/3")]

    observations, coverage = _read_text(tmp_path, _har(*entries))

    assert [item.evidence.flow_id for item in observations] == ["entry 1", "entry 3"]
    (note,) = coverage.problems
    assert note.startswith("app.har: entry 2 skipped: ")
    assert note.endswith(f"characters long, over {1 << 20}")


def test_har_matches_mitmproxys_own_har_export(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        # mitmproxy.addons imports ldap3, which trips pyasn1's deprecation warnings.
        warnings.simplefilter("ignore", DeprecationWarning)
        from mitmproxy.addons.savehar import SaveHar
    builders = runpy.run_path(str(FLOWS / "write_every_kind.py"))
    flows = [builders["http_flow"](), builders["websocket_flow"]()]
    # HAR has no mark for script-injected messages, which the flow reader drops.
    flows[1].websocket.messages = [
        message for message in flows[1].websocket.messages if not message.injected
    ]
    flow_file = tmp_path / "flows.mitm"
    builders["write_every_kind"](flow_file)
    har_file = tmp_path / "flows.har"
    har_file.write_text(json.dumps(SaveHar().make_har(flows), indent=4))

    from_har = list(read_evidence(har_file, "flows.har", Coverage()))
    from_flows = list(read_evidence(flow_file, "flows.mitm", Coverage()))[
        : len(from_har)
    ]

    def comparable(item: Observation) -> tuple[Any, ...]:
        if isinstance(item, HttpRequest):
            response = item.response
            return (
                item.method,
                item.host,
                item.path,
                item.query,
                item.headers,
                item.body,
                item.transport,
                item.server.ip,
                response and (response.status, response.headers, response.body),
                item.evidence.time,
            )
        assert isinstance(item, WebSocketMessage)
        return (
            item.host,
            item.path,
            item.from_client,
            item.text,
            item.payload,
            item.evidence.time,
        )

    assert len(from_har) == 5
    assert [comparable(item) for item in from_har] == [
        comparable(item) for item in from_flows
    ]


_SEED_HAR = _har(
    _entry(
        "https://toy.example/a?b=c",
        "POST",
        request={
            "headers": [{"name": "X", "value": "y"}],
            "postData": {
                "text": "AAE=",
                "encoding": "base64",
                "params": [{"name": "a"}],
            },
        },
        response={"status": 200, "content": {"text": "ok"}},
        _webSocketMessages=[{"type": "send", "opcode": 2, "data": "AAE=", "time": 1}],
    ),
    _entry(
        "http://[::1]:80/x",
        request={"postData": {"params": [{"name": "p", "value": "q"}]}},
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(_SEED_HAR)),
            st.integers(min_value=0, max_value=8),
            st.text(alphabet='{}[]":,\\ 0a-e\u00e9\ud800', max_size=4),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_har_mutated_text_only_raises_ingest_error(
    edits: list[tuple[int, int, str]],
) -> None:
    text = _SEED_HAR
    for position, removed, inserted in edits:
        text = text[:position] + inserted + text[position + removed :]
    coverage = Coverage()

    try:
        list(
            read_har(
                io.BytesIO(text.encode("utf-8", "surrogatepass")),
                "app.har",
                coverage,
                0,
            )
        )
    except IngestError:
        pass

    assert all(note.startswith("app.har: ") for note in coverage.problems)


@settings(max_examples=200, deadline=None)
@given(tail=st.binary(max_size=200))
def test_har_arbitrary_bytes_after_a_brace_only_raise_ingest_error(tail: bytes) -> None:
    coverage = Coverage()

    try:
        list(read_har(io.BytesIO(b"{" + tail), "app.har", coverage, 0))
    except IngestError:
        pass

    assert all(note.startswith("app.har: ") for note in coverage.problems)


def test_har_errors_count_this_files_entries_only(tmp_path: Path) -> None:
    text = _har(*[_entry(f"https://toy.example/{index}") for index in range(4)])
    (tmp_path / "cut.har").write_text(text[: len(text) * 3 // 4])
    (tmp_path / "bad.har").write_text("{ not json")
    coverage = Coverage(flows=50)

    observations = list(read_evidence(tmp_path / "cut.har", "cut.har", coverage))
    with pytest.raises(IngestError, match="bad.har: not a readable HAR file"):
        list(read_evidence(tmp_path / "bad.har", "bad.har", coverage))

    assert coverage.problems[0].startswith(
        f"cut.har: not valid JSON after entry {len(observations)} ("
    )


def test_har_shards_read_every_entry_once(tmp_path: Path) -> None:
    entries = [_entry(f"https://cloud.toy.example/v1/{number}") for number in range(7)]
    whole, coverage = _read_text(tmp_path, _har(*entries))

    parts: list[Observation] = []
    flows = 0
    for index in range(3):
        part = Coverage()
        with (tmp_path / "app.har").open("rb") as stream:
            parts += read_har(stream, "app.har", part, 0, None, Shard(index, 3))
        flows += part.flows

    assert sorted(map(repr, parts)) == sorted(map(repr, whole))
    assert flows == coverage.flows == 7
