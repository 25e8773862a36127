"""The identity of an event: its id, correlation, causes, trace and type, found cheaply.

:func:`extract_ids` reads the conventions real systems mix (see the architecture
notes, "Conventions users expect"). Header names and JSON field names are
matched case-insensitively with ``-`` and ``_`` treated alike
(``X_Correlation_ID`` is ``x-correlation-id``); JSON fields are read at the top
level of an object body and under its ``metadata`` object.

Recognised names (``[h]`` headers only, ``[j]`` JSON only, else both):

* event id: ``ce_id`` [h], ``NServiceBus.MessageId``, ``event-id``/``eventId``
  (rank 0); ``message-id``/``messageId`` (MassTransit ``MessageId``, rank 1);
  ``id`` [j] only when the same object also has a string type field (rank 2).
* correlation id: ``correlation-id``, ``x-correlation-id``, ``correlationId``,
  ``ce_correlationid``, ``$correlationId`` (rank 0); ``ConversationId``,
  ``conversation-id``, ``NServiceBus.ConversationId`` (rank 1).
* causation ids: ``causation-id``/``causationId``, ``ce_causationid``,
  ``$causationId`` (rank 0); ``NServiceBus.RelatedTo``, ``MT-InitiatorId``,
  ``initiatorId`` (rank 1). Every distinct value is kept (a repeated header is
  several causes), best rank first.
* event type: ``ce_type`` [h], ``event-type``/``eventType``,
  ``NServiceBus.EnclosedMessageTypes`` [h] (the first type, before ``;``/``,``),
  ``__TypeId__`` [h] (rank 0); ``type``, ``$type`` [j] (rank 1).
* service: ``service``, ``service.name`` (OpenTelemetry's resource attribute, carried as a
  header or field), ``service-name``/``serviceName``, ``producer``,
  ``NServiceBus.OriginatingEndpoint`` (rank 0); MassTransit's ``SourceAddress``
  (``source-address``, ``MT-Source-Address``, the envelope's ``sourceAddress``: the
  endpoint, the last segment of the address, ``rabbitmq://host/vhost/orders`` is
  ``orders``) (rank 1).
* source: ``ce_source`` [h] (kept as is; it is not the service).
* trace: W3C ``traceparent`` (``tracestate`` ignored), B3 single ``b3``, B3
  multi ``X-B3-TraceId``/``X-B3-SpanId``/``X-B3-ParentSpanId``, Jaeger
  ``uber-trace-id`` [h]: the first valid one in that order gives trace id, span
  id and parent span id together. Malformed values are ignored. Hex digits are
  read in either case (W3C asks for lower case; real systems send upper case too).
  Trace ids are kept in one canonical form, whatever carried them: 32 lower-case
  hex digits, a 64-bit id (B3, Jaeger) left-padded with zeros as the B3 and W3C
  specifications say it crosses into W3C (:func:`canonical_trace_id`): a ``b3``
  of ``0562809467078eab-...`` and a ``traceparent`` of ``00-`` + 16 zeros +
  ``0562809467078eab-...`` are one trace. Span ids are 16 lower-case hex digits.
* CloudEvents structured mode (``content-type: application/cloudevents...`` or
  a ``specversion`` string field): the body's ``id`` (rank 0), ``type`` (rank 0)
  and ``source`` are the event's, extensions such as ``correlationid`` /
  ``causationid`` as above. Binary-mode ``ce-`` headers work like ``ce_``.

Precedence: within a field the best (lowest) rank wins wherever it was found;
at equal rank headers beat the body, the top level beats ``metadata``, and the
last of repeated headers wins. So an explicit correlation id beats a
conversation id, and the trace id is the correlation id **only when neither
exists** (the demo's payment service carries its correlation as the
``traceparent`` trace id). The body is decoded (via ``Event.peek_decoded``, not kept) only
when it may add something: a CloudEvents structured body, or headers that leave
the event id, an explicit correlation id or the event type unknown.

Values: header bytes must be UTF-8, JSON values strings (or integers, for ids); values are
stripped, and empty, non-printable or longer than :data:`MAX_LEN` characters
values are ignored. Nothing here raises for bad input. Axon 4 uses
``correlationId`` for the *parent*; such systems need their own rules.

User rules (:func:`set_rules`; the CLI installs the config file's ``[ids]``
section at start-up) name a field of :class:`EventIds` and where its value is:
a header (matched like the built-ins) or a dotted path into the decoded JSON
value (``meta.requestId``, ``items.0.id``; exact keys, list indexes may be
negative), optionally narrowed by a regex (its group ``id``, else group 1) and
to topics matching a regex. Rule values obey the limits above. An ``override``
rule wins over the built-ins whenever it finds a value; any other rule is used
only when the built-ins find nothing (for the correlation id: before the trace
id stands in for it). Per field the first rule, in order, that finds a value
wins; of repeated headers the last. Causation ids collect every value of every
rule of the winning kind: one per repeated header, one per element of a JSON
list, and text is cut at ``split`` when the rule has one. ``ignore`` switches
built-in names off (``correlationId`` for Axon). A rule's trace id of 16 or 32
hex digits is made canonical like the built-ins' ones; other text is kept as is.
``Event.ids`` is computed once per event, so rules apply only to events whose
ids were not read before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from evtui.core.decode import JSON, RawValue, raw_value
from evtui.core.event import EMPTY as EMPTY
from evtui.core.event import Event, read_ids_with
from evtui.core.event import EventIds as EventIds

MAX_LEN = 256
_MAX_BYTES = 4 * MAX_LEN  # no UTF-8 value longer than this can fit in MAX_LEN characters
_CACHE_LIMIT = 4096  # distinct names remembered per table (bounds memory for odd inputs)
_INT_LIMIT = 10**MAX_LEN  # integers with more digits are not ids (and str() may refuse them)


# -- the fields a name can fill ----------------------------------------------------------------

EVENT_ID, CORRELATION, CAUSATION, SERVICE, TYPE, SOURCE = range(6)
TRACEPARENT, B3, B3_TRACE, B3_SPAN, B3_PARENT, UBER, CONTENT_TYPE = range(6, 13)
ID_IF_TYPED, METADATA = 13, 14
_FIELDS = 15
_TEXT_ONLY = frozenset({SERVICE, TYPE, SOURCE})  # JSON integers count only as ids

Rule = tuple[int, int, Callable[[str], str | None] | None]  # field, rank, transform


def normalise(name: str) -> str:
    """The form names are matched in: lower case, ``_`` as ``-``."""
    return name.lower().replace("_", "-")


def endpoint_name(address: str) -> str | None:
    """A MassTransit address's endpoint: ``queue:orders`` and ``rabbitmq://h/v/orders?x=1``
    are ``orders``; ``kafka://h/orders-service`` is ``orders-service``."""
    path = address.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if "://" in path:
        path = path.split("://", 1)[1]
        if "/" not in path:
            return None  # only a host: no endpoint named
    name = path.rsplit("/", 1)[-1].rsplit(":", 1)[-1].strip()
    return name or None


