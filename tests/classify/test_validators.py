"""Validators: the checks a regex cannot make."""

from __future__ import annotations

import pytest

from toyaudit.classify.validators import VALIDATORS


@pytest.mark.parametrize(
    ("name", "text", "genuine"),
    [
        ("imei", "490154203237518", True),
        ("imei", "490154203237519", False),
        ("mac", "a4:cf:12:3b:9e:01", True),
        ("mac", "01:00:5e:00:00:fb", False),
        ("mac", "ff-ff-ff-ff-ff-ff", False),
        ("advertising-id", "00000000-0000-0000-0000-000000000000", False),
        ("latitude", "51.501", True),
        ("latitude", "90.001", False),
        ("longitude", "-0.14", False),
        ("coordinates", "51.50134, -0.14189", True),
        ("date", "2018-02-30", False),
        ("date", "14.03.2018", True),
        ("email", "a@b", False),
        ("phone", "+1 (555) 010-4477", True),
    ],
)
def test_validators_accept_and_refuse(name: str, text: str, genuine: bool) -> None:
    assert VALIDATORS[name](text) is genuine
