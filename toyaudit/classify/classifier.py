"""The classifier: apply the rules to one observation and return its matches.

For each observation the classifier (1) finds the recipient from the host
name, (2) checks a request body against the content detectors (audio,
images), (3) decodes the observation into fields and runs the persona search
and every detector over each field, and (4) keeps, for each place and
category, only the strongest kind of evidence: a persona hit hides a pattern
or key hit on the same value, a pattern hit hides a key hit. The output is in
a stable order: content first, then fields in the order they appear.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

from toyaudit.classify.decoders import (
    DecodedBody,
    Field,
    body_bytes,
    content_type_of,
    observation_fields,
)
from toyaudit.classify.detectors import Detector
from toyaudit.classify.persona import PersonaHit, PersonaIndex
from toyaudit.classify.recipients import RecipientResolver
from toyaudit.classify.records import Match, Method, Recipient
from toyaudit.classify.rules import RuleSet
from toyaudit.ingest.records import HttpRequest, Observation, host_of
from toyaudit.session import Session

logger = logging.getLogger(__name__)

_METHOD_RANK = {method: rank for rank, method in enumerate(Method)}
_BODY_LOCATION = "request body"
_APPLICABLE_CACHE = 50_000
"""Distinct (part, field name) pairs remembered before the cache starts over."""


@dataclass(frozen=True, slots=True)
class _Found:
    """A hit tied to its field, before it becomes a :class:`Match`."""

    field: Field
    rule: str
    category_id: str
    method: Method
    value: str
    confidence: float
    covers: tuple[str, ...]
    """Values this hit vouches for, compared when weaker hits are dropped."""
    persona_field: str | None = None
    form: str | None = None


class Classifier:
    """Applies one rule set to the observations of one session."""

    def __init__(self, rules: RuleSet, session: Session) -> None:
        self._rules = rules
        self._recipients = RecipientResolver(rules.recipients, session)
        self._persona = PersonaIndex(session.persona, rules.persona)
        self._content = tuple(
            (rule, rule.content) for rule in rules.detectors if rule.content
        )
        self._fielded = tuple(rule for rule in rules.detectors if not rule.content)
        self._applicable: dict[tuple[str, str | None], tuple[Detector, ...]] = {}
        self._prefilters = {
            rule.id: tuple(
                re.compile(pattern.pattern, pattern.flags | re.MULTILINE)
                for pattern in rule.value.patterns
            )
            for rule in self._fielded
            if rule.value is not None
        }
        """Per value detector, its patterns made to search a whole message."""

    def recipient_for(self, host: str) -> Recipient:
        """Who a host is: the vendor, a known tracker or processor, or unknown."""
        return self._recipients.resolve(host)

    def classify(
        self, observation: Observation, recipient: Recipient | None = None
    ) -> list[Match]:
        """Every piece of personal data found in one observation, in stable order.

        ``recipient`` is who received the observation, when the caller has
        already asked :meth:`recipient_for`.
        """
        if recipient is None:
            recipient = self.recipient_for(host_of(observation))
        found: list[_Found] = []
        decoded = None
        if isinstance(observation, HttpRequest):
            decoded = body_bytes(observation, self._rules.decoding)
            found += self._content_hits(observation, decoded)
        fields = observation_fields(observation, self._rules.decoding, decoded)
        # One search over the whole message first: most fields hold nothing,
        # and a pattern absent from the message is absent from every field.
        # Fields are joined by newlines and prefilters are MULTILINE, so a
        # match in any one field is always also a match in the joined text.
        message = "\n".join(field.value for field in fields)
        persona = _persona_by_field(fields, self._persona.search_positions(message))
        absent = frozenset(
            rule_id
            for rule_id, patterns in self._prefilters.items()
            if not any(pattern.search(message) for pattern in patterns)
        )
        for index, field in enumerate(fields):
            found += self._field_hits(field, persona.get(index, ()), absent)
        kept = _strongest(found)
        logger.debug("%d matches (%d before pruning)", len(kept), len(found))
        return [self._match(item, observation, recipient) for item in kept]

    def _content_hits(self, request: HttpRequest, decoded: DecodedBody) -> list[_Found]:
        body, decoding = decoded
        if not body:
            return []
        content_type = content_type_of(request)
        for detector, matcher in self._content:
            kind = matcher.identify(content_type, body)
            if kind is None:
                continue
            description = f"{kind}, {_size(len(body))}"
            field = Field("body", None, _BODY_LOCATION, decoding, description)
            return [
                _Found(field, detector.id, detector.category_id, Method.CONTENT,
                       description, detector.confidence, (description,))
            ]  # fmt: skip
        return []

    def _field_hits(
        self, field: Field, persona: Sequence[PersonaHit], absent: frozenset[str]
    ) -> list[_Found]:
        """Persona and detector hits in one field; skip what the message lacks."""
        found = [
            _Found(field, f"persona:{hit.form.field}", hit.form.category_id,
                   Method.PERSONA, hit.value, 1.0, (hit.value, hit.form.plain),
                   hit.form.field, hit.form.form)
            for hit in persona
        ]  # fmt: skip
        ignored = self._rules.decoding.ignored_values
        for detector in self._detectors_for(field.part, field.key):
            if detector.id in absent:
                continue
            for hit in detector.value_hits(field, ignored):
                found.append(
                    _Found(field, hit.rule, hit.category_id, hit.method, hit.value,
                           hit.confidence, (hit.value,))
                )  # fmt: skip
        return found

    def _detectors_for(self, part: str, key: str | None) -> tuple[Detector, ...]:
        """The detectors that look at a field of this part and name, cached."""
        place = (part, key)
        detectors = self._applicable.get(place)
        if detectors is None:
            if len(self._applicable) >= _APPLICABLE_CACHE:
                self._applicable.clear()
            detectors = tuple(
                detector for detector in self._fielded if detector.applies(part, key)
            )
            self._applicable[place] = detectors
        return detectors

    def _match(
        self, item: _Found, observation: Observation, recipient: Recipient
    ) -> Match:
        return Match(
            category=self._rules.categories[item.category_id],
            rule=item.rule,
            method=item.method,
            location=item.field.location,
            decoding=item.field.decoding,
            value=item.value,
            confidence=item.confidence,
            observation=observation,
            recipient=recipient,
            persona_field=item.persona_field,
            form=item.form,
        )


def _persona_by_field(
    fields: Sequence[Field], hits: list[tuple[int, PersonaHit]]
) -> dict[int, list[PersonaHit]]:
    """Hand persona hits found in the newline-joined message to their fields.

    Persona values hold no newline, so a hit never spans two fields, and the
    hits of each field come out in the order a search of that field gives.
    """
    starts: list[int] = []
    offset = 0
    for field in fields:
        starts.append(offset)
        offset += len(field.value) + 1
    by_field: dict[int, list[PersonaHit]] = {}
    for start, hit in hits:
        index = bisect_right(starts, start) - 1
        if start + len(hit.value) <= starts[index] + len(fields[index].value):
            by_field.setdefault(index, []).append(hit)
    return by_field


def _strongest(found: list[_Found]) -> list[_Found]:
    """Drop hits that a stronger hit on the same place and category explains.

    A weaker hit goes when a stronger one in the same place and category covers
    an overlapping value, and always when it is a key-only hit (it speaks for
    the whole field). A persona hit is ground truth about what a value is, so
    it also hides weaker hits of other categories in the same place (the Wi-Fi
    password in a field named ``password`` is not an account password).
    Repeats of the same persona field in one place (its base64 form, then its
    plain form once decoded) are reported once.
    """
    by_place: defaultdict[tuple[str, str], list[_Found]] = defaultdict(list)
    persona_at: defaultdict[str, list[_Found]] = defaultdict(list)
    for item in found:
        by_place[(item.field.location, item.category_id)].append(item)
        if item.method is Method.PERSONA:
            persona_at[item.field.location].append(item)
    kept: list[_Found] = []
    kept_at: defaultdict[tuple[str, str], list[_Found]] = defaultdict(list)
    seen: set[tuple[str, str, str, str]] = set()
    for item in found:
        place = (item.field.location, item.category_id)
        rivals = chain(by_place[place], persona_at[place[0]])
        if any(_explains(other, item) for other in rivals):
            continue
        if item.persona_field is None and any(
            _repeats(other, item) for other in kept_at[place]
        ):
            continue
        if item.persona_field is not None:
            identity = (*place, "persona", item.persona_field)
        else:
            identity = (*place, item.rule, item.value)
        if identity not in seen:
            seen.add(identity)
            kept.append(item)
            kept_at[place].append(item)
    return kept


def _explains(stronger: _Found, weaker: _Found) -> bool:
    if _METHOD_RANK[stronger.method] >= _METHOD_RANK[weaker.method]:
        return False
    return weaker.method is Method.KEY or _overlap(stronger, weaker)


def _repeats(earlier: _Found, later: _Found) -> bool:
    """Two detectors of one category saw the same value (a JWT in a Bearer header)."""
    return earlier.method is later.method and _overlap(earlier, later)


def _overlap(first: _Found, second: _Found) -> bool:
    for one in first.covers:
        for other in second.covers:
            one_lower, other_lower = one.lower(), other.lower()
            if one_lower in other_lower or other_lower in one_lower:
                return True
    return False


def _size(length: int) -> str:
    if length < 1024:
        return f"{length} bytes"
    if length < 1024 * 1024:
        return f"{round(length / 1024)} KB"
    return f"{length / (1024 * 1024):.1f} MB"
