"""What every detector shares: the :class:`Finding`, how findings name records and keys,
bounded per-key state, reading a field of a record, and the compacted topics.

Pure: no Textual, no confluent-kafka. A helper two detectors need goes here, not in either.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from evtui.core.decode import raw_value
from evtui.core.event import Event

WARNING, INFO = "warning", "info"


@dataclass(frozen=True)
class Finding:
    """One violation, with everything needed to explain it."""

    kind: str
    severity: str
    topic: str
    partition: int
    offset: int
    key: str | None
    refs: tuple[str, ...]
    expected: str
    seen: str
    explanation: str

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "refs": list(self.refs),
            "expected": self.expected,
            "seen": self.seen,
            "explanation": self.explanation,
        }


_last_ref: tuple[Event | None, str] = (None, "")  # every detector asks for the same event's


def ref(event: Event) -> str:
    """``topic/partition/offset`` (the last event's is remembered)."""
    global _last_ref
    last, text = _last_ref
    if last is event:
        return text
    text = f"{event.topic}/{event.partition}/{event.offset}"
    _last_ref = (event, text)
    return text


def key_text(event: Event) -> str | None:
    return None if event.key is None else decode_key(event.key)


def field_of(event: Event, names: tuple[str, ...]) -> object:
    """A header's bytes (any case, the last one), else a JSON value by path; None if absent."""
    return read_field(event, field_spec(names))


FieldSpec = tuple[frozenset[str], tuple[tuple[str, list[str]], ...]]


def read_field(event: Event, spec: FieldSpec) -> object:
    lowered, paths = spec
    for name, raw in reversed(event.headers):
        if raw is not None and name.lower() in lowered:
            return raw
    fields = event.peek_fields()
    if not fields:
        return None
    for head, rest in paths:
        if head not in fields:
            continue
        value = raw_value(fields[head])
        for part in rest:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


@lru_cache(maxsize=64)
def field_spec(names: tuple[str, ...]) -> FieldSpec:
    """Names as header names (lower case) and as JSON paths (the top-level field, the rest)."""
    paths = tuple((head, rest.split(".") if rest else []) for head, _, rest in
                  (name.partition(".") for name in names))  # fmt: skip
    return frozenset(n.lower() for n in names), paths


class KeyState(OrderedDict):
    """Per-key state, least recently used first, at most ``limit`` keys (``evicted`` counts)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.evicted = 0

    def put(self, key: object, value: object) -> None:
        """Add a key, the least recently used one out first when full (counted)."""
        if len(self) >= self.limit:
            self.popitem(last=False)
            self.evicted += 1
        self[key] = value


class Compaction:
    """Offsets missing so far in each partition of the compacted topics read.

    The cleaner removes versions a later record of their key supersedes (and,
    later, tombstones), so on a compacted topic a cause may be gone, and a read
    that races the cleaner may see a key jump over versions it removed. Offsets
    are counted from 0: what is missing before a partition's first record was
    removed too. :meth:`see` may be offered the same event more than once (each
    detector that cares offers it).
    """

    def __init__(self, topics: Iterable[str] = ()) -> None:
        self.topics = frozenset(topics)
        self.last: dict[tuple[str, int], int] = {}
        self.missing: dict[tuple[str, int], int] = {}  # offsets missing so far, per partition
        self.removed = 0  # offsets missing so far, in every partition

    def see(self, event: Event) -> bool:
        """Count the offsets missing before ``event``; True when its topic is compacted."""
        if event.topic not in self.topics:
            return False
        tp = (event.topic, event.partition)
        last = self.last.get(tp, -1)
        if event.offset > last:
            self.last[tp] = event.offset
            if event.offset > last + 1:
                skipped = event.offset - last - 1
                self.missing[tp] = self.missing.get(tp, 0) + skipped
                self.removed += skipped
        return True

    def missing_before(self, event: Event) -> int:
        """Offsets missing in the event's partition up to it."""
        return self.missing.get((event.topic, event.partition), 0)


def decode_key(key: bytes) -> str:
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return key.hex()


def place(reference: str) -> str:
    """``topic/partition/offset`` as findings name a record: ``topic[partition]@offset``."""
    topic, partition, offset = parse_ref(reference)
    return f"{topic}[{partition}]@{offset}"


def parse_ref(reference: str) -> tuple[str, int, int]:
    """``topic/partition/offset`` (topics may contain ``/``) back into its parts."""
    topic, partition, offset = reference.rsplit("/", 2)
    return topic, int(partition), int(offset)


def make_finding(
    kind: str, event: Event, refs: tuple[str, ...], *, expected: str, seen: str,
    explanation: str, severity: str = WARNING,
) -> Finding:  # fmt: skip
    return Finding(
        kind, severity, event.topic, event.partition, event.offset, key_text(event), refs,
        expected, seen, explanation,
    )  # fmt: skip
