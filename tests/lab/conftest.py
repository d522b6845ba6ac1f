"""The ``lab`` fixture: a fresh toy/cloud lab per test, always torn down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lab import Lab


@pytest.fixture
def lab() -> Iterator[Lab]:
    """A started :class:`~tests.lab.Lab`; teardown failures fail the test."""
    with Lab() as running:
        yield running
