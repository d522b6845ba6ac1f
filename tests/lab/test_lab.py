"""The lab itself: the toy reaches its cloud, and nothing outlives a lab run.

These tests build real network namespaces, so they need root and iproute2;
without them they fail with the lab's message saying so.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab import Lab, LabError, dnswire, host
from tests.lab.lab import MQTT_CREDENTIALS
from tests.lab.toy import STEP_NAMES
from toyaudit.demo_scenario import PERSONA
from toyaudit.synthmessages import dns_query

CHILD, TOY = PERSONA["child"], PERSONA["toy"]


def _forwarding() -> str:
    return host.FORWARDING.read_text(encoding="ascii").strip()


def _assert_gone(lab_id: str, pids: tuple[int, ...], folder: Path) -> None:
    """Nothing of run ``lab_id`` is left: namespaces, links, processes, files."""
    netns_list = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    link_list = subprocess.run(
        ["ip", "-o", "link"], capture_output=True, text=True, check=True
    ).stdout
    assert f"tlab-{lab_id}-" not in netns_list
    assert f"tlab{lab_id}" not in link_list
    assert [pid for pid in pids if host.is_running(pid)] == []
    assert not folder.exists()
    assert not (host.REGISTRY / f"{lab_id}.json").exists()


def test_lab_toy_reaches_cloud_without_capture(lab: Lab) -> None:
    summary = lab.run_toy(timeout=20)
    logs = lab.server_logs()

    assert [step.name for step in summary.steps if not step.ok] == []
    assert summary.step("stories").attempts == ("answered",)
    assert summary.lookups == dict(lab.server_addresses)
    assert {record["client"] for record in logs.dns} == {lab.toy_ip}
    assert all(record["client"] == lab.toy_ip for record in logs.https)

    (hello,) = logs.requests("/v1/hello")
    assert f"child={CHILD['first_name']}" in hello["path"]
    assert f"serial={TOY['serial']}" in hello["path"]
    (profile,) = logs.requests("/v1/profile")
    assert profile["sni"] == "api.plushpal.example"
    assert json.loads(profile["body_text"]) == {
        "child_name": CHILD["name"],
        "birthdate": CHILD["birthdate"],
        "device_mac": TOY["mac"],
    }
    (voice,) = logs.requests("/v2/voice")
    assert voice["body_text"] is None and voice["body_size"] > 4000
    assert voice["headers"]["X-Device-Id"] == TOY["serial"]
    assert (
        logs.requests("/v1/stories")[0]["server"]
        == lab.server_addresses["media.plushpal.example"]
    )


def test_lab_broker_receives_connect_and_telemetry(lab: Lab) -> None:
    assert lab.run_toy(timeout=20).step("mqtt").ok
    events = {record["event"]: record for record in lab.server_logs().mqtt}

    assert list(events) == ["connect", "publish", "ping", "disconnect"]
    assert events["connect"]["client_id"] == TOY["serial"]
    assert events["connect"]["password"] == MQTT_CREDENTIALS["password"]
    assert events["publish"]["qos"] == 1
    latitude, longitude = PERSONA["home"]["coordinates"]
    assert json.loads(events["publish"]["body_text"])["lat"] == latitude
    assert json.loads(events["publish"]["body_text"])["lon"] == longitude


def _ask(server: str, name: str) -> tuple[int, list[str]]:
    """One A query from the host to the lab's DNS server."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as resolver:
        resolver.settimeout(3)
        resolver.sendto(dns_query(4242, name), (server, 53))
        return dnswire.decode_answer(resolver.recv(4096), 4242)


def test_lab_dns_answers_lab_names_only(lab: Lab) -> None:
    address = lab.server_addresses["telemetry.tracker.example"]

    assert _ask(lab.dns_server, "Telemetry.Tracker.Example") == (0, [address])
    assert _ask(lab.dns_server, "www.example.com") == (dnswire.RCODE_NXDOMAIN, [])


def test_lab_teardown_leaves_nothing_behind() -> None:
    forwarding_before = _forwarding()
    lab = Lab()
    lab.start()
    summary = lab.run_toy(timeout=20)
    lab_id, pids, folder = lab.lab_id, lab.process_ids, lab.folder
    assert summary.ok and len(pids) == 2

    lab.close()
    lab.close()  # a second close is harmless

    _assert_gone(lab_id, pids, folder)
    if not host.live_lab_ids():  # another lab running keeps forwarding on
        assert _forwarding() == forwarding_before


def test_lab_failed_topology_step_still_tears_down() -> None:
    lab = Lab(toy_mac="not-a-mac")

    with pytest.raises(LabError, match="ip link add tlab.*not-a-mac"):
        lab.start()

    _assert_gone(lab.lab_id, lab.process_ids, lab.folder)


def test_lab_cloud_that_never_listens_is_killed() -> None:
    lab = Lab(cloud_timeout=0.0)

    with pytest.raises(LabError, match="did not listen within 0.0s"):
        lab.start()

    assert len(lab.process_ids) == 1
    _assert_gone(lab.lab_id, lab.process_ids, lab.folder)


CRASHING_RUN = """
import time
from tests.lab import Lab
lab = Lab()
lab.start()
print(lab.lab_id, lab.folder, *lab.process_ids, flush=True)
time.sleep(60)
"""
"""A lab owner that will be killed before it can tear its lab down."""


def test_lab_sweeps_leftovers_of_a_crashed_run() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CRASHING_RUN], stdout=subprocess.PIPE, text=True
    ) as owner:
        assert owner.stdout is not None
        lab_id, folder, *pids = owner.stdout.readline().split()
        owner.kill()
    assert Path(folder).exists() and host.is_running(int(pids[0]))

    with Lab() as lab:
        assert lab.lab_id != lab_id
        _assert_gone(lab_id, tuple(map(int, pids)), Path(folder))


def test_toy_fails_fast_when_the_cloud_is_gone(lab: Lab) -> None:
    lab.stop_cloud()
    started = time.monotonic()

    summary = lab.run_toy(timeout=20)

    assert time.monotonic() - started < 10
    assert [step.ok for step in summary.steps] == [False] * len(STEP_NAMES)
    assert all("Refused" in str(step.error) for step in summary.steps)
    assert summary.lookups == {}
