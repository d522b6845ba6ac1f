"""The built wheel carries the rules and finds them without a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_ships_rules_and_finds_them(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(tmp_path / "dist"), str(REPO)],
        check=True,
        timeout=300,
    )  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("toyaudit-*.whl")
    shipped = sorted(REPO.joinpath("rules").rglob("*.yaml"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    for path in shipped:
        relative = path.relative_to(REPO / "rules").as_posix()
        assert f"toyaudit/_rules/{relative}" in names

    probe = (
        "from toyaudit.classify import default_rules_dir, load_rules; "
        "folder = default_rules_dir(); rules = load_rules([folder]); "
        "print(folder); print(len(rules.categories))"
    )
    environment = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    folder, categories = completed.stdout.split()
    assert Path(folder) == tmp_path / "site" / "toyaudit" / "_rules"
    assert int(categories) > 10
