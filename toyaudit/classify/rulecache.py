"""Keep loaded rule sets, so that an audit need not parse and check them again.

Parsing the YAML rules, checking them against the JSON Schema
(:mod:`.ruleschema`) and compiling their patterns costs an audit more than
a twentieth of a second, and importing ``jsonschema`` as much again, yet
the shipped rules are the same bytes run after run. So a rule set that
loaded without error is kept, pickled, in a private folder under the user's
cache directory, and a later load of the very same rule files reads it back.

A kept rule set is found by a key that pins everything it was made from:
the rule files' digest (:attr:`RuleSet.sha256
<toyaudit.classify.ruleset.RuleSet.sha256>`: every file's relative path and
bytes), the folders they came from, the JSON Schema's bytes, the source of
the code that builds rule sets (this package), the toyaudit and Python
versions. Any change to one of them misses the cache and loads the files,
so a kept rule set is always the one the files would give.

The folder is created readable and writable by its owner only (0700), and
a kept rule set is read only from a folder and a file that are the user's
own and that nobody else may write. Each file carries the SHA-256 of its
pickled payload, checked before anything is unpickled, and unpickling may
build only this package's rule records and compiled patterns, never call
anything else: a damaged or planted file is ignored, and the rules are
loaded from their files. A cache that cannot be written (a read-only home)
simply means no cache.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from toyaudit import __version__
from toyaudit.classify.ruleset import RuleSet
from toyaudit.files import PRIVATE_DIR_MODE, write_atomic

logger = logging.getLogger(__name__)

CACHE_ENV = "TOYAUDIT_CACHE_DIR"
"""Environment variable naming the cache folder itself, overriding the default."""

_MAGIC = b"toyaudit rule set\n"
"""First line of a kept rule set; the payload's hex SHA-256 is the second."""
_PACKAGE = "toyaudit.classify."
_FUNCTION_MODULES = ("toyaudit.classify.validators", "toyaudit.classify.telephone")
"""Modules whose functions a rule set refers to: the value validators."""


def user_cache_dir() -> Path:
    """The toyaudit folder under the user's cache directory.

    ``$TOYAUDIT_CACHE_DIR`` when set; else ``$XDG_CACHE_HOME/toyaudit``, or
    ``~/.cache/toyaudit`` (the XDG Base Directory default).
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "toyaudit"


class RuleCache:
    """Rule sets loaded before, pickled in one private folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = (folder or user_cache_dir()) / "rules"

    def key(self, rules_sha256: str, directories: Sequence[Path], schema: bytes) -> str:
        """The name a rule set is kept under (see the module's docstring)."""
        digest = hashlib.sha256()
        for part in (__version__, sys.version, rules_sha256, *map(str, directories)):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(schema).digest())
        digest.update(_code_fingerprint())
        return digest.hexdigest()

    def load(self, key: str, rules_sha256: str) -> RuleSet | None:
        """The rule set kept under ``key``, or None when there is none to trust."""
        path = self.folder / key
        try:
            if not (
                _ours(self.folder, stat.S_ISDIR, 0o077)
                and _ours(path, stat.S_ISREG, 0o077)
            ):
                return None
            kept = path.read_bytes()
        except OSError:
            return None
        try:
            rules = _unpickle(kept)
        except Exception as error:  # damaged or planted: load the files instead
            logger.debug("rule cache %s ignored: %s", path, error)
            return None
        if not isinstance(rules, RuleSet) or rules.sha256 != rules_sha256:
            logger.debug("rule cache %s ignored: not the rule set asked for", path)
            return None
        return rules

    def store(self, key: str, rules: RuleSet) -> None:
        """Keep ``rules`` under ``key``; never fails the audit."""
        payload = pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL)
        digest = hashlib.sha256(payload).hexdigest().encode()
        try:
            for folder in (self.folder.parent, self.folder):
                folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
            if not _ours(self.folder, stat.S_ISDIR, 0o077):
                logger.debug("rule cache %s is not private: not used", self.folder)
                return
            write_atomic(self.folder / key, _MAGIC + digest + b"\n" + payload)
        except OSError as error:
            logger.debug("rule cache %s not written: %s", self.folder, error)


def _unpickle(kept: bytes) -> object:
    """Check a kept file's digest, then unpickle its payload with few powers."""
    header, _, rest = kept.partition(b"\n")
    digest, _, payload = rest.partition(b"\n")
    if header + b"\n" != _MAGIC:
        raise ValueError("not a kept rule set")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise ValueError("its digest does not match: damaged")
    return _RuleUnpickler(io.BytesIO(payload)).load()


class _RuleUnpickler(pickle.Unpickler):
    """Builds only rule records, validators, paths and compiled patterns."""

    def find_class(self, module: str, name: str) -> Any:
        # Decide before looking anything up: a lookup imports the module.
        if module in _FUNCTION_MODULES and name.startswith("valid_"):
            return super().find_class(module, name)
        if (module, name) in (("re", "_compile"), ("pathlib", "PosixPath")):
            return super().find_class(module, name)
        if module.startswith(_PACKAGE):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a rule set")


def _code_fingerprint() -> bytes:
    """SHA-256 of the source of this package, which builds and holds rule sets."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.digest()


def _ours(path: Path, kind: Callable[[int], bool], forbidden: int) -> bool:
    """Whether ``path`` is of ``kind``, owned by us, with no ``forbidden`` mode bit.

    A symbolic link is never followed: it could point anywhere.
    """
    status = path.lstat()
    return (
        kind(status.st_mode)
        and status.st_uid == os.geteuid()
        and not status.st_mode & forbidden
    )
