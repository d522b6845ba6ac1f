"""Run detectors' own examples against the whole rule set: missing and extra matches.

Every detector carries positive examples (fields it must recognise) and
negative ones (fields it must leave alone), the way Bearer and Semgrep rules
carry their tests. :func:`check_examples` runs each example against **every**
detector of the rule set, as the classifier would, and reports three kinds
of failure (docs/rules.md, "Examples"):

* **missing**: a positive example that its own detector does not match, or
  that no detector of a category listed in its ``also`` matches;
* **extra**: a negative example that any detector of the same category
  matches, or a positive example that a detector of another category, not
  listed in ``also``, matches too (the report would show the field twice);
* **unexampled**: a detector without at least one positive and one negative
  example, whose behaviour nothing pins down.

Examples are checked field by field, as written: they are not decoded first.
Only ``toyaudit rules check`` and the test suite run this; loading rules for
an audit does not, so an audit with a rule that lacks examples still runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from toyaudit.classify.decoders import Field
from toyaudit.classify.detectors import Detector, Example, key_shape, strongest_magic
from toyaudit.classify.fields import textual_type
from toyaudit.classify.ruleset import RuleSet

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExampleFailure:
    """An example that does not behave as its detector declares."""

    rule: str
    """Id of the detector the example belongs to."""
    where: str
    """``file:line`` of the example."""
    problem: str
    """What went wrong: which example, missing or extra, and by which rules."""

    def __str__(self) -> str:
        return f"{self.where}: rule {self.rule}: {self.problem}"


def check_examples(rules: RuleSet) -> list[ExampleFailure]:
    """Run every detector's examples against every detector; [] when all behave."""
    failures: list[ExampleFailure] = []
    count = 0
    for detector in rules.detectors:
        failures += _unexampled(detector)
        for example in detector.examples:
            count += 1
            matched = _matched(example, detector, rules)
            failures += _judge(detector, example, matched)
    logger.debug("%d examples checked, %d failures", count, len(failures))
    return failures


def _unexampled(detector: Detector) -> list[ExampleFailure]:
    """A failure for each kind of example, positive or negative, a detector lacks.

    Named at the rule's own line, with the example to add: a field for a
    field detector, a body (type and leading bytes) for a content detector.
    """
    kinds = {example.positive for example in detector.examples}
    if detector.content is not None:
        shape, thing = "{content_type: ..., body_hex: ...}", "a body"
    else:
        shape, thing = "{key: ..., value: ...}", "a field"
    wanted = (
        (True, "positive", f"{thing} it must recognise"),
        (False, "negative", f"{thing} it must leave alone, ideally a near miss"),
    )
    return [
        ExampleFailure(
            detector.id,
            detector.source,
            f"has no {name} example (unexampled); add one under 'examples: "
            f"{name}:', {purpose}, e.g. [{shape}]",
        )
        for positive, name, purpose in wanted
        if positive not in kinds
    ]


def _matched(example: Example, owner: Detector, rules: RuleSet) -> dict[str, str]:
    """Rule id to category of every detector that matches the example."""
    if owner.content is not None:
        return _content_matched(example, rules)
    field = Field(
        part=example.part,
        key=example.key,
        location="example",
        decoding=(),
        value=example.value,
    )
    # Detectors see a field's name with list indices dropped, as in an audit.
    shape = None if example.key is None else key_shape(example.key)
    ignored = rules.decoding.ignored_values
    return {
        detector.id: detector.category_id
        for detector in rules.detectors
        if detector.applies(example.part, shape, example.channel)
        and detector.value_hits(field, ignored)
    }


def _content_matched(example: Example, rules: RuleSet) -> dict[str, str]:
    """Rule id to category of the content detectors that name the example's body.

    As in an audit: every rule listing the declared type, if one does; else,
    unless the type is text, the most specific magic signature's rule (all
    of them when equally specific, so an ambiguity shows as an extra match).
    """
    matchers = [
        (detector, detector.content)
        for detector in rules.detectors
        if detector.content is not None and detector.listens_on(example.channel)
    ]
    declared = example.content_type
    if declared:
        typed = {
            detector.id: detector.category_id
            for detector, matcher in matchers
            if any(pattern.search(declared) for pattern in matcher.types)
        }
        if typed or textual_type(declared):
            return typed
    signatures = ((detector, matcher.magic) for detector, matcher in matchers)
    return {
        detector.id: detector.category_id
        for detector, _ in strongest_magic(signatures, example.body)
    }


def _judge(
    owner: Detector, example: Example, matched: dict[str, str]
) -> list[ExampleFailure]:
    """Compare what matched with what the example declares."""
    where = f"{owner.source.rpartition(':')[0]}:{example.line}"
    if example.positive:
        problems = _positive_problems(owner, example, matched)
    else:
        problems = _negative_problems(owner, example, matched)
    return [ExampleFailure(owner.id, where, problem) for problem in problems]


def _positive_problems(
    owner: Detector, example: Example, matched: dict[str, str]
) -> list[str]:
    what = f"positive example {example.describe()}"
    problems = []
    if owner.id not in matched:
        problems.append(f"{what} is not matched (missing)")
    found = set(matched.values())
    problems += [
        f"{what} is matched by no detector of category '{category}' listed in "
        "'also' (missing)"
        for category in example.also
        if category not in found
    ]
    expected = {owner.category_id, *example.also}
    extra = {
        rule: category for rule, category in matched.items() if category not in expected
    }
    if extra:
        problems.append(
            f"{what} is also matched by {_rules(extra)} (extra): narrow that "
            "rule, or list its category under 'also'"
        )
    return problems


def _negative_problems(
    owner: Detector, example: Example, matched: dict[str, str]
) -> list[str]:
    wrong = {
        rule: category
        for rule, category in matched.items()
        if category == owner.category_id
    }
    if not wrong:
        return []
    return [
        f"negative example {example.describe()} is matched by {_rules(wrong)} (extra)"
    ]


def _rules(matched: dict[str, str]) -> str:
    return ", ".join(
        f"{rule} ({category})" for rule, category in sorted(matched.items())
    )
