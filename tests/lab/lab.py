"""The lab driver: build the world, run the toy in it, tear it all down.

See the package docstring (:mod:`tests.lab`) for the API and an example.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.lab import host, netns
from tests.lab.host import LabError
from tests.lab.pki import issue_pki
from tests.lab.records import ServerLogs, ToySummary
from toyaudit.demo_scenario import PERSONA, SESSION, TOY_AGENT

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[2]
"""The checkout the lab's processes import ``tests.lab`` from."""
SERVER_NAMES = {
    "api": "api.plushpal.example",
    "voice": "voice.plushpal.example",
    "media": "media.plushpal.example",
    "mqtt": "mqtt.plushpal.example",
    "tracker": "telemetry.tracker.example",
    "analytics": "app-measurement.com",
}
"""The toy's servers by role; the cloud gives each its own address."""
GATEWAY_MAC = "02:00:5e:c0:04:01"
"""The hotspot interface's MAC, as in the bundled demo."""
MQTT_CREDENTIALS = {"username": "bramble", "password": "PPB2-factory-key"}
"""What the toy logs in to the broker with: a shared factory secret."""
PORTS = {"dns": 53, "http": 80, "https": 443, "mqtt": 1883}
STOP_GRACE = 2.0
"""Seconds a lab process gets to exit after SIGTERM before SIGKILL."""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process``, then kill it if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_GRACE)


def _tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a process's stderr file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no stderr)"


def _teardown_network(lab_id: str) -> list[str]:
    """Remove the run's namespaces and links, then release its claim.

    Each phase runs even when the one before failed; returns the problems.
    """
    problems: list[str] = []
    try:
        problems += host.remove_resources(lab_id)
    except LabError as error:
        problems.append(str(error))
    try:
        host.release(lab_id)
        namespaces, links = host.lab_resources(lab_id)
    except LabError as error:
        return [*problems, str(error)]
    return problems + [f"{name} is still there" for name in namespaces + links]


class ToyRun:
    """One simulated toy process, started by :meth:`Lab.start_toy`."""

    def __init__(self, process: subprocess.Popen[bytes], output: Path) -> None:
        self.process = process
        self.output = output
        """Where the toy's stdout goes; stderr goes beside it (``.err``)."""

    @property
    def pid(self) -> int:
        """The toy's process id."""
        return self.process.pid

    def wait(self, timeout: float) -> ToySummary:
        """Wait for the toy to finish its script and return its summary.

        Raises LabError if it runs longer than ``timeout`` seconds (it is then
        killed) or exits with an error.
        """
        errors = self.output.with_suffix(".err")
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(self.process)
            raise LabError(
                f"the simulated toy ran over {timeout}s; stderr:\n{_tail(errors)}"
            ) from None
        if self.process.returncode != 0:
            raise LabError(
                f"the simulated toy exited with code {self.process.returncode}; "
                f"stderr:\n{_tail(errors)}"
            )
        return ToySummary.from_json(self.output.read_text(encoding="utf-8"))

    def stop(self) -> None:
        """End the toy now if it still runs."""
        _stop(self.process)


