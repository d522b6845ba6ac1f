"""Splitting flow files into records: skipped unparsed, loaded as mitmproxy does."""

from __future__ import annotations

import io
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import io as mitmproxy_io

from toyaudit.ingest.flowrecords import (
    FramingError,
    UnreadableFlowError,
    flow_records,
    load_flow,
)
from toyaudit.ingest.flows import flow_to_request
from toyaudit.ingest.flowstate import LightHttpFlow

FLOWS = Path(__file__).parent / "flows"
write_every_kind: Callable[[Path], None] = runpy.run_path(
    str(FLOWS / "write_every_kind.py")
)["write_every_kind"]
flow_reader: Any = mitmproxy_io.FlowReader


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("flows") / "every_kind.mitm"
    write_every_kind(path)
    return path.read_bytes()


def _everything(position: int) -> bool:
    return True


def test_load_flow_reads_what_flowreader_builds(every_kind: bytes) -> None:
    expected = list(flow_reader(io.BytesIO(every_kind)).stream())

    records = flow_records(io.BytesIO(every_kind), _everything)
    loaded = [load_flow(record or b"") for _, _, record in records]

    assert len(loaded) == len(expected)
    for flow, built in zip(loaded, expected, strict=True):
        if isinstance(flow, LightHttpFlow):  # read from its state: same request
            assert flow_to_request(flow, "f") == flow_to_request(built, "f")
        else:
            assert flow.get_state() == built.get_state()
    assert any(isinstance(flow, LightHttpFlow) for flow in loaded)


def test_flow_records_passes_over_unwanted_records_unparsed() -> None:
    stream = io.BytesIO(b"5:hello," + b"10:not a flow}" + b"3:abc,")

    records = list(flow_records(stream, lambda position: position != 1))

    assert records == [(0, 0, b"5:hello,"), (1, 8, None), (2, 22, b"3:abc,")]


@pytest.mark.parametrize(
    ("content", "reason", "offset", "position"),
    [
        (b"5:hello,x:", "no valid tnetstring length prefix", 8, 1),
        (b"5:hello,5:hel", "the file ends inside a flow", 8, 1),
        (b"1234567890123:", "no valid tnetstring length prefix", 0, 0),
    ],
)
def test_flow_records_stops_where_framing_breaks(
    content: bytes, reason: str, offset: int, position: int
) -> None:
    for wanted in (_everything, lambda position: False):
        with pytest.raises(FramingError) as caught:
            list(flow_records(io.BytesIO(content), wanted))
        assert (caught.value.reason, caught.value.offset) == (reason, offset)
        assert caught.value.position == position


@pytest.mark.parametrize("record", [b"5:hello,", b"2:{}}", b"21:4:type;7:pigeon?;}"])
def test_load_flow_names_why_a_record_is_no_flow(record: bytes) -> None:
    with pytest.raises(UnreadableFlowError):
        load_flow(record)
