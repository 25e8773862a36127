"""The identity of an event: its id, correlation, causes, trace and type, found cheaply.

:func:`extract_ids` reads the conventions real systems mix
(:mod:`evtui.core.ids_conventions` names them and says which values count) and
the user's rules (:mod:`evtui.core.ids_rules`, installed by :func:`set_rules`).
This module finds them in a record: it looks the names up (remembering raw
names), ranks what it finds and makes the :class:`EventIds`. It also keeps the
names the rest of evtui imports from here.

Precedence: within a field the best (lowest) rank wins wherever it was found;
at equal rank headers beat the body, the top level beats ``metadata``, and the
last of repeated headers wins. So an explicit correlation id beats a
conversation id, and the trace id is the correlation id **only when neither
exists** (the demo's payment service carries its correlation as the
``traceparent`` trace id). The body is decoded (via ``Event.peek_decoded``, not kept) only
when it may add something: a CloudEvents structured body, or headers that leave
the event id, an explicit correlation id or the event type unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from evtui.core.decode import RawValue, raw_value
from evtui.core.event import EMPTY as EMPTY
from evtui.core.event import Event, read_ids_with
from evtui.core.event import EventIds as EventIds
from evtui.core.ids_conventions import (
    B3,
    B3_PARENT,
    B3_SPAN,
    B3_TRACE,
    CAUSATION,
    CONTENT_TYPE,
    CORRELATION,
    EVENT_ID,
    FIELD_COUNT,
    ID_IF_TYPED,
    METADATA,
    SERVICE,
    SOURCE,
    TEXT_ONLY,
    TRACEPARENT,
    TYPE,
    UBER,
    Rule,
    Trace,
    header_text,
    json_text,
)
from evtui.core.ids_conventions import CACHE_LIMIT as _CACHE_LIMIT
from evtui.core.ids_conventions import CLOUDEVENT_RULES as CLOUDEVENT_RULES
from evtui.core.ids_conventions import HEADER_RULES as HEADER_RULES
from evtui.core.ids_conventions import JSON_RULES as JSON_RULES
from evtui.core.ids_conventions import MAX_LEN as MAX_LEN
from evtui.core.ids_conventions import ZERO_HIGH as ZERO_HIGH
from evtui.core.ids_conventions import canonical_trace_id as canonical_trace_id
from evtui.core.ids_conventions import endpoint_name as endpoint_name
from evtui.core.ids_conventions import normalise as normalise
from evtui.core.ids_conventions import parse_b3 as parse_b3
from evtui.core.ids_conventions import parse_b3_multi as parse_b3_multi
from evtui.core.ids_conventions import parse_traceparent as parse_traceparent
from evtui.core.ids_conventions import parse_uber as parse_uber
from evtui.core.ids_conventions import shown_id as shown_id
from evtui.core.ids_rules import NO_RULES as NO_RULES
from evtui.core.ids_rules import RULE_FIELDS as RULE_FIELDS
from evtui.core.ids_rules import ActiveRules, TopicRules, apply_rules
from evtui.core.ids_rules import IdRule as IdRule
from evtui.core.ids_rules import IdRules as IdRules

# -- names looked up --------------------------------------------------------------------------


class _Table:
    """Rules by normalised name, with raw names remembered after their first lookup."""

    __slots__ = ("cache", "rules")

    def __init__(self, rules: dict[str, Rule]) -> None:
        self.rules = rules
        self.cache: dict[str, Rule | None] = {}

    def learn(self, name: object) -> Rule | None:
        if not isinstance(name, str):
            return None
        rule = self.rules.get(normalise(name))
        if len(self.cache) < _CACHE_LIMIT:
            self.cache[name] = rule
        return rule


_HEADERS = _Table(HEADER_RULES)
_BODY = _Table(JSON_RULES)
_CLOUDEVENT = _Table(CLOUDEVENT_RULES)
_UNSEEN: Any = object()
_Raw = RawValue

# -- collecting -------------------------------------------------------------------------------


_NO_RANK = 99  # worse than any rule's rank
_NO_RANKS = [_NO_RANK] * FIELD_COUNT
_NO_TEXTS: list[str | None] = [None] * FIELD_COUNT


class _Found:
    """The best value seen so far for each field (its rank and text), and every cause."""

    __slots__ = ("causes", "rank", "text")

    def __init__(self) -> None:
        self.rank = _NO_RANKS.copy()
        self.text = _NO_TEXTS.copy()
        self.causes: list[tuple[int, str]] = []

    def put(self, field: int, rank: int, text: str, ties_win: bool) -> None:
        if field == CAUSATION:
            self.causes.append((rank, text))
            return
        current = self.rank[field]
        if rank < current or (ties_win and rank == current):
            self.rank[field] = rank
            self.text[field] = text

    def value(self, field: int) -> str | None:
        return self.text[field]

    def nothing(self) -> bool:
        """True when no field of the result was found (trace context aside)."""
        return not self.causes and not any(self.text[: SOURCE + 1])


def _scan_headers(headers: Iterable[tuple[str, bytes | None]], found: _Found) -> None:
    """Every header a rule names (the hot path of every extraction: kept flat)."""
    cache = _HEADERS.cache
    ranks, texts = found.rank, found.text
    for name, raw in headers:
        rule = cache.get(name, _UNSEEN)
        if rule is _UNSEEN:
            rule = _HEADERS.learn(name)
        if rule is None:
            continue
        if type(raw) is bytes and len(raw) <= MAX_LEN:  # header_text, inlined: most values
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                continue
            if not text or not text.isprintable():
                continue
        else:
            text = header_text(raw)
            if text is None:
                continue
        field, rank, transform = rule
        if transform is not None:
            text = transform(text)
            if text is None:
                continue
        if field == CAUSATION:
            found.causes.append((rank, text))
        elif rank <= ranks[field]:  # the last of repeated headers wins
            ranks[field] = rank
            texts[field] = text


def _scan_object(obj: dict, table: _Table, found: _Found, top: bool) -> None:
    """One JSON object's fields; ``metadata`` is followed from the top level only."""
    cache = table.cache
    candidate: tuple[int, str] | None = None
    typed = False
    metadata: dict | None = None
    for key, value in obj.items():
        rule = cache.get(key, _UNSEEN)
        if rule is _UNSEEN:
            rule = table.learn(key)
        if rule is None:
            continue
        field, rank, transform = rule
        if type(value) is _Raw:  # undecoded until a rule names the field
            value = raw_value(value)
        if field == METADATA:
            if top and isinstance(value, dict):
                metadata = value
            continue
        if field in TEXT_ONLY and not isinstance(value, str):
            continue  # a numeric "type" is an entity's code, not an event type
        text = json_text(value)
        if text is not None and transform is not None:
            text = transform(text)
        if text is None:
            continue
        if field == ID_IF_TYPED:
            candidate = (rank, text)
            continue
        if field == TYPE:
            typed = True
        found.put(field, rank, text, False)
    if candidate is not None and typed:
        found.put(EVENT_ID, candidate[0], candidate[1], False)
    if metadata is not None:  # CloudEvents attributes live at the top level only
        _scan_object(metadata, _BODY, found, False)


