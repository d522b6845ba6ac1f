"""Host-side plumbing of the lab: the ``ip`` command, the run registry, forwarding.

Every lab run registers itself in ``/run/toyaudit-lab/<id>.json`` with the
process that owns it, under an exclusive lock. Anything carrying the lab's
prefix whose owner is gone (a namespace, a host link, a temporary folder) is a
leftover of a crashed run and is swept away before a new run claims its names.

IPv4 forwarding is a host-wide switch that several labs (and the capture's own
network setup) may want on at the same time, so the first lab to start records
the original value in ``ip_forward.orig`` and turns forwarding on; the last lab
to finish writes the original back. A capture run inside a lab sees forwarding
already on and restores it to on, so the lab's restore, which comes later,
has the last word.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PREFIX = "tlab"
"""Every namespace and host link of the lab starts with this."""
REGISTRY = Path("/run/toyaudit-lab")
"""Where live runs register (a tmpfs, emptied at boot like the namespaces)."""
FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
IP_TIMEOUT = 10.0
"""Seconds any one ``ip`` command may take."""
KILL_TIMEOUT = 5.0
"""Seconds a killed leftover process may take to die."""
LOCK_TIMEOUT = 15.0
"""Seconds to wait for another lab to release the registry lock."""
NAMESPACE_PATTERN = re.compile(rf"^{PREFIX}-([0-9a-f]{{4}})-[a-z]+$")
LINK_PATTERN = re.compile(rf"^{PREFIX}([0-9a-f]{{4}})[a-z]$")
FOLDER_PREFIX = "toyaudit-lab-"


class LabError(RuntimeError):
    """The lab could not be built, run or torn down; the message names the step."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The names and subnet one lab run owns until it is released."""

    lab_id: str
    """Four hex digits that every name of this run carries."""
    subnet: int
    """The third octet of the run's 10.77.x.0/24 and 10.88.x.0/24 networks."""


def run_ip(*arguments: str) -> str:
    """Run ``ip`` with ``arguments`` and return its output, or raise LabError."""
    command = ["ip", *arguments]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=IP_TIMEOUT, check=False
        )
    except FileNotFoundError as error:
        raise LabError(
            "the lab needs the ip command; install iproute2 (apt-get install iproute2)"
        ) from error
    except subprocess.TimeoutExpired as error:
        raise LabError(f"{' '.join(command)} took over {IP_TIMEOUT}s") from error
    if completed.returncode != 0:
        reason = completed.stderr.strip() or f"exit code {completed.returncode}"
        raise LabError(f"{' '.join(command)} failed: {reason}")
    return completed.stdout


def require_privileges() -> None:
    """Raise LabError unless this process can build namespaces (root and ``ip``)."""
    if os.geteuid() != 0:
        raise LabError(
            "the network-namespace lab needs root (CAP_NET_ADMIN); "
            "run the lab tests as root, e.g. sudo .venv/bin/pytest tests/lab"
        )
    if shutil.which("ip") is None:
        raise LabError(
            "the lab needs the ip command; install iproute2 (apt-get install iproute2)"
        )


def namespaces() -> list[str]:
    """The names of the host's network namespaces."""
    return [line.split()[0] for line in run_ip("netns", "list").splitlines() if line]


def links() -> list[str]:
    """The names of the host's network interfaces (without ``@peer``)."""
    names = []
    for line in run_ip("-o", "link", "show").splitlines():
        fields = line.split(":", 2)
        if len(fields) == 3:
            names.append(fields[1].strip().split("@")[0])
    return names


def lab_resources(lab_id: str) -> tuple[list[str], list[str]]:
    """The namespaces and host links that carry ``lab_id``."""
    owned_namespaces = [
        name for name in namespaces() if _id_of(NAMESPACE_PATTERN, name) == lab_id
    ]
    owned_links = [name for name in links() if _id_of(LINK_PATTERN, name) == lab_id]
    return owned_namespaces, owned_links


def remove_resources(lab_id: str) -> list[str]:
    """Delete every namespace and host link of ``lab_id``; return what failed.

    Processes still inside a namespace are killed first, since a namespace
    with a process in it outlives ``ip netns del``. Host links are deleted
    explicitly because deleting a namespace removes its veth ends (and their
    peers) asynchronously.
    """
    problems: list[str] = []
    owned_namespaces, owned_links = lab_resources(lab_id)
    for namespace in owned_namespaces:
        problems += _kill_namespace_processes(namespace)
    for link in owned_links:
        problems += _attempt("ip", "link", "del", link)
    for namespace in owned_namespaces:
        problems += _attempt("ip", "netns", "del", namespace)
    return problems


def _attempt(*command: str) -> list[str]:
    """Run one teardown command; return its failure as a one-item list."""
    try:
        run_ip(*command[1:])
    except LabError as error:
        return [str(error)]
    return []


