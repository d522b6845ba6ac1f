"""Plain HTTP flows read lightly give what mitmproxy's HTTPFlow gives.

Both light readings are held against mitmproxy's: from the parsed state
(:mod:`toyaudit.ingest.flowstate`) and from the fields picked out of the
record (:mod:`toyaudit.ingest.flowscan`).
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmproxy import flow as mitmproxy_flow
from mitmproxy.http import Request, Response
from mitmproxy.io import FlowWriter, compat, tnetstring
from mitmproxy.test import tflow
from mitmproxy.version import FLOW_FORMAT_VERSION

from toyaudit.ingest.flowrecords import flow_records, load_flow
from toyaudit.ingest.flows import flow_to_request
from toyaudit.ingest.flowscan import scan_http_flow
from toyaudit.ingest.flowstate import LightHttpFlow, light_http_flow

FLOWS = Path(__file__).parent / "flows"
make_request: Any = Request.make
flow_writer: Any = FlowWriter


def _http(
    url: str = "http://toy.example/v1/child?name=Lily",
    headers: list[tuple[bytes, bytes]] | None = None,
    version: str = "HTTP/1.1",
    content: bytes | None = b'{"child": "Lily"}',
    response: bool = True,
    peer: tuple[Any, ...] = ("10.77.0.2", 40000),
    authority: str = "",
) -> Any:
    flow = tflow.tflow(resp=response)
    flow.request = make_request("POST", url, b"")
    if headers is not None:
        flow.request.headers.fields = tuple(headers)
    flow.request.raw_content = content
    flow.request.authority = authority
    flow.request.http_version = version
    flow.request.timestamp_start = 1_767_225_601.5
    if response:
        flow.response = Response.make(201, b'{"ok": true}', {"x-server": "toy"})
    flow.client_conn.peername = peer
    flow.server_conn.peername = ("203.0.113.7", 80)
    flow.server_conn.address = ("toy.example", 80)
    return flow


EDGE_CASES = {
    "plain": _http(),
    "no Host header": _http(headers=[]),
    "Host header": _http(headers=[(b"Host", b"API.Toy.Example:8443")]),
    "two Host headers": _http(
        headers=[(b"Host", b"a.toy.example"), (b"host", b"b.toy.example")]
    ),
    "HTTP/2 authority": _http(
        version="HTTP/2.0", headers=[], authority="Cloud.Toy.Example:443"
    ),
    "HTTP/2 authority and Host": _http(
        version="HTTP/2.0",
        headers=[(b"Host", b"other.example")],
        authority="xn--bcher-kva.example",
    ),
    "HTTP/1 authority and Host": _http(
        headers=[(b"Host", b"other.example")], authority="proxy.example:80"
    ),
    "HTTP/3 Host only": _http(version="HTTP/3", headers=[(b"Host", b"h3.toy.example")]),
    "not UTF-8 path and header": _http(
        headers=[(b"Host", b"toy.example"), (b"X-Name", b"L\xefly")]
    ),
    "no content": _http(content=None),
    "no response": _http(response=False),
    "IPv6 peer": _http(peer=("2001:db8::2", 40000, 0, 0)),
    "bracketed IPv6 Host": _http(headers=[(b"Host", b"[2001:db8::7]:8080")]),
    "malformed Host": _http(headers=[(b"Host", b"not a host:port:x")]),
}


def _record(flow: Any) -> bytes:
    """A flow's record as mitmproxy writes it to a flow file."""
    stream = io.BytesIO()
    flow_writer(stream).add(flow)
    return stream.getvalue()


def _state(flow: Any) -> dict[Any, Any]:
    """A flow's state as a flow file holds it, read back and migrated."""
    state = tnetstring.loads(_record(flow))
    assert isinstance(state, dict)
    migrated: dict[Any, Any] = compat.migrate_flow(state)
    return migrated


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_light_flow_gives_the_request_mitmproxy_gives(case: str) -> None:
    state = _state(EDGE_CASES[case])
    built = mitmproxy_flow.Flow.from_state(copy.deepcopy(state))

    light = light_http_flow(state)

    assert light is not None
    assert flow_to_request(light, "f.mitm") == flow_to_request(built, "f.mitm")