def _is_cloudevent(found: _Found) -> bool:
    content_type = found.text[CONTENT_TYPE]
    return content_type is not None and content_type.lower().startswith("application/cloudevents")


def _needs_body(found: _Found, cloudevent: bool) -> bool:
    rank = found.rank
    return cloudevent or bool(rank[EVENT_ID] or rank[CORRELATION] or rank[TYPE])


def _scan_body(event: Event, found: _Found, cloudevent: bool) -> None:
    body = event.peek_fields()  # values decoded only where a rule names the field
    if body is None:
        return
    if cloudevent or isinstance(raw_value(body.get("specversion")), str):
        _scan_object(body, _CLOUDEVENT, found, True)
    else:
        _scan_object(body, _BODY, found, True)


def _trace(found: _Found) -> Trace | None:
    """The first valid trace context: traceparent, b3, X-B3-*, then uber-trace-id."""
    value = found.value
    text = value(TRACEPARENT)
    trace = None if text is None else parse_traceparent(text)
    if trace is None and (text := value(B3)) is not None:
        trace = parse_b3(text)
    if trace is None:
        trace = parse_b3_multi(value(B3_TRACE), value(B3_SPAN), value(B3_PARENT))
    if trace is None and (text := value(UBER)) is not None:
        trace = parse_uber(text)
    return trace


