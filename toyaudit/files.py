"""Small file helpers shared by the stages: private folders and atomic writes.

Session folders and reports hold a child's data, so everything toyaudit
creates is readable by the current user only, and every output is written to
a temporary file that replaces the target in one step: a reader never sees a
half-written report.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_CHUNK = 1 << 20


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make it readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)


def write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` so that readers see all of it or none of it.

    The bytes go to a private temporary file in the same folder, are flushed to
    disk, and the file is renamed over ``path``. On any failure the temporary
    file is removed and ``path`` is left as it was.
    """
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(content)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, PRIVATE_FILE_MODE)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> tuple[str, int]:
    """Return the hex SHA-256 digest and the size in bytes of a file, streaming."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
