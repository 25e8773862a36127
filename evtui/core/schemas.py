"""Which registry schemas each topic was written with, when, and by whom (pure).

Fed with events whose values a registry decoder read (``Decoded.schema_id``,
``Decoded.schema``); other values are skipped at the cost of one byte test. Per
topic, one row per schema (id, or subject and version when the id is not known):
first and last record time and place, how many records, and the producers that
wrote it (by the same identity the flow diagram uses: service, else source).
Rows are bounded per topic (the least recently written go first, counted), and
the producers of a row too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evtui.core.event import Event

MAX_SCHEMAS_PER_TOPIC = 200
MAX_PRODUCERS = 20
OTHER_PRODUCERS = "(other producers)"
NO_PRODUCER = "(unnamed)"


@dataclass
class SchemaUse:
    """One schema on one topic: when and by whom it was written."""

    schema_id: int | None
    schema_type: str | None
    subject: str | None
    version: int | None
    first_ts: int
    last_ts: int
    first_ref: str
    last_ref: str
    count: int = 0
    problem: str | None = None  # why values of this id were not decoded (unknown id, ...)
    producers: dict[str, int] = field(default_factory=dict)
    first_at: tuple[int, int, int] = (0, 0, 0)  # (time, partition, offset): the order kept
    last_at: tuple[int, int, int] = (0, 0, 0)

    def label(self) -> str:
        version = f" v{self.version}" if self.version is not None else ""
        subject = self.subject or "(no subject)"
        kind = f" {self.schema_type.lower()}" if self.schema_type else ""
        ident = f"id {self.schema_id}" if self.schema_id is not None else "guid"
        return f"{subject}{version} ({ident}{kind})"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_id": self.schema_id,
            "type": self.schema_type,
            "subject": self.subject,
            "version": self.version,
            "first": {"timestamp_ms": self.first_ts, "ref": self.first_ref},
            "last": {"timestamp_ms": self.last_ts, "ref": self.last_ref},
            "records": self.count,
            "producers": dict(sorted(self.producers.items(), key=lambda kv: -kv[1])),
            "problem": self.problem,
        }


class SchemaTimeline:
    def __init__(self, max_per_topic: int = MAX_SCHEMAS_PER_TOPIC) -> None:
        self.max_per_topic = max_per_topic
        self.topics: dict[str, OrderedDict[tuple, SchemaUse]] = {}
        self.evicted = 0
        self.version = 0  # bumped when a row is added (views redraw then)

    def offer(self, event: Event) -> None:
        data = event.value
        if not data or data[0] > 1:  # not the registry's wire format: nothing to do
            return
        decoded = event.peek_decoded()
        schema = decoded.schema
        if decoded.schema_id is None and schema is None:
            return
        key = (decoded.schema_id, None if schema is None else (schema.subject, schema.version))
        rows = self.topics.setdefault(event.topic, OrderedDict())
        use = rows.get(key)
        ts, ref = event.timestamp, event.ref
        if use is None:
            use = SchemaUse(
                decoded.schema_id,
                None if schema is None else schema.schema_type,
                None if schema is None else schema.subject,
                None if schema is None else schema.version,
                ts, ts, ref, ref,
                problem=decoded.error if schema is None else None,
                first_at=(ts, event.partition, event.offset),
                last_at=(ts, event.partition, event.offset),
            )  # fmt: skip
            rows[key] = use
            self.version += 1
            while len(rows) > self.max_per_topic:
                rows.popitem(last=False)
                self.evicted += 1
        else:
            rows.move_to_end(key)
        use.count += 1
        # ties on time go to the lower partition and offset: the read order never decides
        here = (ts, event.partition, event.offset)
        if here < use.first_at:
            use.first_ts, use.first_ref, use.first_at = ts, ref, here
        if here > use.last_at:
            use.last_ts, use.last_ref, use.last_at = ts, ref, here
        _count_producer(use.producers, _producer(event))

    def offer_batch(
        self, events: list[Event], failed: Callable[[Event, Exception], object] | None = None
    ) -> None:
        """:meth:`offer` each event; one that raises goes to ``failed`` (else it is raised).
        Values that are not the registry's wire format cost one byte test each."""
        for event in events:
            data = event.value
            if not data or data[0] > 1:
                continue
            try:
                self.offer(event)
            except Exception as exc:
                if failed is None:
                    raise
                failed(event, exc)

    def uses(self, topic: str) -> list[SchemaUse]:
        """The topic's schemas in the order they were first written."""
        rows = self.topics.get(topic)
        return sorted(rows.values(), key=lambda u: u.first_at) if rows else []

    def to_json(self) -> dict[str, Any]:
        return {
            "topics": {t: [u.to_json() for u in self.uses(t)] for t in sorted(self.topics)},
            "evicted": self.evicted,
        }

    def lines(self, topic: str, width: int = 100) -> list[str]:
        """The topic's timeline as text lines (what ``evtui schemas`` and the console show)."""
        out = []
        for use in self.uses(topic):
            span = f"{_time(use.first_ts)} .. {_time(use.last_ts)}"
            who = ", ".join(f"{p} {n:,}" for p, n in _top(use.producers, 3))
            line = f"{span}  {use.label()}  {use.count:,} records  by {who}"
            out.append(line if len(line) <= width else line[: width - 1] + "…")
            if use.problem:
                out.append(f"    not decoded: {use.problem}"[:width])
        return out

    def render_text(self) -> str:
        blocks = []
        for topic in sorted(self.topics):
            blocks.append("\n".join([topic, *(f"  {line}" for line in self.lines(topic, 200))]))
        return "\n".join(blocks) if blocks else "no registry-encoded records"


def _producer(event: Event) -> str:
    ids = event.ids
    return ids.service or ids.source or NO_PRODUCER


def _count_producer(producers: dict[str, int], name: str) -> None:
    if name in producers or len(producers) < MAX_PRODUCERS:
        producers[name] = producers.get(name, 0) + 1
    else:
        producers[OTHER_PRODUCERS] = producers.get(OTHER_PRODUCERS, 0) + 1


def _top(producers: dict[str, int], n: int) -> list[tuple[str, int]]:
    ranked = sorted(producers.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:n] + ([("…", sum(v for _, v in ranked[n:]))] if len(ranked) > n else [])


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