def _first_type(text: str) -> str | None:
    """``NServiceBus.EnclosedMessageTypes``: the first type name, without the assembly."""
    first = text.split(";", 1)[0].split(",", 1)[0].strip()
    return first or None


_COMMON: dict[str, Rule] = {
    "event-id": (EVENT_ID, 0, None),
    "eventid": (EVENT_ID, 0, None),
    "nservicebus.messageid": (EVENT_ID, 0, None),
    "message-id": (EVENT_ID, 1, None),
    "messageid": (EVENT_ID, 1, None),
    "correlation-id": (CORRELATION, 0, None),
    "correlationid": (CORRELATION, 0, None),
    "x-correlation-id": (CORRELATION, 0, None),
    "$correlationid": (CORRELATION, 0, None),
    "conversation-id": (CORRELATION, 1, None),
    "conversationid": (CORRELATION, 1, None),
    "nservicebus.conversationid": (CORRELATION, 1, None),
    "causation-id": (CAUSATION, 0, None),
    "causationid": (CAUSATION, 0, None),
    "$causationid": (CAUSATION, 0, None),
    "nservicebus.relatedto": (CAUSATION, 1, None),
    "mt-initiatorid": (CAUSATION, 1, None),
    "event-type": (TYPE, 0, None),
    "eventtype": (TYPE, 0, None),
    "type": (TYPE, 1, None),
    "service": (SERVICE, 0, None),
    "service.name": (SERVICE, 0, None),
    "service-name": (SERVICE, 0, None),
    "servicename": (SERVICE, 0, None),
    "producer": (SERVICE, 0, None),
    "nservicebus.originatingendpoint": (SERVICE, 0, None),
    "source-address": (SERVICE, 1, endpoint_name),
    "sourceaddress": (SERVICE, 1, endpoint_name),
    "mt-source-address": (SERVICE, 1, endpoint_name),
    "mt-sourceaddress": (SERVICE, 1, endpoint_name),
}

