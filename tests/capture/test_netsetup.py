"""Transparent-mode network changes, applied and undone inside namespaces.

The host's firewall and sysctls are never touched: every apply runs in a
child process inside a "gateway" namespace (``ip netns exec``), where
sysctls under /proc/sys/net and the iptables rules are the namespace's own.
A "client" namespace on the other end of the veth plays the toy and opens
a real connection, so the test also shows the proxy's listener learning the
original destination through SO_ORIGINAL_DST.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from tests.capture.netns import (
    VethNamespace,
    create_namespace,
    create_veth_namespace,
    delete_namespace,
    delete_veth_namespace,
    require_root_tools,
)
from toyaudit.capture.netsetup import (
    JOURNAL_FILE,
    FirewallRule,
    SysctlChange,
    plan_transparent,
    session_tag,
    undo_leftovers,
)
from toyaudit.errors import CaptureError

PROXY_PORT = 8080
SESSION = "lab session/1"
"""A session name with characters an iptables comment tag must not carry."""

APPLY = r"""
import json, socket, sys
from pathlib import Path
from toyaudit.capture.netsetup import (
    FirewallRule, NetworkChanges, NetworkPlan, SysctlChange)
from toyaudit.errors import CaptureError

folder, plan_json, listen_port = sys.argv[1], sys.argv[2], int(sys.argv[3])
changes = []
for entry in json.loads(plan_json):
    kind = entry.pop("kind")
    if kind == "sysctl":
        changes.append(SysctlChange(**entry))
    else:
        changes.append(FirewallRule(**{**entry, "rule": tuple(entry["rule"])}))
network = NetworkChanges(Path(folder), NetworkPlan("lab session/1", tuple(changes)))
listener = socket.create_server(("0.0.0.0", listen_port)) if listen_port else None
try:
    network.apply()
except CaptureError as error:
    reply = {"message": error.message, "hint": error.hint, "undo": network.undo()}
    print(json.dumps(reply), flush=True)
    sys.exit(7)
print(json.dumps({"applied": True}), flush=True)
if listener is not None:
    connection, _ = listener.accept()
    raw = connection.getsockopt(socket.SOL_IP, 80, 16)  # SO_ORIGINAL_DST
    original = [socket.inet_ntoa(raw[4:8]), int.from_bytes(raw[2:4], "big")]
    print(json.dumps({"original": original}), flush=True)
    connection.close()
sys.stdin.readline()
first, second = network.undo(), network.undo()
print(json.dumps({"problems": first, "again": second}), flush=True)
"""

UNDO_LEFTOVERS = r"""
import json, sys
from dataclasses import asdict
from pathlib import Path
from toyaudit.capture.netsetup import undo_leftovers

outcomes = [asdict(undo_leftovers(Path(sys.argv[1]))) for _ in range(2)]
print(json.dumps(outcomes))
"""

CONNECT = r"""
import socket
socket.create_connection(("192.0.2.10", 443), timeout=5).close()
"""


@pytest.fixture
def gateway() -> Iterator[VethNamespace]:
    """A gateway namespace whose inner interface is the hotspot, and a client
    namespace (the toy) on the other end, routed through the gateway."""
    require_root_tools("iptables")
    client = create_namespace("tnc")
    try:
        lab = create_veth_namespace("tng", outer_namespace=client)
        try:
            lab.run_outer("ip", "route", "add", "default", "via", lab.inner_address)
            conf = "/proc/sys/net/ipv4/conf"
            lab.run("sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_forward")
            for name in ("all", lab.inner_interface):  # a known start: 0, 1, 1
                lab.run("sh", "-c", f"echo 1 > {conf}/{name}/send_redirects")
            yield lab
        finally:
            delete_veth_namespace(lab)
    finally:
        delete_namespace(client)


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """Child processes a test started; killed and reaped afterwards."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=10)


def plan_json(changes: tuple[SysctlChange | FirewallRule, ...]) -> str:
    """The plan's changes as JSON for the child process."""
    entries: list[dict[str, Any]] = []
    for change in changes:
        kind = "sysctl" if isinstance(change, SysctlChange) else "firewall"
        entries.append({"kind": kind, **asdict(change)})
    return json.dumps(entries)


