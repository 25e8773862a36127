"""The one event model every source produces and every view renders.

The bottom of the core: an :class:`Event` (the record's bytes), what its value
decodes to (:class:`Decoded`) and who it is (:class:`EventIds`). Reading them
is the work of the layers above, ``core.decode`` (decoders, the chain in force)
and then ``core.ids`` (identity conventions and rules): each installs its reader
here when imported (:func:`read_values_with`, :func:`read_ids_with`), and
``Event.decoded`` and ``Event.ids`` call them lazily. This module imports neither.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import Any, NamedTuple, Protocol

Header = tuple[str, bytes | None]
Headers = tuple[Header, ...]

# -- what an event is read as (the layers above read it: core.decode, then core.ids) --------

NULL = "null"
JSON = "json"
TEXT = "text"
BINARY = "binary"
SCHEMA_REGISTRY = "schema-registry"


class SchemaInfo(NamedTuple):
    """The registry schema a value was written with (a Schema Registry decoder's result)."""

    schema_type: str  # AVRO, PROTOBUF or JSON (the registry's names)
    subject: str | None  # None when the registry names no subject (or several)
    version: int | None
    text: str  # the schema as the registry holds it
    message: str | None = None  # Protobuf: the message type the indexes named

    def describe(self) -> str:
        """``avro, subject orders-value v3`` (what a detail pane shows)."""
        where = f", subject {self.subject}" if self.subject else ""
        version = f" v{self.version}" if self.version is not None else ""
        message = f", message {self.message}" if self.message else ""
        return f"{self.schema_type.lower()}{where}{version}{message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.schema_type,
            "subject": self.subject,
            "version": self.version,
            "message": self.message,
        }


class Decoded(NamedTuple):
    """The result of decoding a value (immutable, cheap to build on the hot path).

    ``format`` names what the payload is (``json``, ``text``, ``binary``,
    ``schema-registry``, ``null`` or a plugin's format); ``value`` is the
    decoded Python object (a ``str`` for text, ``bytes`` for binary and
    schema-registry payloads, ``None`` for a tombstone). A plugin that decodes
    registry payloads (Avro, Protobuf, JSON Schema) gives ``format`` ``json``
    and a JSON-like value, so that they behave as JSON values everywhere, with
    ``schema_id`` and ``schema`` saying what they were written with.
    """

    format: str
    value: Any
    decoder: str
    schema_id: int | None = None
    error: str | None = None
    schema: SchemaInfo | None = None


class EventIds(NamedTuple):
    """Who an event is, what caused it and what it belongs to (None when unknown).

    A named tuple: made for every event a scan reads, and a tuple is made in a
    fifth of the time of a frozen dataclass.
    """

    event_id: str | None = None
    correlation_id: str | None = None
    causation_ids: tuple[str, ...] = ()
    trace_id: str | None = None
    span_id: str | None = None
    parent_span_id: str | None = None
    service: str | None = None
    event_type: str | None = None
    source: str | None = None


EMPTY = EventIds()


class ValueReader(Protocol):
    """What reads values: the decoder chain in force (:class:`evtui.core.decode.DecoderChain`)."""

    def decode(self, data: bytes | None, headers: Headers = ()) -> Decoded: ...

    def peek(self, data: bytes | None, headers: Headers = ()) -> dict | str | None: ...


def read_values_with(chain: Callable[[], ValueReader]) -> None:
    """Decode events with ``chain()``, the decoder chain in force (``core.decode`` installs it)."""
    global _active_chain
    _active_chain = chain


def read_ids_with(extract: Callable[[Event], EventIds]) -> None:
    """Extract events' ids with ``extract`` (``core.ids`` installs its ``extract_ids``)."""
    global _extract_ids
    _extract_ids = extract


def _not_installed(*_: object) -> Any:
    raise RuntimeError("the readers are installed by evtui.core.decode and evtui.core.ids")