HEADER_RULES: dict[str, Rule] = {
    **_COMMON,
    "ce-id": (EVENT_ID, 0, None),
    "ce-correlationid": (CORRELATION, 0, None),
    "ce-causationid": (CAUSATION, 0, None),
    "ce-type": (TYPE, 0, None),
    "ce-source": (SOURCE, 0, None),
    "nservicebus.enclosedmessagetypes": (TYPE, 0, _first_type),
    "--typeid--": (TYPE, 0, None),
    "traceparent": (TRACEPARENT, 0, None),
    "b3": (B3, 0, None),
    "x-b3-traceid": (B3_TRACE, 0, None),
    "x-b3-spanid": (B3_SPAN, 0, None),
    "x-b3-parentspanid": (B3_PARENT, 0, None),
    "uber-trace-id": (UBER, 0, None),
    "content-type": (CONTENT_TYPE, 0, None),
}

JSON_RULES: dict[str, Rule] = {
    **_COMMON,
    "initiatorid": (CAUSATION, 1, None),
    "$type": (TYPE, 1, None),
    "id": (ID_IF_TYPED, 2, None),
    "metadata": (METADATA, 0, None),
}

CLOUDEVENT_RULES: dict[str, Rule] = {
    **JSON_RULES,
    "id": (EVENT_ID, 0, None),
    "type": (TYPE, 0, None),
    "source": (SOURCE, 0, None),
}


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

# -- values -----------------------------------------------------------------------------------


def _clean(text: str) -> str | None:
    if len(text) > MAX_LEN:
        text = text.strip()
        if len(text) > MAX_LEN:
            return None
    else:
        text = text.strip()
    if not text or not text.isprintable():
        return None
    return text


def header_text(raw: object) -> str | None:
    """A header value as usable text, or None (absent, not UTF-8, too long, blank)."""
    if not isinstance(raw, bytes):
        return None
    if len(raw) > _MAX_BYTES:
        raw = raw.strip()
        if len(raw) > _MAX_BYTES:
            return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return _clean(text)


