"""The built-in identity conventions: which header and field names mean what, and how
trace context is read (W3C ``traceparent``, B3, Jaeger), with no state of a run.

:func:`evtui.core.ids.extract_ids` reads the conventions real systems mix (see the architecture
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

Values: header bytes must be UTF-8, JSON values strings (or integers, for ids); values are
stripped, and empty, non-printable or longer than :data:`MAX_LEN` characters
values are ignored. Nothing here raises for bad input. Axon 4 uses
``correlationId`` for the *parent*; such systems need their own rules.

How the names are looked up and ranked in a record is :mod:`evtui.core.ids`; the
user's own rules are :mod:`evtui.core.ids_rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MAX_LEN = 256
_MAX_BYTES = 4 * MAX_LEN  # no UTF-8 value longer than this can fit in MAX_LEN characters
CACHE_LIMIT = 4096  # distinct names remembered per table (bounds memory for odd inputs)
_INT_LIMIT = 10**MAX_LEN  # integers with more digits are not ids (and str() may refuse them)

# -- the fields a name can fill ----------------------------------------------------------------

EVENT_ID, CORRELATION, CAUSATION, SERVICE, TYPE, SOURCE = range(6)
TRACEPARENT, B3, B3_TRACE, B3_SPAN, B3_PARENT, UBER, CONTENT_TYPE = range(6, 13)
ID_IF_TYPED, METADATA = 13, 14
FIELD_COUNT = 15
TEXT_ONLY = frozenset({SERVICE, TYPE, SOURCE})  # JSON integers count only as ids

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


BUILTIN_NAMES = frozenset(HEADER_RULES) | frozenset(CLOUDEVENT_RULES)
"""Every name the conventions know (what the user's rules may ``ignore``)."""


# -- values -----------------------------------------------------------------------------------


def clean(text: str) -> str | None:
    """``text`` stripped, or None when empty, non-printable or longer than :data:`MAX_LEN`."""
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
    return clean(text)


def json_text(value: object) -> str | None:
    """A JSON field value as usable text: strings and integers only."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if -_INT_LIMIT < value < _INT_LIMIT else None
    return None


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
