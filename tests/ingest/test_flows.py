"""Tests of the mitmproxy flow-file reader with flows written by mitmproxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mitmproxy import io as mitmproxy_io
from mitmproxy.test import tflow

from toyaudit.errors import IngestError
from toyaudit.ingest import read_evidence
from toyaudit.ingest.records import Coverage, Endpoint, Evidence, HttpRequest, Transport

flow_writer: Any = mitmproxy_io.FlowWriter  # mitmproxy's writer has no annotations


def _write_flows(path: Path, count: int = 2) -> list[str]:
    identifiers = []
    with path.open("wb") as stream:
        writer: Any = flow_writer(stream)
        for index in range(count):
            flow = tflow.tflow(resp=True)
            flow.request.scheme = "https"
            flow.request.host = "Cloud.Toy.Example"
            flow.request.port = 443
            flow.request.path = f"/v1/child/{index}?name=Lily%20Doe&age=7"
            flow.request.headers["content-encoding"] = "identity"
            flow.request.content = b'{"child": "Lily"}'
            writer.add(flow)
            identifiers.append(flow.id)
        writer.add(tflow.ttcpflow())
        writer.add(tflow.ttcpflow())
    return identifiers


def test_flows_become_http_requests_with_responses(tmp_path: Path) -> None:
    path = tmp_path / "flows.mitm"
    identifiers = _write_flows(path)
    coverage = Coverage()

    observations = list(read_evidence(path, "flows.mitm", coverage))

    assert len(observations) == 2
    request = observations[0]
    assert isinstance(request, HttpRequest)
    assert request.evidence == Evidence("flows.mitm", flow_id=identifiers[0])
    assert request.transport == Transport.TLS and request.scheme == "https"
    assert (request.host, request.path, request.query) == (
        "cloud.toy.example",
        "/v1/child/0",
        "name=Lily%20Doe&age=7",
    )
    assert request.body == b'{"child": "Lily"}'
    assert ("content-encoding", "identity") in request.headers
    assert request.client == Endpoint("127.0.0.1", 22)
    assert request.server == Endpoint("192.168.0.1", 22)
    assert request.response is not None and request.response.status == 200
    assert request.response.body == b"message"
    assert coverage.flows == 4
    assert coverage.files_read == ["flows.mitm"]
    assert coverage.problems == ["flows.mitm: 2 TCP flows not analysed yet"]


def test_flows_truncated_file_keeps_earlier_flows(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mitm"
    _write_flows(whole, count=3)
    content = whole.read_bytes()
    path = tmp_path / "flows.mitm"
    path.write_bytes(content[: len(content) // 2])
    coverage = Coverage()

    observations = list(read_evidence(path, "flows.mitm", coverage))

    assert 1 <= len(observations) < 3
    assert len(coverage.problems) == 1
    assert coverage.problems[0].startswith("flows.mitm: unreadable from byte ")
    assert f"(after flow {len(observations)})" in coverage.problems[0]


def test_flows_unreadable_from_the_start_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "flows.mitm"
    path.write_bytes(b"12:not a flow!!")

    with pytest.raises(
        IngestError, match="flows.mitm: not a readable mitmproxy flow file"
    ):
        list(read_evidence(path, "flows.mitm", Coverage()))
