"""What a security check needs of its rule, and typed access to its parameters.

A check is configured by a rule of the ``checks:`` kind (docs/rules.md):
the rule carries the words (title, description, regulations), the
severity and free-form ``parameters``; the code that runs the check is
found by the rule's id. :class:`CheckRule` is the part of the rule record the
code reads, and :class:`Parameters` reads and checks one rule's parameters,
raising :class:`~toyaudit.errors.RulesError` that names the rule, the
parameter and what was expected, so a broken parameter stops the run before
anything is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NoReturn, Protocol

from toyaudit.errors import RulesError


class CheckRule(Protocol):
    """A ``checks:`` rule as the check code reads it."""

    @property
    def id(self) -> str:
        """Stable id; names the code that runs the check."""
        ...

    @property
    def title(self) -> str:
        """What a failure means, in words for parents."""
        ...

    @property
    def description(self) -> str:
        """What the check tests, for the technical appendix."""
        ...

    @property
    def severity(self) -> str:
        """``info``, ``low``, ``medium``, ``high`` or ``critical``."""
        ...

    @property
    def needs(self) -> tuple[str, ...]:
        """Evidence the rule says the check reads, e.g. ``tls-client-hello``."""
        ...

    @property
    def regulations(self) -> tuple[str, ...]:
        """Provisions a failure may implicate."""
        ...

    @property
    def parameters(self) -> Mapping[str, object]:
        """Settings for the code, as written in the rule."""
        ...

    @property
    def source(self) -> str:
        """``file:line`` where the rule is written."""
        ...


class Parameters:
    """Typed, checked access to the ``parameters`` of one check rule."""

    def __init__(self, rule: CheckRule) -> None:
        self.rule = rule
        self.values = rule.parameters

    def fail(self, key: str, problem: str, hint: str) -> NoReturn:
        """Raise a :class:`RulesError` naming the rule and the parameter."""
        raise RulesError(
            f"{self.rule.source}: check {self.rule.id}: parameter '{key}' {problem}",
            hint,
        )

    def raw(self, key: str, example: str) -> object:
        """A required parameter, as written."""
        if key not in self.values:
            self.fail(key, "is missing", f"add it under 'parameters:', e.g. {example}")
        return self.values[key]

    def texts(
        self, key: str, example: str, choices: Sequence[str] = ()
    ) -> tuple[str, ...]:
        """A required list of text (numbers are read as text), each in ``choices``."""
        raw = self.raw(key, example)
        if not isinstance(raw, list) or not all(
            isinstance(item, str | int) and not isinstance(item, bool) for item in raw
        ):
            self.fail(key, "must be a list of text", f"write e.g. {example}")
        texts = tuple(str(item) for item in raw)
        for text in texts:
            if choices and text not in choices:
                self.fail(key, f"has {text!r}", "use only: " + ", ".join(choices))
        return texts

    def code(self, key: str, value: object, example: str) -> int:
        """A 16-bit protocol code point: ``0x0303`` or ``771``, or that as text."""
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str):
            number = _integer(value.strip())
        if number is None or not 0 <= number <= 0xFFFF:
            self.fail(
                key,
                f"has {value!r}, which is not a 16-bit code point",
                f"write e.g. {example}",
            )
        return number

    def mapping(self, key: str, value: object, example: str) -> Mapping[str, object]:
        """A mapping with text keys (numbers are read as text)."""
        if not isinstance(value, Mapping):
            self.fail(key, "must be a mapping", f"write e.g. {example}")
        return {str(name): item for name, item in value.items()}


def _integer(text: str) -> int | None:
    """A decimal or ``0x`` hexadecimal integer, or None."""
    try:
        if text.lower().startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)
    except ValueError:
        return None
