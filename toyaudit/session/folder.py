"""Read and seal a capture session folder.

A session is what one capture of one toy leaves behind (docs/session-format.md):
``session.yaml`` describes the toy and the capture, ``persona.yaml`` holds the
fake child profile typed during setup, the evidence files hold the traffic, and
``manifest.json`` holds the SHA-256 and size of every other file. The manifest
is checked before anything else is read, so an audit never runs on evidence
that changed after it was captured. Nothing here writes into a session except
:func:`seal_session`, which writes the manifest on request.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from toyaudit.errors import SessionError, ToyauditError
from toyaudit.files import sha256_file, write_atomic
from toyaudit.session.digests import PendingDigests
from toyaudit.session.manifest import session_files, verify_manifest
from toyaudit.session.records import (
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    METADATA_FILES,
    PERSONA_FIELDS,
    PERSONA_FILE,
    SESSION_FILE,
    PersonaValue,
    Phase,
    Session,
    Toy,
)

__all__ = ["load_session", "seal_session", "verify_manifest"]

logger = logging.getLogger(__name__)


def load_session(path: Path, pending: PendingDigests | None = None) -> Session:
    """Verify a session folder against its manifest and read its metadata.

    Raises :class:`SessionError` naming the file when the folder or a required
    file is missing, a file differs from the manifest, or a YAML file is
    malformed. With ``pending``, the digests of large evidence files are
    left to it (:func:`verify_manifest`); should the folder still be
    refused, the pending digests are checked first, so a changed file is
    what the error names, as without ``pending``.
    """
    if not path.is_dir():
        raise SessionError(
            f"{path}: no such session folder",
            "give the folder that holds session.yaml and manifest.json",
        )
    manifest_sha256 = verify_manifest(path, pending)
    try:
        return _read_session(path, manifest_sha256)
    except ToyauditError:
        if pending is not None:
            pending.finish()
        raise


def _read_session(path: Path, manifest_sha256: str) -> Session:
    """The session a verified folder describes."""
    description = _read_yaml_mapping(path / SESSION_FILE, required=True)
    persona_path = path / PERSONA_FILE
    notes: list[str] = []
    if persona_path.exists():
        persona = _parse_persona(persona_path, _read_yaml_mapping(persona_path))
    else:
        persona = ()
        notes.append("no persona.yaml: the fake child profile was not searched for")
    evidence = tuple(
        file_path.name
        for file_path in session_files(path)
        if file_path.name not in METADATA_FILES
    )
    if not evidence:
        notes.append("the session holds no evidence file: nothing to audit")
    session_file = path / SESSION_FILE
    notes.extend(_capture_notes(session_file, description))
    return Session(
        path=path,
        name=path.resolve().name,
        toy=_parse_toy(session_file, description),
        first_party_domains=_parse_domains(session_file, description),
        captured_at=_parse_time(session_file, description, "captured", "at"),
        captured_by=str(_section(session_file, description, "captured").get("by", "")),
        phases=_parse_phases(session_file, description),
        persona=persona,
        evidence=evidence,
        manifest_sha256=manifest_sha256,
        notes=tuple(notes),
    )


def seal_session(path: Path) -> Path:
    """Write ``manifest.json`` for every file in a session folder, atomically.

    Used by the capture stage and the demo generator, and by people who put a
    session together by hand. Returns the manifest's path.
    """
    if not (path / SESSION_FILE).is_file():
        raise SessionError(
            f"{path / SESSION_FILE}: missing", "write session.yaml before sealing"
        )
    files: dict[str, dict[str, Any]] = {}
    for file_path in session_files(path):
        digest, size = sha256_file(file_path)
        files[file_path.name] = {"sha256": digest, "size": size}
    manifest = {"format": MANIFEST_FORMAT, "algorithm": "sha256", "files": files}
    manifest_path = path / MANIFEST_FILE
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_atomic(manifest_path, text.encode())
    logger.info("sealed %s (%d files)", manifest_path, len(files))
    return manifest_path


def _read_yaml_mapping(file_path: Path, required: bool = False) -> Mapping[str, Any]:
    if not file_path.is_file():
        if required:
            raise SessionError(
                f"{file_path}: missing", "every session needs a session.yaml"
            )
        return {}
    try:
        document = yaml.safe_load(file_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{file_path}:{mark.line + 1}" if mark is not None else str(file_path)
        problem = getattr(error, "problem", None) or "malformed YAML"
        raise SessionError(f"{where}: {problem}", "fix the YAML syntax") from error
    except (OSError, UnicodeDecodeError) as error:
        raise SessionError(f"{file_path}: cannot be read ({error})", "") from error
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise SessionError(
            f"{file_path}: expected a mapping of keys to values at the top",
            "see docs/session-format.md",
        )
    return document


def _section(
    file_path: Path, document: Mapping[str, Any], key: str
) -> Mapping[str, Any]:
    section = document.get(key) or {}
    if not isinstance(section, dict):
        raise SessionError(
            f"{file_path}: '{key}' must be a mapping", "see docs/session-format.md"
        )
    return section


def _parse_toy(file_path: Path, document: Mapping[str, Any]) -> Toy:
    toy = _section(file_path, document, "toy")
    if not toy.get("name"):
        raise SessionError(
            f"{file_path}: 'toy.name' is missing", "name the toy you audited"
        )
    return Toy(
        name=str(toy["name"]),
        vendor=str(toy.get("vendor", "")),
        model=str(toy.get("model", "")),
        firmware=str(toy.get("firmware", "")),
    )


def _parse_domains(file_path: Path, document: Mapping[str, Any]) -> tuple[str, ...]:
    domains = document.get("first_party_domains") or []
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        raise SessionError(
            f"{file_path}: 'first_party_domains' must be a list of domain names",
            "list the vendor's own domains, e.g. [toyvendor.example]",
        )
    return tuple(domain.strip().lower().strip(".") for domain in domains if domain)


def _parse_time(
    file_path: Path, document: Mapping[str, Any], section: str, key: str
) -> dt.datetime | None:
    raw = _section(file_path, document, section).get(key)
    return None if raw is None else _to_datetime(file_path, f"{section}.{key}", raw)


def _to_datetime(file_path: Path, where: str, raw: object) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        moment = raw
    else:
        try:
            moment = dt.datetime.fromisoformat(str(raw))
        except ValueError as error:
            raise SessionError(
                f"{file_path}: '{where}' is not a date and time ({raw!r})",
                "use ISO 8601, e.g. 2026-11-20T10:00:00Z",
            ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _capture_notes(file_path: Path, document: Mapping[str, Any]) -> list[str]:
    """What the ``capture`` section written by ``toyaudit capture`` adds to a report."""
    capture = _section(file_path, document, "capture")
    notes: list[str] = []
    if capture.get("complete") is False:
        reason = str(capture.get("incomplete_reason") or "no reason was recorded")
        notes.append(
            f"the capture is incomplete ({reason}); everything recorded "
            "until it stopped is audited"
        )
    settings = capture.get("settings")
    if isinstance(settings, dict) and settings.get("ca_installed_on_device"):
        notes.append(
            "the capture's certificate authority was installed on the device, "
            "so connections it accepted are not proof the device skips "
            "certificate checks"
        )
    return notes


def _parse_phases(file_path: Path, document: Mapping[str, Any]) -> tuple[Phase, ...]:
    phases = document.get("phases") or []
    if not isinstance(phases, list):
        raise SessionError(
            f"{file_path}: 'phases' must be a list", "see docs/session-format.md"
        )
    parsed: list[Phase] = []
    for index, phase in enumerate(phases):
        where = f"phases[{index}]"
        if not isinstance(phase, dict) or not {"name", "start", "end"} <= phase.keys():
            raise SessionError(
                f"{file_path}: '{where}' needs 'name', 'start' and 'end'",
                "see docs/session-format.md",
            )
        start = _to_datetime(file_path, f"{where}.start", phase["start"])
        end = _to_datetime(file_path, f"{where}.end", phase["end"])
        parsed.append(Phase(name=str(phase["name"]), start=start, end=end))
    return tuple(parsed)


def _parse_persona(
    file_path: Path, document: Mapping[str, Any]
) -> tuple[PersonaValue, ...]:
    values: list[PersonaValue] = []
    for section, fields in document.items():
        if not isinstance(fields, dict):
            raise SessionError(
                f"{file_path}: '{section}' must be a mapping of fields",
                "see docs/session-format.md",
            )
        for key, raw in fields.items():
            name = f"{section}.{key}"
            if name not in PERSONA_FIELDS:
                raise SessionError(
                    f"{file_path}: unknown persona field '{name}'",
                    "use one of: " + ", ".join(PERSONA_FIELDS),
                )
            if raw is None or raw == "":
                continue
            values.append(
                PersonaValue(field=name, value=_persona_text(file_path, name, raw))
            )
    return tuple(values)


def _persona_text(file_path: Path, name: str, raw: object) -> str:
    if name == "home.coordinates":
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all(isinstance(part, int | float) for part in raw)
        ):
            raise SessionError(
                f"{file_path}: 'home.coordinates' must be [latitude, longitude]",
                "e.g. [51.50134, -0.14189]",
            )
        return f"{raw[0]},{raw[1]}"
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, dict | list):
        raise SessionError(
            f"{file_path}: '{name}' must be a single value",
            "see docs/session-format.md",
        )
    return str(raw)