def test_the_edge_cases_differ_where_they_should() -> None:
    hosts = {
        case: flow_to_request(
            mitmproxy_flow.Flow.from_state(_state(flow)), "f.mitm"
        ).host
        for case, flow in EDGE_CASES.items()
    }

    assert hosts["plain"] == hosts["no Host header"] == "toy.example"
    assert hosts["Host header"] == "api.toy.example"
    assert hosts["two Host headers"] == "a.toy.example, b.toy.example"
    assert hosts["HTTP/2 authority"] == "cloud.toy.example"
    assert hosts["HTTP/2 authority and Host"] == "bücher.example"
    assert hosts["HTTP/1 authority and Host"] == "other.example"
    assert hosts["HTTP/3 Host only"] == "h3.toy.example"
    assert hosts["bracketed IPv6 Host"] == "2001:db8::7"


def test_load_flow_reads_plain_http_lightly_and_the_rest_with_mitmproxy() -> None:
    content = (FLOWS / "every_kind.mitmproxy12.mitm").read_bytes()

    flows = [
        load_flow(record or b"")
        for _, _, record in flow_records(io.BytesIO(content), lambda _: True)
    ]

    light = [flow for flow in flows if isinstance(flow, LightHttpFlow)]
    assert [flow.id for flow in light] == ["http-1"]
    assert {flow.type for flow in flows if flow not in light} == {
        "http",
        "tcp",
        "udp",
        "dns",
    }


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ((), "id", 7),
        ((), "websocket", {"messages": []}),
        ((), "type", "tcp"),
        (("request",), "method", "POST"),
        (("request",), "path", None),
        (("request",), "host", b"toy.example"),
        (("request",), "timestamp_start", "soon"),
        (("request",), "content", "text"),
        (("request",), "headers", [[b"Host"]]),
        (("request",), "headers", [[b"Host", "toy.example"]]),
        (("request",), "headers", {"Host": b"x"}),
        (("response",), "status_code", "200"),
        (("response",), "content", 5),
        (("client_conn",), "peername", ["10.0.0.1"]),
        (("server_conn",), "address", ["toy.example", "80"]),
        ((), "request", None),
        ((), "client_conn", "me"),
    ],
)
def test_light_flow_leaves_unexpected_states_to_mitmproxy(
    where: tuple[str, ...], key: str, value: Any
) -> None:
    state = _state(_http())
    part = state
    for name in where:
        part = part[name]
    part[key] = value

    assert light_http_flow(state) is None


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_picked_fields_give_the_request_mitmproxy_gives(case: str) -> None:
    record = _record(EDGE_CASES[case])
    built = mitmproxy_flow.Flow.from_state(_state(EDGE_CASES[case]))

    picked = scan_http_flow(record, FLOW_FORMAT_VERSION)

    assert picked is not None
    light = light_http_flow(picked)
    assert light is not None
    assert flow_to_request(light, "f.mitm") == flow_to_request(built, "f.mitm")


def test_scan_leaves_other_kinds_and_formats_to_mitmproxy() -> None:
    content = (FLOWS / "every_kind.mitmproxy12.mitm").read_bytes()
    records = [
        record or b""
        for _, _, record in flow_records(io.BytesIO(content), lambda _: True)
    ]

    picked = [scan_http_flow(record, FLOW_FORMAT_VERSION) for record in records]
    older = scan_http_flow(records[0], FLOW_FORMAT_VERSION + 1)

    assert [state["id"] for state in picked if state is not None] == ["http-1"]
    assert older is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"7:version;", b"7:versioN;"),  # no version: an old or odd record
        (b"4:type;4:http;", b"4:type;4:tcp!;"),
        (b"9:websocket;0:~", b"9:websocket;0:]"),
        (b"6:method;4:POST,", b"6:method;-5:POST,"),  # a negative length
    ],
)
def test_scan_gives_up_on_records_it_cannot_vouch_for(old: bytes, new: bytes) -> None:
    record = _record(_http())
    assert old in record

    assert scan_http_flow(record.replace(old, new, 1), FLOW_FORMAT_VERSION) is None


@settings(max_examples=300, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=4000),
    junk=st.binary(max_size=8),
    keep=st.integers(min_value=0, max_value=8),
)
def test_scan_of_a_damaged_record_gives_a_state_or_none(
    cut: int, junk: bytes, keep: int
) -> None:
    record = _record(_http())
    cut %= len(record)
    damaged = record[:cut] + junk + record[cut + keep :]

    picked = scan_http_flow(damaged, FLOW_FORMAT_VERSION)

    assert picked is None or isinstance(picked["request"], dict)