class Lab:
    """A toy namespace, a cloud namespace and the host routing between them.

    ``persona`` has the shape of persona.yaml (the demo's by default); the
    toy's MAC is the persona's unless ``toy_mac`` is given. ``cloud_timeout``
    bounds the wait for the cloud services to listen. Use as a context
    manager; :meth:`close` tears everything down and is safe to call twice.
    """

    def __init__(
        self,
        persona: Mapping[str, Any] | None = None,
        *,
        toy_mac: str | None = None,
        cloud_timeout: float = 10.0,
    ) -> None:
        self.persona: Mapping[str, Any] = persona or PERSONA
        self.toy_mac: str = toy_mac or self.persona["toy"]["mac"]
        self.cloud_timeout = cloud_timeout
        self._folder: Path | None = None
        self._claim: host.Claim | None = None
        self._processes: list[subprocess.Popen[bytes]] = []
        self._closed = False
        self._topology: netns.Topology | None = None
        self._cloud: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._close_after(error)

    def start(self) -> None:
        """Build the topology and start the cloud; on any failure, tear down."""
        try:
            host.require_privileges()
            self._folder = Path(tempfile.mkdtemp(prefix=host.FOLDER_PREFIX))
            self._claim = host.claim(self._folder)
            self._topology = netns.Topology(
                self._claim.lab_id,
                self._claim.subnet,
                self.toy_mac,
                GATEWAY_MAC,
                tuple(SERVER_NAMES.values()),
            )
            netns.build(self._topology)
            self._start_cloud()
        except BaseException as error:
            self._close_after(error)
            raise
        logger.info("lab %s is up on %s", self.lab_id, self.hotspot_interface)

    def _close_after(self, error: BaseException | None) -> None:
        """Close; if ``error`` is in flight, note teardown problems on it."""
        try:
            self.close()
        except LabError as teardown:
            if error is None:
                raise
            error.add_note(f"and the lab's teardown failed: {teardown}")

    def close(self) -> None:
        """Stop every process, delete the namespaces and links, restore forwarding.

        Every step is attempted even if one fails; LabError then lists what is
        left over.
        """
        if self._closed:
            return
        self._closed = True
        problems: list[str] = []
        for process in self._processes:
            try:
                _stop(process)
            except subprocess.TimeoutExpired:
                problems.append(f"process {process.pid} did not die")
        if self._claim is not None:
            problems += _teardown_network(self._claim.lab_id)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        if problems:
            raise LabError(f"lab teardown left problems: {'; '.join(problems)}")

    @property
    def topology(self) -> netns.Topology:
        """The lab's names and addresses (only once started)."""
        if self._topology is None:
            raise LabError("the lab is not started; use it as `with Lab() as lab`")
        return self._topology

    @property
    def folder(self) -> Path:
        """The private working folder: configs, certificates, server logs.

        It is deleted at teardown, so read :meth:`server_logs` before that.
        """
        if self._folder is None:
            raise LabError("the lab is not started; use it as `with Lab() as lab`")
        return self._folder

    @property
    def lab_id(self) -> str:
        """Four hex digits in every namespace and link name of this run."""
        return self.topology.lab_id

    @property
    def hotspot_interface(self) -> str:
        """The host interface the toy is attached to: what a capture uses."""
        return self.topology.hotspot_interface

    @property
    def toy_ip(self) -> str:
        """The toy's IPv4 address."""
        return self.topology.toy_ip

    @property
    def gateway_ip(self) -> str:
        """The hotspot interface's address, the toy's gateway."""
        return self.topology.gateway_ip

    @property
    def dns_server(self) -> str:
        """The cloud address the toy sends its DNS queries to."""
        return self.topology.cloud_ip

    @property
    def server_addresses(self) -> Mapping[str, str]:
        """Each server name's cloud address, as the lab DNS answers it."""
        return self.topology.server_addresses

    @property
    def ca_path(self) -> Path:
        """The lab's public CA (PEM): give it to mitmdump as
        ``ssl_verify_upstream_trusted_ca``."""
        return self.folder / "lab-ca.pem"

    @property
    def process_ids(self) -> tuple[int, ...]:
        """The ids of every process the lab started (cloud and toys)."""
        return tuple(process.pid for process in self._processes)

    def _spawn(
        self, namespace: str, module: str, config: dict[str, Any], name: str
    ) -> subprocess.Popen[bytes]:
        """Start ``python -m module <name>.json`` inside ``namespace``.

        Its output goes to ``<name>.out`` and ``<name>.err`` in the folder.
        """
        config_path = self.folder / f"{name}.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        python = [sys.executable, "-m", module, str(config_path)]
        with (
            (self.folder / f"{name}.out").open("wb") as out,
            (self.folder / f"{name}.err").open("wb") as err,
        ):
            process = subprocess.Popen(
                ["ip", "netns", "exec", namespace, *python],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
                cwd=self.folder,
            )
        self._processes.append(process)
        return process

    def _start_cloud(self) -> None:
        """Issue the certificates, start the cloud and wait until it listens."""
        pki = issue_pki(self.folder, tuple(SERVER_NAMES.values()))
        config = {
            "folder": str(self.folder),
            "answers": dict(self.server_addresses),
            "credentials": {
                name: [str(credential.certificate_path), str(credential.key_path)]
                for name, credential in pki.credentials.items()
            },
            "ports": PORTS,
        }
        namespace = self.topology.cloud_namespace
        self._cloud = self._spawn(namespace, "tests.lab.cloud", config, "cloud")
        self._await_cloud(self._cloud)

    def _await_cloud(self, cloud: subprocess.Popen[bytes]) -> None:
        """Wait until the cloud says it listens; LabError if it dies or is late."""
        deadline = time.monotonic() + self.cloud_timeout
        while not (self.folder / "cloud.ready").exists():
            if cloud.poll() is not None:
                errors = _tail(self.folder / "cloud.err")
                raise LabError(
                    f"the lab cloud exited with code {cloud.returncode}; "
                    f"stderr:\n{errors}"
                )
            if time.monotonic() > deadline:
                raise LabError(
                    f"the lab cloud did not listen within {self.cloud_timeout}s"
                )
            time.sleep(0.02)

    def stop_cloud(self) -> None:
        """Stop the cloud services, as if the vendor's servers went away."""
        if self._cloud is not None:
            _stop(self._cloud)

    def start_toy(
        self, deadline: float = 20.0, steps: Sequence[str] | None = None
    ) -> ToyRun:
        """Start the simulated toy; it gives up on its script after ``deadline`` s.

        ``steps`` runs only those steps of the script (tests.lab.toy.STEP_NAMES),
        in the script's order; ``None`` runs all of them.
        """
        config = {
            "persona": dict(self.persona),
            "hosts": SERVER_NAMES,
            "dns_server": self.dns_server,
            "ca_path": str(self.ca_path),
            "agent": TOY_AGENT,
            "firmware": SESSION["toy"]["firmware"],
            "mqtt": MQTT_CREDENTIALS,
            "timeout": 3.0,
            "deadline": deadline,
            "careful_attempts": 3,
            "retry_delay": 0.3,
            "steps": list(steps) if steps is not None else None,
        }
        name = f"toy-{len(self._processes)}"
        process = self._spawn(
            self.topology.toy_namespace, "tests.lab.toy", config, name
        )
        return ToyRun(process, self.folder / f"{name}.out")

    def run_toy(
        self, timeout: float = 30.0, steps: Sequence[str] | None = None
    ) -> ToySummary:
        """Run the toy's script (or ``steps`` of it); return its summary."""
        return self.start_toy(max(timeout - 2.0, 1.0), steps).wait(timeout)

    def server_logs(self) -> ServerLogs:
        """What the cloud services have received so far."""
        return ServerLogs.read(self.folder)