def json_text(value: object) -> str | None:
    """A JSON field value as usable text: strings and integers only."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if -_INT_LIMIT < value < _INT_LIMIT else None
    return None


# -- collecting -------------------------------------------------------------------------------


_NO_RANK = 99  # worse than any rule's rank
_NO_RANKS = [_NO_RANK] * _FIELDS
_NO_TEXTS: list[str | None] = [None] * _FIELDS


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
        if field in _TEXT_ONLY and not isinstance(value, str):
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


# -- trace context ----------------------------------------------------------------------------

Trace = tuple[str, str | None, str | None]  # trace id, span id, parent span id

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_B3 = re.compile(r"([0-9a-f]{32}|[0-9a-f]{16})-([0-9a-f]{16})(?:-([01d])(?:-([0-9a-f]{16}))?)?")
_B3_TRACE = re.compile(r"[0-9a-f]{32}|[0-9a-f]{16}")
_B3_SPAN = re.compile(r"[0-9a-f]{16}")
_UBER = re.compile(r"([0-9a-f]{1,32}):([0-9a-f]{1,16}):([0-9a-f]{1,16}):([0-9a-f]{1,2})")
ZERO_HIGH = "0" * 16  # the upper 64 bits of a 64-bit trace id in its 128-bit form


def _zero(hex_id: str) -> bool:
    return not hex_id.strip("0")


def _wide(trace: str) -> str:
    """A valid lower-case trace id of 16 or 32 digits in its 32-digit form."""
    return trace if len(trace) == 32 else ZERO_HIGH + trace


def canonical_trace_id(text: str) -> str | None:
    """``text`` as the trace id evtui compares, or None when it is not a trace id.

    16 or 32 hex digits in either case, not all zero: 32 lower-case digits, a
    64-bit id left-padded with zeros (how B3 and W3C carry it into 128 bits).
    """
    text = text.strip().lower()
    if _B3_TRACE.fullmatch(text) is None or _zero(text):
        return None
    return _wide(text)


def shown_id(text: str) -> str:
    """An id as a narrow screen shows it: a 64-bit trace id by its 16 digits.

    A canonical trace id whose upper half is zero came from a 64-bit id (B3,
    Jaeger): its last 16 digits are what the record carried and what a user
    recognises; searching them finds it (:func:`canonical_trace_id`).
    """
    if len(text) == 32 and text.startswith(ZERO_HIGH) and _B3_TRACE.fullmatch(text):
        return text[16:]
    return text


_TRACEPARENT_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


def parse_traceparent(text: str) -> Trace | None:
    """W3C ``version-traceid-spanid-flags`` (in either case); None for anything invalid."""
    m = _TRACEPARENT_00.fullmatch(text)  # version 00 in lower case, nearly every value there is
    if m is not None:
        trace, span = m.group(1, 2)
        if trace == _ZERO_TRACE or span == _ZERO_SPAN:
            return None
        return trace, span, None
    m = _TRACEPARENT.fullmatch(text.lower())
    if m is None:
        return None
    version, trace, span, _flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest) or _zero(trace) or _zero(span):
        return None
    return trace, span, None


def parse_b3(text: str) -> Trace | None:
    """B3 single header ``traceid-spanid[-sampled[-parentspanid]]``; None for ``0`` etc."""
    m = _B3.fullmatch(text.lower())
    if m is None:
        return None
    trace, span, _sampled, parent = m.groups()
    if _zero(trace) or _zero(span):
        return None
    return _wide(trace), span, None if parent is None or _zero(parent) else parent


def _b3_id(text: str | None, pattern: re.Pattern[str]) -> str | None:
    if text is None:
        return None
    text = text.lower()
    return text if pattern.fullmatch(text) and not _zero(text) else None


def parse_b3_multi(trace: str | None, span: str | None, parent: str | None) -> Trace | None:
    """``X-B3-TraceId``/``X-B3-SpanId``/``X-B3-ParentSpanId``: needs a valid trace id."""
    trace_id = _b3_id(trace, _B3_TRACE)
    if trace_id is None:
        return None
    return _wide(trace_id), _b3_id(span, _B3_SPAN), _b3_id(parent, _B3_SPAN)


def parse_uber(text: str) -> Trace | None:
    """Jaeger ``trace:span:parent:flags`` (ids left-padded; parent ``0`` is none)."""
    text = text.lower()
    if "%3a" in text:  # some clients URL-encode the value
        text = text.replace("%3a", ":")
    m = _UBER.fullmatch(text)
    if m is None:
        return None
    trace, span, parent, _flags = m.groups()
    if _zero(trace) or _zero(span):
        return None
    return trace.zfill(32), span.zfill(16), None if _zero(parent) else parent.zfill(16)


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


# -- user rules -------------------------------------------------------------------------------

RULE_FIELDS = (
    "event_id",
    "correlation_id",
    "causation_ids",
    "trace_id",
    "span_id",
    "parent_span_id",
    "service",
    "event_type",
    "source",
)
_INDEX = re.compile(r"-?[0-9]+")
_BUILTIN_NAMES = frozenset(HEADER_RULES) | frozenset(CLOUDEVENT_RULES)


@dataclass(frozen=True, slots=True)
class IdRule:
    """Where one field is found (see the module notes); invalid rules raise ValueError."""

    field: str
    header: str | None = None
    json: str | None = None
    regex: str | None = None
    topics: str | None = None
    override: bool = False
    split: str | None = None

    def __post_init__(self) -> None:
        _compile(self)


@dataclass(frozen=True, slots=True)
class IdRules:
    """The user's rules, in order, and the built-in names they switch off."""

    rules: tuple[IdRule, ...] = ()
    ignore: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in self.ignore:
            if normalise(name) not in _BUILTIN_NAMES:
                raise ValueError(f"ignore: '{name}' is not a built-in name")


