"""Tests for private folders and atomic writes."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from toyaudit.files import make_private_dir, sha256_file, write_atomic


def test_write_atomic_replaces_whole_file_privately(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old")

    write_atomic(target, b"new content")

    assert target.read_bytes() == b"new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["report.md"]


def test_write_atomic_leaves_target_and_no_temp_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old")

    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]

    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["report.md"]


def test_make_private_dir_sets_owner_only_mode(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"

    make_private_dir(folder)

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_sha256_file_streams_large_file(tmp_path: Path) -> None:
    content = bytes(range(256)) * 9000
    path = tmp_path / "blob"
    path.write_bytes(content)

    assert sha256_file(path) == (hashlib.sha256(content).hexdigest(), len(content))
