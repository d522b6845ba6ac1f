"""Read the fields of a HAR entry, refusing values of the wrong JSON type.

HAR files come from many tools, and an entry may lack a field or hold one of
another type. These accessors return a field as the type HAR 1.2 gives it,
or raise :class:`BrokenEntryError` naming the field, so that
:mod:`toyaudit.ingest.har` notes the entry and reads on.
"""

from __future__ import annotations

from typing import Any, TypeVar

Field = TypeVar("Field", str, int)


class BrokenEntryError(Exception):
    """An entry lacks a field toyaudit needs, or has one of the wrong type."""


def json_object(value: Any, where: str) -> dict[str, Any]:
    """``value`` as a JSON object; ``where`` names it in the error."""
    if not isinstance(value, dict):
        raise BrokenEntryError(f"{where} is missing or not an object")
    return value


def json_string(container: Any, key: str, where: str) -> str:
    """A string field that must be present."""
    value = json_object(container, where).get(key)
    if not isinstance(value, str):
        raise BrokenEntryError(f"{where}.{key} is missing or not a string")
    return value


def optional_field(
    container: dict[str, Any], key: str, kind: type[Field], where: str
) -> Field | None:
    """A field of type ``kind``, or None when absent (booleans are not ints)."""
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise BrokenEntryError(f"{where}.{key} is not a {kind.__name__}")
    return value


def json_list(container: dict[str, Any], key: str, where: str) -> list[Any]:
    """A list field; an absent one is empty."""
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BrokenEntryError(f"{where}.{key} is not a list")
    return value