# -- the result -------------------------------------------------------------------------------


def _causes(causes: list[tuple[int, str]]) -> tuple[str, ...]:
    if not causes:
        return ()
    if len(causes) == 1:
        return (causes[0][1],)
    causes.sort(key=lambda c: c[0])  # stable: equal ranks keep the order they were seen
    return tuple(dict.fromkeys(text for _, text in causes))


def _scan(event: Event) -> _Found:
    """What the built-in conventions find in the headers and, when needed, the body."""
    found = _Found()
    if event.headers:
        _scan_headers(event.headers, found)
        cloudevent = _is_cloudevent(found)
        if _needs_body(found, cloudevent):
            _scan_body(event, found, cloudevent)
    else:
        _scan_body(event, found, False)
    return found


def extract_ids(event: Event) -> EventIds:
    """The identity of ``event`` by the conventions and the user's rules; never raises."""
    if _active is not None:
        rules = _active.for_topic(event.topic)
        if rules is not None:
            return _extract_with_rules(event, rules)
    found = _scan(event)
    trace = _trace(found)
    if trace is None:
        if found.nothing():
            return EMPTY
        trace = (None, None, None)
    trace_id, span_id, parent_span_id = trace
    text = found.text
    return EventIds(
        text[EVENT_ID],
        text[CORRELATION] or trace_id,
        _causes(found.causes),
        trace_id,
        span_id,
        parent_span_id,
        text[SERVICE],
        text[TYPE],
        text[SOURCE],
    )


# -- the user's rules -------------------------------------------------------------------------

_rules = NO_RULES
_active: ActiveRules | None = None


def set_rules(rules: IdRules | Iterable[IdRule] = ()) -> IdRules:
    """Use ``rules`` for every extraction from now on; ``set_rules()`` clears them.

    Install rules before events are extracted: ``Event.ids`` is computed once per
    event, so an event read earlier keeps the ids it had.
    """
    global _rules, _active, _HEADERS, _BODY, _CLOUDEVENT
    config = rules if isinstance(rules, IdRules) else IdRules(tuple(rules))
    ignore = {normalise(name) for name in config.ignore}
    _HEADERS = _Table({k: v for k, v in HEADER_RULES.items() if k not in ignore})
    _BODY = _Table({k: v for k, v in JSON_RULES.items() if k not in ignore})
    _CLOUDEVENT = _Table({k: v for k, v in CLOUDEVENT_RULES.items() if k not in ignore})
    _active = ActiveRules(config) if config.rules else None
    _rules = config
    return config


def active_rules() -> IdRules:
    """The rules in force (:data:`NO_RULES` until :func:`set_rules`)."""
    return _rules


def has_rules(topic: str) -> bool:
    """True when one of the user's rules applies to ``topic``."""
    return _active is not None and _active.for_topic(topic) is not None


_CORRELATION_SLOT, _TRACE_SLOT = 1, 3


def _builtin_values(found: _Found) -> list[Any]:
    """The built-ins' findings in :data:`RULE_FIELDS` order (no correlation from the trace)."""
    trace_id, span_id, parent_span_id = _trace(found) or (None, None, None)
    value = found.value
    return [
        value(EVENT_ID),
        value(CORRELATION),
        _causes(found.causes),
        trace_id,
        span_id,
        parent_span_id,
        value(SERVICE),
        value(TYPE),
        value(SOURCE),
    ]


def _extract_with_rules(event: Event, rules: TopicRules) -> EventIds:
    override, fallback = rules
    values = _builtin_values(_scan(event))
    if override:
        apply_rules(override, event, values, fill=False)
    if fallback:
        apply_rules(fallback, event, values, fill=True)
    trace = values[_TRACE_SLOT]
    if trace is not None:  # a rule's hex trace id is compared like the built-ins' ones
        values[_TRACE_SLOT] = canonical_trace_id(trace) or trace
    if values[_CORRELATION_SLOT] is None:
        values[_CORRELATION_SLOT] = values[_TRACE_SLOT]
    if not any(values):
        return EMPTY
    return EventIds(*values)


read_ids_with(extract_ids)  # events extract their ids with the conventions and rules here