NO_RULES = IdRules()

PathPart = tuple[str, int | None]  # a key, and the same as a list index when it is one


class _Rule:
    """An :class:`IdRule` ready to apply."""

    __slots__ = (
        "group",
        "header",
        "many",
        "override",
        "path",
        "pattern",
        "slot",
        "split",
        "topics",
    )

    def __init__(self, rule: IdRule) -> None:
        self.slot = RULE_FIELDS.index(rule.field)  # EventIds' fields come in this order
        self.many = rule.field == "causation_ids"
        self.override = rule.override
        self.split = rule.split
        self.header = None if rule.header is None else _header_name(rule.header)
        self.path = None if rule.json is None else _json_path(rule.json)
        self.pattern = None if rule.regex is None else _regex(rule.regex, "regex")
        self.topics = None if rule.topics is None else _regex(rule.topics, "topics")
        self.group: int | str = 0
        if self.pattern is not None:
            self.group = _group(self.pattern, rule.regex)


def _compile(rule: IdRule) -> _Rule:
    for key in ("header", "json", "regex", "topics", "split"):
        if not isinstance(getattr(rule, key), str | None):
            raise ValueError(f"{key} must be a string")
    if not isinstance(rule.override, bool):
        raise ValueError("override must be true or false")
    if rule.field not in RULE_FIELDS:
        raise ValueError(f"unknown field '{rule.field}' (fields: {', '.join(RULE_FIELDS)})")
    if rule.header is not None and rule.json is not None:
        raise ValueError("give header or json, not both")
    if rule.header is None and rule.json is None:
        raise ValueError("give header or json: where the value is")
    if rule.split is not None and (rule.field != "causation_ids" or not rule.split):
        raise ValueError('split needs field = "causation_ids" and a non-empty separator')
    return _Rule(rule)


def _header_name(name: str) -> str:
    if not name.strip():
        raise ValueError("header: empty name")
    return normalise(name.strip())


def _json_path(text: str) -> tuple[PathPart, ...]:
    parts = text.split(".")
    if not all(parts):
        raise ValueError(f"json: invalid path '{text}' (keys joined by '.', e.g. meta.requestId)")
    return tuple((part, int(part) if _INDEX.fullmatch(part) else None) for part in parts)


def _regex(text: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"{what}: invalid regex '{text}': {exc}") from None


def _group(pattern: re.Pattern[str], text: str | None) -> int | str:
    if "id" in pattern.groupindex:
        return "id"
    if pattern.groups == 0:
        raise ValueError(f"regex '{text}' has no group: mark the id as (?P<id>...) or (...)")
    return 1


TopicRules = tuple[tuple[_Rule, ...], tuple[_Rule, ...]]  # override rules, fallback rules


class _Active:
    """The compiled rules, split per topic into override and fallback rules (cached)."""

    __slots__ = ("by_topic", "rules")

    def __init__(self, rules: IdRules) -> None:
        self.rules = [_Rule(rule) for rule in rules.rules]
        self.by_topic: dict[str, TopicRules | None] = {}

    def for_topic(self, topic: str) -> TopicRules | None:
        """The rules for ``topic``, or None when none applies."""
        split = self.by_topic.get(topic, _UNSEEN)
        if split is _UNSEEN:
            rules = [r for r in self.rules if r.topics is None or r.topics.search(topic)]
            override = tuple(r for r in rules if r.override)
            fallback = tuple(r for r in rules if not r.override)
            split = (override, fallback) if rules else None
            if len(self.by_topic) < _CACHE_LIMIT:
                self.by_topic[topic] = split
        return split


