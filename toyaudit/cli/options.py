"""Options that ``toyaudit audit`` and ``toyaudit batch`` share, with their help.

The help text is user documentation (``--help``), so it is written once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Reveal = Annotated[
    bool,
    typer.Option(
        "--reveal",
        help="Show the personal values found, in every report. By default they "
        "are redacted, since reports get shared.",
    ),
]

ExtraRules = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules",
        help="An extra rule folder that extends or overrides the built-in "
        "rules. May be given more than once.",
        show_default=False,
    ),
]

Jobs = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        min=0,
        help="Worker processes that each read and classify a share of the "
        "evidence. 0 (the default) uses one per core for evidence over 32 MB "
        "and none for smaller; the findings are the same either way.",
    ),
]
