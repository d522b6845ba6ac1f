"""Regenerate the bundled demo session by capturing the simulated toy for real.

``sudo .venv/bin/python -m tests.lab.demo [FOLDER]`` (default
``captures/demo-plushbear``) builds the namespace lab, runs ``toyaudit
capture`` as a user would (scapy on the hotspot interface, mitmdump in
transparent mode, Bluetooth LE through bleak against the lab's BlueZ
stand-in), walks the toy through the phases of a parent's audit, and
replaces FOLDER with the sealed session. Needs root, iproute2, iptables and
dbus-daemon, like the capture tests.

The phases: ``pre-setup`` (the toy is switched on: DNS only), ``setup`` (it
says hello over plain HTTP and uploads the child's profile), ``play`` (a
voice clip, a tracker event, a story download over a connection that
refuses our certificate, MQTT telemetry). A real capture is not
reproducible byte for byte (times, ports, keys), so the demo's tests check
what it shows rather than its bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from tests.lab import Lab, LabError
from tests.lab.bledemo import ble_toy
from toyaudit.demo_scenario import PERSONA, SESSION

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_FOLDER = REPOSITORY / "captures" / "demo-plushbear"
PERSONA_HEADER = (
    "# The fake child profile typed into the demo toy's app; all of it is\n"
    "# fictional. Written by tests/lab/demo.py.\n"
)
SETUP_STEPS = ("wifi", "analytics", "hello", "profile")
PLAY_STEPS = ("voice", "telemetry", "stories", "mqtt")


def capture_demo(target: Path) -> Path:
    """Capture the simulated toy into a new session and move it to ``target``."""
    with tempfile.TemporaryDirectory(prefix="toyaudit-demo-") as scratch:
        work = Path(scratch)
        persona = work / "persona.yaml"
        persona.write_text(
            PERSONA_HEADER + yaml.safe_dump(dict(PERSONA), sort_keys=False)
        )
        session = work / target.name
        with Lab() as lab, ble_toy(work) as bus_address:
            _capture(lab, session, persona, {"DBUS_SYSTEM_BUS_ADDRESS": bus_address})
        _replace(target, session)
    return target


def _capture(
    lab: Lab, session: Path, persona: Path, environment: Mapping[str, str]
) -> None:
    toy = SESSION["toy"]
    command = [
        sys.executable, "-m", "toyaudit", "capture", str(session),
        "--interface", lab.hotspot_interface, "--toy", lab.toy_mac,
        "--proxy", "transparent",
        "--proxy-set", f"ssl_verify_upstream_trusted_ca={lab.ca_path}",
        "--ble", "--ble-device", toy["name"].split()[0], "--ble-connect",
        "--persona", str(persona), "--toy-name", toy["name"],
        "--vendor", toy["vendor"], "--vendor-domain", "plushpal.example",
        "--by", "toyaudit demo script (tests/lab/demo.py)",
    ]  # fmt: skip
    log = session.parent / "capture.log"
    with log.open("wb") as log_file:
        capture = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **environment},
        )
    try:
        _wait_until_recording(session, capture, log)
        time.sleep(1.0)
        _mark(session, "setup")
        _require(lab.run_toy(timeout=60, steps=SETUP_STEPS).ok, "setup steps")
        _mark(session, "setup done")
        _require(lab.run_toy(timeout=60, steps=PLAY_STEPS).ok, "play steps")
        time.sleep(1.5)
        _mark(session, "end")
        if capture.wait(timeout=60) != 0:
            raise LabError(f"the capture failed:\n{log.read_text()}")
    finally:
        if capture.poll() is None:
            capture.kill()


def _wait_until_recording(
    session: Path, capture: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if capture.poll() is not None:
            raise LabError(f"the capture exited early:\n{log.read_text()}")
        try:
            document = yaml.safe_load((session / "session.yaml").read_text())
            recorders = set(document["capture"]["recorders"] or {})
        except (OSError, KeyError, TypeError):
            recorders = set()
        if {"packets", "proxy", "ble"} <= recorders:
            return
        time.sleep(0.1)
    raise LabError(f"the capture never started recording:\n{log.read_text()}")


def _mark(session: Path, phase: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "toyaudit", "mark", str(session), phase],
        check=True,
        capture_output=True,
    )


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise LabError(f"the simulated toy's {what} did not all succeed")


def _replace(target: Path, session: Path) -> None:
    """Swap the new session in, keeping the old one until the move succeeded.

    The capture's hidden working files (mitmdump's log, the proxy's status)
    are not part of the session and are left out of the bundled copy.
    """
    for hidden in session.glob(".*"):
        hidden.unlink()
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    shutil.move(str(session), target)
    shutil.rmtree(old, ignore_errors=True)


def main(arguments: list[str]) -> int:
    """Regenerate the demo into ``arguments[0]`` or the bundled folder."""
    target = Path(arguments[0]) if arguments else DEFAULT_FOLDER
    capture_demo(target.resolve())
    sys.stdout.write(f"demo session captured into {target}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
