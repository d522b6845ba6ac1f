"""Tests for reading, verifying and sealing session folders."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest

from toyaudit.errors import ExitCode, SessionError
from toyaudit.session import (
    PendingDigests,
    load_session,
    open_evidence,
    seal_session,
    verify_manifest,
)
from toyaudit.session.digests import DEFERRED_FROM_BYTES, ListedFile

SESSION_YAML = """\
toy:
  name: Test Bear
  vendor: Test Toys
  model: TB-1
  firmware: "1.0"
first_party_domains: [TestToys.example., cdn.testtoys.example]
captured:
  at: 2026-11-20T10:00:00
  by: tester
phases:
  - {name: setup, start: 2026-11-20T10:00:00Z, end: 2026-11-20T10:05:00Z}
"""

PERSONA_YAML = """\
child:
  name: Quill Tester
  birthdate: 2019-04-12
home:
  coordinates: [51.5, -0.14]
toy:
  mac: "02:00:00:aa:bb:cc"
"""


def make_session(folder: Path, persona: str | None = PERSONA_YAML) -> Path:
    """Write a small sealed session with one evidence file."""
    folder.mkdir()
    (folder / "session.yaml").write_text(SESSION_YAML)
    if persona is not None:
        (folder / "persona.yaml").write_text(persona)
    (folder / "traffic.pcap").write_bytes(b"not really a pcap")
    seal_session(folder)
    return folder


def test_load_session_reads_metadata_and_persona(tmp_path: Path) -> None:
    session = load_session(make_session(tmp_path / "bear-1"))

    assert session.name == "bear-1"
    assert session.toy.name == "Test Bear"
    assert session.toy.firmware == "1.0"
    assert session.first_party_domains == ("testtoys.example", "cdn.testtoys.example")
    assert session.captured_at == dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
    assert [phase.name for phase in session.phases] == ["setup"]
    persona = {value.field: value.value for value in session.persona}
    assert persona == {
        "child.name": "Quill Tester",
        "child.birthdate": "2019-04-12",
        "home.coordinates": "51.5,-0.14",
        "toy.mac": "02:00:00:aa:bb:cc",
    }
    assert session.evidence == ("traffic.pcap",)
    assert session.notes == ()


def test_load_session_notes_missing_persona(tmp_path: Path) -> None:
    session = load_session(make_session(tmp_path / "s", persona=None))

    assert session.persona == ()
    assert any("persona.yaml" in note for note in session.notes)


def test_verify_manifest_refuses_altered_file(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s")
    (folder / "traffic.pcap").write_bytes(b"not really a pcap!")

    with pytest.raises(SessionError) as caught:
        verify_manifest(folder)

    assert "traffic.pcap" in caught.value.message
    assert "does not match manifest.json" in caught.value.message
    assert caught.value.exit_code == ExitCode.SESSION


def test_verify_manifest_refuses_same_size_tampering(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s")
    (folder / "traffic.pcap").write_bytes(b"not really a PCAP")

    with pytest.raises(SessionError, match="traffic.pcap"):
        verify_manifest(folder)


def test_verify_manifest_refuses_missing_and_unlisted_files(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s")
    (folder / "flows.mitm").write_bytes(b"extra")
    with pytest.raises(SessionError, match="flows.mitm: not listed"):
        verify_manifest(folder)

    (folder / "flows.mitm").unlink()
    (folder / "persona.yaml").unlink()
    with pytest.raises(SessionError, match="persona.yaml: listed in manifest.json"):
        verify_manifest(folder)


def test_verify_manifest_refuses_missing_or_corrupt_manifest(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s")
    manifest = folder / "manifest.json"
    manifest.write_text("{ not json")
    with pytest.raises(SessionError, match="manifest.json: not valid JSON"):
        verify_manifest(folder)

    manifest.write_text(
        json.dumps({"files": {"../escape": {"sha256": "0", "size": 1}}})
    )
    with pytest.raises(SessionError, match="plain file name"):
        verify_manifest(folder)

    manifest.unlink()
    with pytest.raises(SessionError) as caught:
        verify_manifest(folder)
    assert "toyaudit session seal" in caught.value.hint


def test_load_session_names_yaml_line_on_syntax_error(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s")
    (folder / "session.yaml").write_text("toy:\n  name: [unclosed\n")
    seal_session(folder)

    with pytest.raises(SessionError) as caught:
        load_session(folder)

    assert "session.yaml:" in caught.value.message
    assert caught.value.hint


def test_load_session_reads_a_siblings_name(tmp_path: Path) -> None:
    persona = "sibling:\n  name: Tamsin Quince\n  first_name: Tamsin\n"
    session = load_session(make_session(tmp_path / "s", persona=persona))

    assert {value.field: value.value for value in session.persona} == {
        "sibling.name": "Tamsin Quince",
        "sibling.first_name": "Tamsin",
    }


def test_load_session_refuses_unknown_persona_field(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s", persona="child:\n  nmae: Typo\n")

    with pytest.raises(SessionError, match="unknown persona field 'child.nmae'"):
        load_session(folder)


def test_load_session_refuses_bad_coordinates_and_times(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s", persona="home:\n  coordinates: 51.5\n")
    with pytest.raises(SessionError, match="home.coordinates"):
        load_session(folder)

    bad_time = SESSION_YAML.replace("2026-11-20T10:00:00\n", "yesterday\n")
    (folder / "session.yaml").write_text(bad_time)
    (folder / "persona.yaml").write_text(PERSONA_YAML)
    seal_session(folder)
    with pytest.raises(SessionError, match="captured.at"):
        load_session(folder)


def test_load_session_requires_toy_name(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s")
    (folder / "session.yaml").write_text("toy: {vendor: x}\n")
    seal_session(folder)

    with pytest.raises(SessionError, match="toy.name"):
        load_session(folder)


def test_load_session_refuses_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="no such session folder"):
        load_session(tmp_path / "absent")


def test_seal_session_writes_private_manifest(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s")
    manifest = json.loads((folder / "manifest.json").read_text())

    assert sorted(manifest["files"]) == ["persona.yaml", "session.yaml", "traffic.pcap"]
    assert manifest["files"]["traffic.pcap"]["size"] == len(b"not really a pcap")
    mode = stat.S_IMODE((folder / "manifest.json").stat().st_mode)
    assert mode == 0o600


def test_seal_session_refuses_folder_without_session_yaml(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="session.yaml"):
        seal_session(tmp_path)


def test_open_evidence_single_capture_with_keylog(tmp_path: Path) -> None:
    capture = tmp_path / "toy.pcapng"
    capture.write_bytes(b"capture bytes")
    (tmp_path / "toy.keys.txt").write_text("CLIENT_RANDOM aa bb\n")
    (tmp_path / "unrelated.pcap").write_bytes(b"other")

    session = open_evidence(capture)

    assert session.evidence == ("toy.pcapng", "toy.keys.txt")
    assert session.name == "toy"
    assert session.sealed is False
    assert session.first_party_domains == () and session.persona == ()
    assert any("without a session folder" in note for note in session.notes)


def test_open_evidence_loose_digest_pins_the_files(tmp_path: Path) -> None:
    capture = tmp_path / "toy.pcap"
    capture.write_bytes(b"one")
    first = open_evidence(capture).manifest_sha256
    capture.write_bytes(b"two")

    assert open_evidence(capture).manifest_sha256 != first
    assert len(first) == 64


def test_open_evidence_folder_of_captures(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("b.pcap", "a.har", ".hidden"):
        (folder / name).write_bytes(b"x")
    (folder / "sub").mkdir()

    session = open_evidence(folder)

    assert session.evidence == ("a.har", "b.pcap")
    assert session.name == "batch"
    assert any("sub-folders" in note for note in session.notes)


def test_open_evidence_prefers_session_folder(tmp_path: Path) -> None:
    folder = make_session(tmp_path / "s")

    session = open_evidence(folder)

    assert session.sealed is True
    assert session.toy.name == "Test Bear"


def test_open_evidence_refuses_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="no such file or folder"):
        open_evidence(tmp_path / "absent.pcap")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SessionError, match="holds no files"):
        open_evidence(tmp_path / "empty")


LARGE = DEFERRED_FROM_BYTES + 4096
"""Evidence large enough for its digest to be left to :class:`PendingDigests`."""


def _large_session(folder: Path, session_yaml: str = SESSION_YAML) -> Path:
    """A sealed session with a large capture and a small key log."""
    folder.mkdir()
    (folder / "session.yaml").write_text(session_yaml)
    (folder / "traffic.pcap").write_bytes(bytes(range(256)) * (LARGE // 256))
    (folder / "zz-keys.log").write_text("# no keys\n")
    seal_session(folder)
    return folder


def _flip_last_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))


def _upfront_error(folder: Path) -> SessionError:
    with pytest.raises(SessionError) as caught:
        load_session(folder)
    return caught.value


@pytest.mark.parametrize("threaded", [False, True])
def test_pending_digests_refuse_a_changed_large_file_like_the_upfront_check(
    tmp_path: Path, threaded: bool
) -> None:
    folder = _large_session(tmp_path / "s")
    _flip_last_byte(folder / "traffic.pcap")
    upfront = _upfront_error(folder)
    pending = PendingDigests()

    session = load_session(folder, pending)
    if threaded:
        pending.start()
    with pytest.raises(SessionError) as caught:
        pending.finish()

    assert session.evidence == ("traffic.pcap", "zz-keys.log")
    assert (caught.value.message, caught.value.hint) == (upfront.message, upfront.hint)
    assert "traffic.pcap: does not match manifest.json" in upfront.message
    pending.finish()  # once refused, nothing is left to check


@pytest.mark.parametrize("threaded", [False, True])
def test_pending_digests_pass_unchanged_evidence(
    tmp_path: Path, threaded: bool
) -> None:
    folder = _large_session(tmp_path / "s")
    pending = PendingDigests()

    session = load_session(folder, pending)
    if threaded:
        pending.start()
    pending.finish()

    assert session.manifest_sha256 == load_session(folder).manifest_sha256


def test_verify_manifest_with_pending_names_the_first_problem_in_order(
    tmp_path: Path,
) -> None:
    folder = _large_session(tmp_path / "s")
    _flip_last_byte(folder / "traffic.pcap")
    _flip_last_byte(folder / "zz-keys.log")
    upfront = _upfront_error(folder)

    with pytest.raises(SessionError) as caught:
        load_session(folder, PendingDigests())

    assert caught.value.message == upfront.message
    assert "traffic.pcap" in upfront.message


def test_load_session_with_pending_prefers_a_changed_file_to_a_yaml_error(
    tmp_path: Path,
) -> None:
    folder = _large_session(tmp_path / "s", session_yaml="toy: [unclosed\n")
    _flip_last_byte(folder / "traffic.pcap")
    upfront = _upfront_error(folder)

    with pytest.raises(SessionError) as caught:
        load_session(folder, PendingDigests())

    assert caught.value.message == upfront.message
    assert "does not match manifest.json" in upfront.message


def test_pending_digests_take_no_file_once_started(tmp_path: Path) -> None:
    folder = _large_session(tmp_path / "s")
    pending = PendingDigests()
    load_session(folder, pending)
    pending.start()

    with pytest.raises(RuntimeError):
        pending.defer(ListedFile(folder / "traffic.pcap", "0" * 64, LARGE))
    pending.finish()
