"""What a lab run reports: the toy's summary and the cloud servers' logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SERVICES = ("dns", "http", "https", "mqtt")
"""The cloud's services, each with its own log."""


@dataclass(frozen=True, slots=True)
class ToyStep:
    """One step of the toy's script, as the toy saw it."""

    name: str
    """``hello``, ``profile``, ``voice``, ``telemetry``, ``stories`` or ``mqtt``."""
    host: str
    port: int
    ok: bool
    """True when the server answered with success (HTTP 2xx, CONNACK 0)."""
    status: int | None
    """The HTTP status or CONNACK code; None when no answer came."""
    error: str | None
    """Why the step failed, when it did."""
    attempts: tuple[str, ...]
    """For the careful client: ``certificate-rejected``, ``answered`` or
    ``failed`` per try, in order. Empty for steps that do not retry."""


@dataclass(frozen=True, slots=True)
class ToySummary:
    """What the simulated toy did: its DNS answers and every step."""

    lookups: Mapping[str, str | None]
    """Each name the toy resolved, with the address it got (None: no address)."""
    steps: tuple[ToyStep, ...]

    @classmethod
    def from_json(cls, text: str) -> ToySummary:
        """Read the JSON summary the toy prints."""
        document = json.loads(text)
        steps = tuple(
            ToyStep(
                name=step["name"],
                host=step["host"],
                port=step["port"],
                ok=step["ok"],
                status=step["status"],
                error=step["error"],
                attempts=tuple(step["attempts"]),
            )
            for step in document["steps"]
        )
        return cls(dict(document["lookups"]), steps)

    @property
    def ok(self) -> bool:
        """True when every step succeeded."""
        return all(step.ok for step in self.steps)

    def step(self, name: str) -> ToyStep:
        """The step called ``name``; KeyError if the toy has none."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"the toy ran no step called {name!r}")


@dataclass(frozen=True, slots=True)
class ServerLogs:
    """What each cloud service received, one record per event, in order.

    DNS records have ``event`` (``query``), ``client``, ``name``, ``type``
    and ``answer``. HTTP and HTTPS records have ``event`` (``request``,
    ``handshake-failed`` or ``error``), ``client``, ``server``, ``sni``
    (HTTPS), ``method``, ``host``, ``path``, ``headers``, ``body_text`` (None
    unless UTF-8), ``body_size`` and ``body_sha256``. MQTT records have
    ``event`` (``connect``, ``publish``, ``ping``, ``disconnect``), and for
    CONNECT the ``client_id``, ``username`` and ``password``, for PUBLISH the
    ``topic``, ``qos`` and the body fields.
    """

    dns: tuple[Mapping[str, Any], ...]
    http: tuple[Mapping[str, Any], ...]
    https: tuple[Mapping[str, Any], ...]
    mqtt: tuple[Mapping[str, Any], ...]

    @classmethod
    def read(cls, folder: Path) -> ServerLogs:
        """Read the four logs the cloud writes into ``folder``."""
        logs = {
            service: _read_jsonl(folder / f"{service}.jsonl") for service in SERVICES
        }
        return cls(**logs)

    def requests(self, path: str) -> list[Mapping[str, Any]]:
        """HTTP and HTTPS requests whose path (without query) is ``path``."""
        return [
            record
            for record in (*self.http, *self.https)
            if record.get("event") == "request"
            and str(record.get("path", "")).split("?")[0] == path
        ]


def _read_jsonl(path: Path) -> tuple[Mapping[str, Any], ...]:
    """Every whole line of a JSON Lines log; a missing log is an empty one."""
    if not path.exists():
        return ()
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:  # a line cut by a kill; the writer flushes whole lines
            logger.debug("skipping a partial line in %s", path)
    return tuple(records)
