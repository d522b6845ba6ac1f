"""Kept rule sets: private, checked, and always the rule set the files give."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import stat
from pathlib import Path

import pytest

from toyaudit.classify import default_rules_dir, load_rules
from toyaudit.classify.rulecache import CACHE_ENV, RuleCache, user_cache_dir
from toyaudit.classify.ruleschema import rules_schema_bytes
from toyaudit.errors import RulesError

SCHEMA_ONLY_ERROR = (
    "detectors:\n"
    "  - id: toy-name\n"
    "    category: child-name\n"
    "    description: [a, list]\n"
    "    keys: {include: ['^name$']}\n"
)
"""A rule the section parsers accept and the JSON Schema refuses."""


class _Planted:
    """Unpickling this runs a command: what a planted cache file would try."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch planted-ran",))


def _kept(cache: Path) -> list[Path]:
    folder = cache / "rules"
    return sorted(folder.iterdir()) if folder.exists() else []


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_rulecache_keeps_a_loaded_rule_set_in_private_folders(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "toyaudit"

    first = load_rules([default_rules_dir()], RuleCache(cache))

    (kept,) = _kept(cache)
    assert _mode(cache) == 0o700 and _mode(kept.parent) == 0o700
    assert _mode(kept) == 0o600
    again = load_rules([default_rules_dir()], RuleCache(cache))
    assert _kept(cache) == [kept]
    assert again == first
    assert again == load_rules([default_rules_dir()])


def test_rulecache_never_keeps_a_broken_rule_set(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path / "cache")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "rules.yaml").write_text(SCHEMA_ONLY_ERROR, encoding="utf-8")

    for _ in range(2):
        with pytest.raises(RulesError, match="'description' must be text"):
            load_rules([default_rules_dir(), mine], cache)

    assert _kept(tmp_path / "cache") == []


def test_rulecache_edited_rules_are_loaded_from_their_files(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path / "cache")
    copy = tmp_path / "copy"
    shutil.copytree(default_rules_dir(), copy)
    first = load_rules([copy], cache)
    severity = copy / "severity.yaml"
    severity.write_text(severity.read_text() + "# edited\n", encoding="utf-8")

    edited = load_rules([copy], cache)

    assert edited.sha256 != first.sha256
    assert edited == load_rules([copy])
    with (copy / "detectors" / "contact.yaml").open("a", encoding="utf-8") as rules:
        rules.write(SCHEMA_ONLY_ERROR.replace("detectors:\n", ""))
    with pytest.raises(RulesError, match="'description' must be text"):
        load_rules([copy], cache)


def test_rulecache_key_follows_bytes_folders_and_schema(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path)
    sha256 = load_rules([default_rules_dir()]).sha256
    key = cache.key(sha256, [default_rules_dir()], rules_schema_bytes())

    assert cache.key(sha256, [default_rules_dir()], rules_schema_bytes()) == key
    assert cache.key(sha256, [tmp_path], rules_schema_bytes()) != key
    assert cache.key(sha256, [default_rules_dir()], b"{}") != key
    assert cache.key("0" * 64, [default_rules_dir()], rules_schema_bytes()) != key


def _keep_and_find(tmp_path: Path) -> tuple[RuleCache, Path]:
    cache = RuleCache(tmp_path / "cache")
    load_rules([default_rules_dir()], cache)
    (kept,) = _kept(tmp_path / "cache")
    return cache, kept


@pytest.mark.parametrize("loosen", ["folder", "file", "link", "damage"])
def test_rulecache_ignores_what_it_cannot_trust(tmp_path: Path, loosen: str) -> None:
    cache, kept = _keep_and_find(tmp_path)
    sha256 = load_rules([default_rules_dir()]).sha256
    assert cache.load(kept.name, sha256) is not None
    if loosen == "folder":
        os.chmod(kept.parent, 0o750)  # noqa: S103 - what the test is about
    elif loosen == "file":
        os.chmod(kept, 0o640)
    elif loosen == "link":
        content = kept.read_bytes()
        kept.unlink()
        (tmp_path / "elsewhere").write_bytes(content)
        kept.symlink_to(tmp_path / "elsewhere")
    else:
        damaged = bytearray(kept.read_bytes())
        damaged[-10] ^= 0xFF
        kept.write_bytes(bytes(damaged))

    assert cache.load(kept.name, sha256) is None
    assert load_rules([default_rules_dir()], cache) == load_rules([default_rules_dir()])


def test_rulecache_planted_pickle_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cache, kept = _keep_and_find(tmp_path)
    payload = pickle.dumps(_Planted())
    digest = hashlib.sha256(payload).hexdigest().encode()
    kept.write_bytes(b"toyaudit rule set\n" + digest + b"\n" + payload)

    sha256 = load_rules([default_rules_dir()]).sha256
    assert cache.load(kept.name, sha256) is None
    assert not (tmp_path / "planted-ran").exists()


def test_rulecache_not_the_rule_set_asked_for_is_ignored(tmp_path: Path) -> None:
    cache, kept = _keep_and_find(tmp_path)

    assert cache.load(kept.name, "0" * 64) is None


def test_rulecache_unwritable_cache_is_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    cache = RuleCache(blocker / "toyaudit")

    rules = load_rules([default_rules_dir()], cache)

    assert rules == load_rules([default_rules_dir()])
    assert not (blocker / "toyaudit").exists()


def test_rulecache_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == tmp_path / "xdg" / "toyaudit"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")
    assert user_cache_dir() == Path.home() / ".cache" / "toyaudit"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert user_cache_dir() == tmp_path / "mine"