def _kill_namespace_processes(namespace: str) -> list[str]:
    """Kill (SIGKILL) the lab processes left inside ``namespace``."""
    try:
        pids = [int(pid) for pid in run_ip("netns", "pids", namespace).split()]
    except LabError as error:
        return [str(error)]
    for pid in pids:
        logger.debug("killing leftover process %d in %s", pid, namespace)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + KILL_TIMEOUT
    while any(is_running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return [f"processes {pids} in {namespace} survived SIGKILL"]
        time.sleep(0.01)
    return []


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (dead, awaiting its parent)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def _id_of(pattern: re.Pattern[str], name: str) -> str | None:
    match = pattern.match(name)
    return match.group(1) if match else None


@contextmanager
def registry_lock() -> Iterator[None]:
    """Hold the registry's exclusive lock, waiting at most LOCK_TIMEOUT seconds."""
    REGISTRY.mkdir(mode=0o700, exist_ok=True)
    with (REGISTRY / ".lock").open("a") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError(
                        f"{REGISTRY}/.lock is held by another lab for over "
                        f"{LOCK_TIMEOUT}s; check for a hung test run"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _entries() -> dict[str, dict[str, object]]:
    """The registry's entries by lab id (unreadable ones count as stale)."""
    entries: dict[str, dict[str, object]] = {}
    for path in REGISTRY.glob("*.json"):
        try:
            entries[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries[path.stem] = {}
    return entries


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM
    return True


def live_lab_ids() -> set[str]:
    """The ids of lab runs whose owning process is still alive."""
    return {lab_id for lab_id, entry in _entries().items() if _alive(entry.get("pid"))}


def sweep_leftovers() -> list[str]:
    """Remove what crashed runs left behind; return the ids swept.

    Call with the registry lock held.
    """
    live = live_lab_ids()
    stale = {_id_of(NAMESPACE_PATTERN, name) for name in namespaces()}
    stale |= {_id_of(LINK_PATTERN, name) for name in links()}
    stale |= set(_entries())
    swept = sorted(lab_id for lab_id in stale if lab_id and lab_id not in live)
    for lab_id in swept:
        logger.warning("sweeping leftovers of crashed lab run %s", lab_id)
        for problem in remove_resources(lab_id):
            logger.warning("sweep of %s: %s", lab_id, problem)
        _remove_folder(_entries().get(lab_id, {}).get("folder"))
        (REGISTRY / f"{lab_id}.json").unlink(missing_ok=True)
    return swept


def _remove_folder(folder: object) -> None:
    """Remove a lab's temporary folder, but only one that looks like ours."""
    if isinstance(folder, str) and Path(folder).name.startswith(FOLDER_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def _used_subnets(live: set[str]) -> set[int]:
    used = {
        entry.get("subnet") for lab_id, entry in _entries().items() if lab_id in live
    }
    for line in run_ip("-4", "-o", "addr", "show").splitlines():
        match = re.search(r"inet 10\.(?:77|88)\.(\d+)\.", line)
        if match:
            used.add(int(match.group(1)))
    return {subnet for subnet in used if isinstance(subnet, int)}


def claim(folder: Path) -> Claim:
    """Sweep leftovers, reserve an id and subnet, and turn forwarding on."""
    with registry_lock():
        sweep_leftovers()
        live = live_lab_ids()
        free = sorted(set(range(1, 255)) - _used_subnets(live))
        if not free:
            raise LabError("no free 10.77.x.0/24 subnet left for another lab run")
        taken = set(_entries()) | {_id_of(LINK_PATTERN, name) for name in links()}
        lab_id = secrets.token_hex(2)
        while lab_id in taken:
            lab_id = secrets.token_hex(2)
        subnet = secrets.choice(free)
        entry = {"pid": os.getpid(), "subnet": subnet, "folder": str(folder)}
        (REGISTRY / f"{lab_id}.json").write_text(json.dumps(entry), encoding="utf-8")
        _enable_forwarding()
        return Claim(lab_id, subnet)


def release(lab_id: str) -> None:
    """Drop ``lab_id`` from the registry; the last run restores forwarding."""
    with registry_lock():
        (REGISTRY / f"{lab_id}.json").unlink(missing_ok=True)
        if not live_lab_ids():
            _restore_forwarding()


def _enable_forwarding() -> None:
    original = REGISTRY / "ip_forward.orig"
    if not original.exists():  # else a run that crashed recorded it already
        original.write_text(FORWARDING.read_text(encoding="ascii"), encoding="ascii")
    FORWARDING.write_text("1\n", encoding="ascii")


def _restore_forwarding() -> None:
    original = REGISTRY / "ip_forward.orig"
    if original.exists():
        FORWARDING.write_text(original.read_text(encoding="ascii"), encoding="ascii")
        original.unlink()
