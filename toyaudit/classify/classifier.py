"""The classifier: apply the rules to one observation and return its matches.

For each observation the classifier (1) finds the recipient from the host
name, (2) decodes the observation into fields and blobs (:mod:`.decoders`),
(3) checks each blob, what the toy sends as a request body, a multipart file
part or a binary message, against the content detectors (audio, images), and
(4) searches each field and what decoding it reveals (:mod:`.fieldsearch`)
with the detectors that listen on the observation's channel (HTTP, MQTT,
GATT...; :func:`channel_of`),
keeping per place and category only the strongest kind of evidence, and (5)
drops the hits of rules that count only alongside other data (``alongside``)
when the observation holds none of it. Matches come out in the order their
fields appear, content first.

Toys repeat themselves: a telemetry batch carries the same device id in each
of its eighty events, and every request the same bearer token. So the result
for a field is remembered by its place (list indices dropped), decoding and
value, and a field seen before costs one dictionary look-up; new fields of an
observation are searched together; and within one observation, the same
value at the same place of several list elements becomes one :class:`Match`
whose ``count`` says how many places hold it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from toyaudit.classify.decoders import body_bytes, raw_items
from toyaudit.classify.fieldhits import FieldResult, Found
from toyaudit.classify.fields import Blob, Field, Item, JsonDocument
from toyaudit.classify.fieldsearch import FieldSearch
from toyaudit.classify.persona import PersonaIndex
from toyaudit.classify.recipients import RecipientResolver
from toyaudit.classify.records import Match, Recipient
from toyaudit.classify.rules import RuleSet
from toyaudit.classify.tables import MIN_ROWS, TableContext, columns, count_table
from toyaudit.classify.tally import Hit, Tally
from toyaudit.ingest.records import (
    BleAdvertisement,
    DhcpMessage,
    DnsQuery,
    GattOperation,
    HttpRequest,
    MqttMessage,
    Observation,
    RawPayload,
    SsdpMessage,
    TlsClientHello,
    TlsServerHello,
    TlsVerdict,
    WebSocketMessage,
    host_of,
)
from toyaudit.session import Session

logger = logging.getLogger(__name__)

_FIELD_CACHE = 10_000
"""Field results remembered; past this the cache starts over (between
observations only, so one observation's counting never sees it happen)."""
_CACHED_VALUE_LENGTH = 512
"""Longer values are rarely repeated; they are searched without the cache."""

_CacheKey = tuple[object, ...]


class Classifier:
    """Applies one rule set to the observations of one session."""

    def __init__(self, rules: RuleSet, session: Session) -> None:
        self._rules = rules
        self._recipients = RecipientResolver(rules.recipients, session)
        self._persona = PersonaIndex(session.persona, rules.persona)
        self._channelled = any(rule.channels for rule in rules.detectors)
        """Whether any detector is limited to some channels: if none is, one
        search serves every observation, and the channel is never asked."""
        self._lenses: dict[str | None, _Lens] = {}
        """The search of the detectors listening on each channel, and its
        caches; one entry, under None, when no detector is limited."""
        self._companions = {
            rule.id: frozenset(rule.alongside)
            for rule in rules.detectors
            if rule.alongside
        }
        """Rules whose hits count only next to other data: the categories."""
        self._cached = 0
        """Results kept over every lens's caches, which start over together."""

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
        if self._cached >= _FIELD_CACHE:
            for kept in self._lenses.values():
                kept.results.clear()
                kept.documents.clear()
            self._cached = 0
        lens = self._lens(channel_of(observation) if self._channelled else None)
        decoded = None
        if isinstance(observation, HttpRequest):
            decoded = body_bytes(observation, self._rules.decoding)
        items = raw_items(observation, self._rules.decoding, decoded)
        hits = self._field_hits(items, lens)
        if self._companions:
            hits = self._accompanied(hits)
        logger.debug("%d matches", len(hits))
        return [
            self._match(location, item, count, observation, recipient)
            for _, location, item, count in hits
        ]

    def _accompanied(self, hits: list[Hit]) -> list[Hit]:
        """Drop the hits of rules with ``alongside`` whose companions are absent.

        A companion is a hit of one of the listed categories by a rule
        without ``alongside``, anywhere in the same observation: the gender
        under ``g`` counts when the message names the child too.
        """
        companions = self._companions
        if not any(item.rule in companions for _, _, item, _ in hits):
            return hits
        present = {
            item.category_id for _, _, item, _ in hits if item.rule not in companions
        }
        kept = [
            hit
            for hit in hits
            if hit[2].rule not in companions or companions[hit[2].rule] & present
        ]
        if len(kept) < len(hits):
            logger.debug("%d hits dropped: alone", len(hits) - len(kept))
        return kept

    def _lens(self, channel: str | None) -> _Lens:
        """The search for fields of ``channel``, made on first use."""
        lens = self._lenses.get(channel)
        if lens is None:
            rules = self._rules
            listening = [rule for rule in rules.detectors if rule.listens_on(channel)]
            lens = _Lens(
                FieldSearch(
                    [rule for rule in listening if not rule.content],
                    self._persona,
                    rules.decoding,
                    [rule for rule in listening if rule.content],
                )
            )
            self._lenses[channel] = lens
        return lens

    def _field_hits(self, items: list[Item], lens: _Lens) -> list[Hit]:
        """The hits of every blob and field, the same hit at one place counted once.

        Blobs come first, in order, so content matches lead. Stops after
        ``max_fields`` decoded fields, so one huge body cannot stall an audit.
        """
        tally = Tally(self._rules.decoding.max_fields)
        blobs = [item for item in items if isinstance(item, Blob)]
        for rank, blob in enumerate(blobs, start=-len(blobs)):
            content = lens.search.content_hit(blob)
            if content is not None:
                tally.add(rank, blob.location, (1, (content,)), spent=0)
        for item in items:
            if tally.budget <= 0:
                logger.debug("field limit reached; later fields not searched")
                break
            if isinstance(item, JsonDocument):
                self._document_hits(item, tally, lens)
            elif isinstance(item, Field):
                result = self._field_result(item, lens)
                tally.add(tally.next(), item.location, result, spent=1)
        return tally.hits()

    def _field_result(self, field: Field, lens: _Lens) -> FieldResult:
        """The kept hits of one field, from the cache when seen before."""
        key = (field.place, field.part, field.key, field.decoding, field.value)
        result = lens.results.get(key)
        if result is None:
            result = lens.search.search(field)
            if len(field.value) <= _CACHED_VALUE_LENGTH:
                lens.results[key] = result
                self._cached += 1
        return result

    def _document_hits(self, document: JsonDocument, tally: Tally, lens: _Lens) -> None:
        """Count the hits of a JSON document's leaves (see :func:`json_fields`).

        Paths are dotted with list indices (``kids[0].name``); shapes drop the
        indices (``kids[].name``); booleans, nulls and a bare top-level string
        are skipped. The walk keeps a stack of iterators, so deep nesting
        cannot exhaust Python's recursion limit and leaves come in document
        order. A leaf seen before (same shape and value) costs a tuple and a
        dictionary look-up and is counted at once; new leaves are gathered,
        searched together (:meth:`_count_new`), and counted after. This loop
        runs once per leaf of every JSON body, hundreds of thousands of times
        in a large capture, hence one function with its work inlined.
        """
        label = document.label
        results = lens.documents.setdefault((label, document.decoding), {})
        new: dict[tuple[str, str], list[tuple[int, str]]] = {}
        context = TableContext(label, document.part, results, new, lens.search)
        counts, first = tally.counts, tally.first
        ordinal, budget = tally.ordinal, tally.budget
        stack: list[tuple[Iterator[tuple[Any, Any]], str, str, bool]] = []
        if isinstance(document.document, dict):
            stack.append((iter(document.document.items()), "", "", False))
        elif isinstance(document.document, list):
            stack.append((enumerate(document.document), "", "[]", True))
        while stack:
            children, path, shape, in_list = stack[-1]
            for name, value in children:
                if in_list:
                    child_path, child_shape = f"{path}[{name}]", shape
                elif path:
                    child_path, child_shape = f"{path}.{name}", f"{shape}.{name}"
                else:
                    child_path = child_shape = name
                if type(value) is str:
                    if budget <= 0:
                        stack.clear()
                        break
                    budget -= 1
                    ordinal += 1
                    key = (child_shape, value)
                    result = results.get(key)
                    if result is None:
                        new.setdefault(key, []).append((ordinal, child_path))
                        continue
                    for item in result[1]:
                        identity = id(item)
                        if identity in counts:
                            counts[identity] += 1
                        else:
                            counts[identity] = 1
                            location = f"{label} '{child_path}'{item.suffix}"
                            first[identity] = (ordinal, location, item)
                elif isinstance(value, dict):
                    stack.append((iter(value.items()), child_path, child_shape, False))
                    break
                elif isinstance(value, list):
                    table = columns(value) if len(value) >= MIN_ROWS else None
                    if table and len(value) * len(table) <= budget:
                        tally.ordinal, tally.budget = ordinal, budget
                        count_table(table, child_path, child_shape, context, tally)
                        ordinal, budget = tally.ordinal, tally.budget
                        continue
                    inner = f"{child_shape}[]"
                    stack.append((enumerate(value), child_path, inner, True))
                    break
            else:
                stack.pop()
        tally.ordinal, tally.budget = ordinal, budget
        if new:
            self._count_new(document, results, new, tally, lens.search)

    def _count_new(
        self,
        document: JsonDocument,
        results: dict[tuple[str, str], FieldResult],
        new: dict[tuple[str, str], list[tuple[int, str]]],
        tally: Tally,
        search: FieldSearch,
    ) -> None:
        """Search a document's new leaves together, cache and count them.

        ``new`` maps (shape, value) to the (ordinal, path) of each leaf.
        """
        label, keys = document.label, list(new)

        def field_at(index: int) -> Field:
            shape, value = keys[index]
            path = new[keys[index]][0][1]
            return Field(document.part, path, f"{label} '{path}'", document.decoding,
                         value, f"{label} '{shape}'")  # fmt: skip

        found = search.search_many(
            document.part,
            [value for _, value in keys],
            [shape for shape, _ in keys],
            field_at,
        )
        for (key, places), result in zip(new.items(), found, strict=True):
            if len(key[1]) <= _CACHED_VALUE_LENGTH:
                results[key] = result
                self._cached += 1
            if result[1]:
                for ordinal, path in places:
                    tally.add(ordinal, f"{label} '{path}'", result, spent=0)

    def _match(
        self,
        location: str,
        item: Found,
        count: int,
        observation: Observation,
        recipient: Recipient,
    ) -> Match:
        return Match(
            category=self._rules.categories[item.category_id],
            rule=item.rule,
            method=item.method,
            location=location,
            decoding=item.decoding,
            value=item.value,
            confidence=item.confidence,
            observation=observation,
            recipient=recipient,
            persona_field=item.persona_field,
            form=item.form,
            count=count,
        )


@dataclass(slots=True)
class _Lens:
    """The search of the detectors that listen on one channel, and its caches."""

    search: FieldSearch
    results: dict[_CacheKey, FieldResult] = field(default_factory=dict)
    """Kept hits by (location or shape, part, name, decoding, value): a
    path segment's name is not in its location."""
    documents: dict[_CacheKey, dict[tuple[str, str], FieldResult]] = field(
        default_factory=dict
    )
    """Kept hits of JSON leaves: by (label, decoding), then (shape, value)."""


_CHANNELS: dict[type, str] = {
    HttpRequest: "http",
    WebSocketMessage: "websocket",
    MqttMessage: "mqtt",
    DnsQuery: "dns",
    TlsClientHello: "tls",
    TlsServerHello: "tls",
    TlsVerdict: "tls",
    BleAdvertisement: "ble-advertisement",
    GattOperation: "gatt",
    RawPayload: "raw",
    DhcpMessage: "dhcp",
    SsdpMessage: "ssdp",
}
"""The channel (a detector's ``channels``) each kind of observation is on."""


def channel_of(observation: Observation) -> str | None:
    """The channel an observation came on; None for kinds no detector reads."""
    return _CHANNELS.get(type(observation))