_active_chain: Callable[[], ValueReader] = _not_installed
_extract_ids: Callable[[Event], EventIds] = _not_installed


_set = object.__setattr__
_new_fields = object.__new__
# Event.peek_fields's last answer: (the event, the decoder chain, its fields); one entry only.
_peeked: tuple[Any, Any, dict | None] = (None, None, None)
ProblemSink = Callable[["Event", str], None]
_sinks = threading.local()  # .sink: where this thread's scan counts records' problems


@contextlib.contextmanager
def problems_reported_to(sink: ProblemSink) -> Iterator[None]:
    """Within the block, this thread's events tell ``sink`` what failed on them, and why.

    A value that does not decode, or ids that could not be extracted, is a
    problem of that record, never an error of the run: the lazy properties
    below answer with what they can (the text, no ids) and report it here.
    """
    previous = getattr(_sinks, "sink", None)
    _sinks.sink = sink
    try:
        yield
    finally:
        _sinks.sink = previous


def problem_sink() -> ProblemSink | None:
    """This thread's sink (a source starting its reader thread hands it on)."""
    return getattr(_sinks, "sink", None)


def report_problem(event: Event, reason: str) -> None:
    """Tell this thread's sink (if any) that ``event`` has a problem."""
    sink = getattr(_sinks, "sink", None)
    if sink is not None:
        sink(event, reason)