def start_apply(
    children: list[subprocess.Popen[str]],
    gateway: VethNamespace,
    folder: Path,
    changes: tuple[SysctlChange | FirewallRule, ...],
    listen_port: int = 0,
    prefix: tuple[str, ...] = (),
) -> subprocess.Popen[str]:
    """Start the apply child inside the gateway namespace (after ``prefix``)."""
    argv = [*prefix, sys.executable, "-c", APPLY, str(folder), plan_json(changes)]
    child = subprocess.Popen(
        gateway.command(*argv, str(listen_port)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children.append(child)
    return child


def reply(child: subprocess.Popen[str], timeout: float = 20) -> dict[str, Any]:
    """Read the child's next JSON line, failing with its stderr if none comes."""
    assert child.stdout is not None and child.stderr is not None
    ready, _, _ = select.select([child.stdout], [], [], timeout)
    line = child.stdout.readline() if ready else ""
    if not line:
        child.kill()
        pytest.fail(f"apply child said nothing: {child.stderr.read()}")
    message: dict[str, Any] = json.loads(line)
    return message


def finish(child: subprocess.Popen[str]) -> dict[str, Any]:
    """Tell the child to undo; return its report."""
    assert child.stdin is not None
    child.stdin.write("undo\n")
    child.stdin.flush()
    message = reply(child)
    child.wait(10)
    return message


def nat_rules(gateway: VethNamespace) -> list[str]:
    """The gateway's nat PREROUTING rules carrying our session's tag."""
    listing = gateway.run("iptables", "-t", "nat", "-S", "PREROUTING").stdout
    return [line for line in listing.splitlines() if session_tag(SESSION) in line]


def sysctls(gateway: VethNamespace) -> tuple[str, ...]:
    """ip_forward, all.send_redirects and the hotspot's send_redirects."""
    keys = (
        "net/ipv4/ip_forward",
        "net/ipv4/conf/all/send_redirects",
        f"net/ipv4/conf/{gateway.inner_interface}/send_redirects",
    )
    return tuple(gateway.run("cat", f"/proc/sys/{key}").stdout.strip() for key in keys)


def test_plan_transparent_redirects_each_port_of_the_toy_with_a_tag() -> None:
    plan = plan_transparent(SESSION, "wlan0", "02:AA:00:00:77:02", 8080, [80, 443])

    rules = [change for change in plan.changes if isinstance(change, FirewallRule)]
    assert [rule.command for rule in rules] == ["iptables", "iptables"]
    assert [rule.rule[rule.rule.index("--dport") + 1] for rule in rules] == [
        "80",
        "443",
    ]
    assert all("02:aa:00:00:77:02" in rule.rule for rule in rules)
    assert all(rule.rule[-3:] == ("REDIRECT", "--to-ports", "8080") for rule in rules)
    assert session_tag(SESSION) == "toyaudit:lab_session_1"
    assert SysctlChange("net/ipv4/conf/wlan0/send_redirects", "0") in plan.changes


def test_plan_transparent_covers_ipv6_only_where_the_toy_can_use_it() -> None:
    by_mac = plan_transparent(SESSION, "wlan0", "02:00:00:00:77:02", 8080, ipv6=True)
    by_ipv4 = plan_transparent(SESSION, "wlan0", "10.42.0.17", 8080, ipv6=True)

    commands = [c.command for c in by_mac.changes if isinstance(c, FirewallRule)]
    assert commands == ["iptables", "ip6tables"]
    assert SysctlChange("net/ipv6/conf/all/forwarding", "1") in by_mac.changes
    ipv4_rules = [c for c in by_ipv4.changes if isinstance(c, FirewallRule)]
    assert [(rule.command, "--dport" in rule.rule) for rule in ipv4_rules] == [
        ("iptables", False)
    ]
    assert ("-s", "10.42.0.17") == ipv4_rules[0].rule[4:6]


def test_plan_transparent_off_linux_points_to_wireguard() -> None:
    with pytest.raises(CaptureError) as raised:
        plan_transparent(SESSION, "bridge100", "10.42.0.17", 8080, platform="darwin")

    assert "only implemented on Linux" in raised.value.message
    assert "WireGuard" in raised.value.hint


def test_network_changes_apply_redirect_and_undo_everything(
    gateway: VethNamespace, tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    before = sysctls(gateway)
    plan = plan_transparent(
        SESSION, gateway.inner_interface, gateway.host_mac, PROXY_PORT, [443]
    )
    child = start_apply(
        children, gateway, tmp_path, plan.changes, listen_port=PROXY_PORT
    )
    assert reply(child) == {"applied": True}

    assert before == ("0", "1", "1") and sysctls(gateway) == ("1", "0", "0")
    (rule,) = nat_rules(gateway)
    assert f"-i {gateway.inner_interface} " in rule and "--dport 443" in rule
    assert "-j REDIRECT --to-ports 8080" in rule
    journal = json.loads((tmp_path / JOURNAL_FILE).read_text())
    assert [entry.get("previous") for entry in journal["changes"]] == [
        "0",
        "1",
        "1",
        None,
    ]
    assert (tmp_path / JOURNAL_FILE).stat().st_mode & 0o777 == 0o600

    gateway.run_outer(sys.executable, "-c", CONNECT)
    assert reply(child) == {"original": ["192.0.2.10", 443]}

    assert finish(child) == {"problems": [], "again": []}
    assert nat_rules(gateway) == []
    assert sysctls(gateway) == before
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_network_changes_undo_tolerates_rules_already_gone(
    gateway: VethNamespace, tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    plan = plan_transparent(SESSION, gateway.inner_interface, "10.231.0.9", 8080)
    child = start_apply(children, gateway, tmp_path, plan.changes)
    assert reply(child) == {"applied": True}

    gateway.run("iptables", "-t", "nat", "-F", "PREROUTING")

    assert finish(child) == {"problems": [], "again": []}
    assert sysctls(gateway) == ("0", "1", "1")


def test_undo_leftovers_after_a_crash_restores_everything(
    gateway: VethNamespace, tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    plan = plan_transparent(SESSION, gateway.inner_interface, "10.231.0.9", 8080)
    child = start_apply(children, gateway, tmp_path, plan.changes)
    assert reply(child) == {"applied": True}

    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert len(nat_rules(gateway)) == 1 and sysctls(gateway) == ("1", "0", "0")

    leftovers = gateway.run(sys.executable, "-c", UNDO_LEFTOVERS, str(tmp_path)).stdout
    first, second = json.loads(leftovers)
    assert len(first["undone"]) == 4 and first["problems"] == []
    assert first["undone"][0].startswith("iptables -w -t nat -D PREROUTING")
    assert second == {"undone": [], "problems": []}
    assert nat_rules(gateway) == []
    assert sysctls(gateway) == ("0", "1", "1")


def test_network_changes_failed_rule_rolls_back_and_names_the_command(
    gateway: VethNamespace, tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    broken = FirewallRule(
        "iptables", "nat", "PREROUTING", ("-p", "tcp", "-j", "NO-SUCH-TARGET")
    )
    changes = (SysctlChange("net/ipv4/ip_forward", "1"), broken)

    child = start_apply(children, gateway, tmp_path, changes)
    failure = reply(child)

    assert child.wait(10) == 7
    assert (
        "'iptables -w -t nat -A PREROUTING -p tcp -j NO-SUCH-TARGET'"
        in (failure["message"])
    )
    assert "modprobe" in failure["hint"]
    assert failure["undo"] == []
    assert sysctls(gateway)[0] == "0"
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_network_changes_without_iptables_change_nothing(
    gateway: VethNamespace, tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    plan = plan_transparent(
        SESSION, gateway.inner_interface, "10.231.0.9", 8080, iptables="/no/iptables"
    )

    child = start_apply(children, gateway, tmp_path, plan.changes)
    failure = reply(child)

    assert child.wait(10) == 7
    assert failure["message"].startswith("/no/iptables not found")
    assert "apt-get install iptables" in failure["hint"]
    assert sysctls(gateway) == ("0", "1", "1")
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_network_changes_refuse_while_an_old_journal_is_there(
    gateway: VethNamespace, tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    (tmp_path / JOURNAL_FILE).write_text('{"format": 1, "changes": []}')
    plan = plan_transparent(SESSION, gateway.inner_interface, "10.231.0.9", 8080)

    child = start_apply(children, gateway, tmp_path, plan.changes)
    failure = reply(child)

    assert child.wait(10) == 7
    assert "never undone" in failure["message"]
    assert "--undo-network" in failure["hint"]
    assert failure["undo"] == []  # the old journal is left for --undo-network
    assert (tmp_path / JOURNAL_FILE).read_text() == '{"format": 1, "changes": []}'
    assert sysctls(gateway) == ("0", "1", "1")


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        (
            (SysctlChange("net/ipv4/conf/all/send_redirects", "0"),)
            + (SysctlChange("net/ipv4/ip_forward", "1"),),
            "cannot set kernel parameter net.ipv4.ip_forward: permission denied",
        ),
        (
            (FirewallRule("iptables", "nat", "PREROUTING", ("-p", "tcp")),),
            "'iptables -w -t nat -C PREROUTING -p tcp' failed (exit 4)",
        ),
    ],
    ids=["sysctl", "iptables"],
)
def test_network_changes_without_cap_net_admin_name_sudo(
    gateway: VethNamespace,
    tmp_path: Path,
    children: list[subprocess.Popen[str]],
    changes: tuple[SysctlChange | FirewallRule, ...],
    refused: str,
) -> None:
    require_root_tools("setpriv")
    drop = ("setpriv", "--bounding-set", "-net_admin", "--")

    child = start_apply(children, gateway, tmp_path, changes, prefix=drop)
    failure = reply(child)

    assert child.wait(10) == 7
    assert failure["message"].startswith(refused)
    assert "sudo" in failure["hint"]
    assert failure["undo"] == []
    assert sysctls(gateway) == ("0", "1", "1")
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_undo_leftovers_reports_an_unreadable_journal_and_keeps_it(
    tmp_path: Path,
) -> None:
    (tmp_path / JOURNAL_FILE).write_text('{"format": 1, "changes": [')

    outcome = undo_leftovers(tmp_path)

    assert outcome.undone == ()
    (problem,) = outcome.problems
    assert "cannot read the network journal" in problem
    assert "iptables -t nat -S PREROUTING" in problem
    assert (tmp_path / JOURNAL_FILE).exists()