_rules = NO_RULES
_active: _Active | None = None
_header_keys: dict[str, str] = {}


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
    _active = _Active(config) if config.rules else None
    _rules = config
    return config


def active_rules() -> IdRules:
    """The rules in force (:data:`NO_RULES` until :func:`set_rules`)."""
    return _rules


def has_rules(topic: str) -> bool:
    """True when one of the user's rules applies to ``topic``."""
    return _active is not None and _active.for_topic(topic) is not None


def _header_key(name: str) -> str:
    key = _header_keys.get(name)
    if key is None:
        key = normalise(name) if isinstance(name, str) else ""
        if len(_header_keys) < _CACHE_LIMIT:
            _header_keys[name] = key
    return key


def _walk(value: object, path: tuple[PathPart, ...]) -> object:
    for key, index in path:
        if isinstance(value, dict):
            value = value.get(key)
        elif index is not None and isinstance(value, list) and -len(value) <= index < len(value):
            value = value[index]
        else:
            return None
    return value


def _raw_texts(rule: _Rule, event: Event) -> list[str | None]:
    """The rule's values in ``event`` as cleaned text, before split and regex."""
    if rule.header is not None:
        wanted, keys = rule.header, _header_keys
        return [
            header_text(raw)
            for name, raw in event.headers
            if (keys.get(name) or _header_key(name)) == wanted
        ]
    decoded = event.peek_decoded()  # not kept: scans look at every event once
    if decoded.format != JSON or rule.path is None:
        return []
    value = _walk(decoded.value, rule.path)
    if value is None:
        return []
    if rule.many and isinstance(value, list):
        return [json_text(item) for item in value]
    return [json_text(value)]


def _pick(rule: _Rule, text: str) -> str | None:
    if rule.pattern is None:
        return _clean(text)
    match = rule.pattern.search(text)
    found = match.group(rule.group) if match is not None else None
    return _clean(found) if found else None


def _texts(rule: _Rule, event: Event) -> list[str]:
    """Every value ``rule`` finds in ``event``, in order."""
    out: list[str] = []
    for text in _raw_texts(rule, event):
        if text is None:
            continue
        for piece in text.split(rule.split) if rule.split else (text,):
            value = _pick(rule, piece)
            if value is not None:
                out.append(value)
    return out


_CORRELATION_SLOT, _TRACE_SLOT = 1, 3


def _apply(rules: tuple[_Rule, ...], event: Event, values: list[Any], fill: bool) -> None:
    """Put what ``rules`` find into ``values``; with ``fill`` only where nothing is yet."""
    taken: dict[int, Any] = {}
    for rule in rules:
        slot = rule.slot
        if (fill and values[slot]) or (not rule.many and slot in taken):
            continue
        texts = _texts(rule, event)
        if not texts:
            continue
        if rule.many:  # every cause, in rule order, each once
            taken[slot] = tuple(dict.fromkeys((*taken.get(slot, ()), *texts)))
        else:  # the last of repeated headers, as for the built-ins
            taken[slot] = texts[-1]
    for slot, value in taken.items():
        values[slot] = value


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
        _apply(override, event, values, fill=False)
    if fallback:
        _apply(fallback, event, values, fill=True)
    trace = values[_TRACE_SLOT]
    if trace is not None:  # a rule's hex trace id is compared like the built-ins' ones
        values[_TRACE_SLOT] = canonical_trace_id(trace) or trace
    if values[_CORRELATION_SLOT] is None:
        values[_CORRELATION_SLOT] = values[_TRACE_SLOT]
    if not any(values):
        return EMPTY
    return EventIds(*values)


read_ids_with(extract_ids)  # events extract their ids with the conventions and rules here