def describe_error(exc: BaseException) -> str:
    """An exception as one short line (no traceback)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    lines = str(exc).strip().splitlines()
    return (f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__)[:200]


class TimestampType(IntEnum):
    """Kafka record timestamp types (values match librdkafka's)."""

    NOT_AVAILABLE = 0
    CREATE_TIME = 1
    LOG_APPEND_TIME = 2

    @property
    def label(self) -> str:
        return _TS_LABELS[self]


_TS_LABELS = {
    TimestampType.NOT_AVAILABLE: "NotAvailable",
    TimestampType.CREATE_TIME: "CreateTime",
    TimestampType.LOG_APPEND_TIME: "LogAppendTime",
}


class _Fields:
    """The storage of an :class:`Event`, filled once while it is made (plain slot stores)."""

    __slots__ = (
        "_decoded",
        "_ids",
        "headers",
        "key",
        "offset",
        "partition",
        "timestamp",
        "timestamp_type",
        "topic",
        "value",
    )


class Event(_Fields):
    """An immutable Kafka record with raw bytes and a lazily decoded payload.

    Made as a :class:`_Fields` whose class then becomes ``Event``: setting ten
    slots through ``object.__setattr__`` cost 1.15 us per event, a third of
    what a scan spends reading a record (bench/trace_scan); this costs 0.33 us.
    """

    __slots__ = ()

    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: TimestampType
    key: bytes | None
    value: bytes | None
    headers: Headers

    def __new__(
        cls,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int,
        timestamp_type: TimestampType | int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = (),
    ) -> Event:
        self = _new_fields(_Fields)
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.timestamp_type = timestamp_type
        self.key = key
        self.value = value
        self.headers = headers
        self._decoded = None
        self._ids = None
        self.__class__ = cls
        return self  # type: ignore[return-value]

    def __reduce__(self) -> tuple[Any, tuple]:
        """Pickled with its ids (what a parallel scan's workers send back)."""
        return _restore, (*self._record(), self._ids)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Event is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Event is immutable (cannot delete {name!r})")

    def __repr__(self) -> str:
        return f"Event({self.topic}[{self.partition}]@{self.offset})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._record() == other._record()

    def __hash__(self) -> int:
        return hash((self.topic, self.partition, self.offset))

    def _record(self) -> tuple:
        return (
            self.topic,
            self.partition,
            self.offset,
            self.timestamp,
            int(self.timestamp_type),
            self.key,
            self.value,
            self.headers,
        )

    @property
    def ref(self) -> str:
        """A short, stable reference: ``topic[partition]@offset``."""
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @property
    def ts_type(self) -> TimestampType:
        return TimestampType(self.timestamp_type)

    @property
    def decoded(self) -> Decoded:
        """The decoded value, computed once with the active decoder chain."""
        decoded = self._decoded
        if decoded is None:
            decoded = _active_chain().decode(self.value, self.headers)
            _set(self, "_decoded", decoded)
            if decoded.error is not None:
                report_problem(self, decoded.error)
        return decoded

    def peek_decoded(self) -> Decoded:
        """The decoded value without keeping it (when not decoded yet).

        For scans that look at every event once (filters): caching a decoded
        JSON tree on each of hundreds of thousands of kept events would keep
        them all alive for the garbage collector to walk (bench/ui: 235 ms
        pauses). Events that are shown decode again, once.
        """
        decoded = self._decoded
        if decoded is None:
            decoded = _active_chain().decode(self.value, self.headers)
            if decoded.error is not None:
                report_problem(self, decoded.error)
        return decoded

    def identity(self) -> Event:
        """This record without its value and headers, its ids kept (extracted now if needed).

        What a scan holds of the many events that may still turn out to be
        causes: a third of the memory of the full record.
        """
        light = Event(
            self.topic,
            self.partition,
            self.offset,
            self.timestamp,
            self.timestamp_type,
            self.key,
            None,
        )
        _set(light, "_ids", self.ids)
        return light

    def peek_fields(self) -> dict | None:
        """The top-level fields of a JSON-object value, without keeping anything.

        Values not decoded yet may be ``msgspec.Raw`` (see
        :meth:`DecoderChain.fields`): identity extraction reads a few fields of
        every event a scan looks at. None when the value is not a JSON object.
        The last event's fields are remembered: its ids and the ordering checks
        read the same event one after the other (one parse instead of four). A value that
        does not decode is reported once and its decoded form kept (see :attr:`decoded`).
        """
        decoded = self._decoded
        if decoded is None:
            global _peeked
            chain = _active_chain()
            last, last_chain, fields = _peeked
            if last is self and last_chain is chain:
                return fields
            try:
                fields = chain.peek(self.value, self.headers)
            except Exception as exc:  # a decoder's bug: this record's problem
                fields = describe_error(exc)
            if type(fields) is str:  # the value does not decode
                report_problem(self, fields)
                # kept, so that nobody reports it again (any detector, in any order)
                _set(self, "_decoded", chain.decode(self.value, self.headers))
                fields = None
            _peeked = (self, chain, fields)
            return fields
        value = decoded.value
        return value if decoded.format == JSON and isinstance(value, dict) else None

    @property
    def ids(self) -> EventIds:
        """Event id, correlation, causes, trace and type, extracted once (see ``core.ids``)."""
        ids = self._ids
        if ids is None:
            try:
                ids = _extract_ids(self)
            except Exception as exc:  # a bug on odd input: no ids, and the record's problem
                report_problem(self, f"ids not read: {describe_error(exc)}")
                ids = EMPTY
            _set(self, "_ids", ids)
        return ids

    @property
    def decode_error(self) -> str | None:
        return self.decoded.error

    @property
    def size(self) -> int:
        """Bytes of key, value and headers, roughly what the record weighs."""
        n = len(self.key or b"") + len(self.value or b"")
        for name, value in self.headers:
            n += len(name) + len(value or b"")
        return n

    def header(self, name: str) -> bytes | None:
        """The last value of a header (case-insensitive), or None."""
        wanted = name.lower()
        found = None
        for hname, hvalue in self.headers:
            if hname.lower() == wanted:
                found = hvalue
        return found


def text_or_bytes(data: bytes | None) -> str | bytes | None:
    """UTF-8 text when the bytes are valid UTF-8, else the bytes themselves."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _restore(*fields: Any) -> Event:
    *record, ids = fields
    event = Event(*record)
    _set(event, "_ids", ids)
    return event


restore_event = _restore
"""An event from its record's fields and its ids (what pickling and held copies use)."""
