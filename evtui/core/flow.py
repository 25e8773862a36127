"""The flow model: which services write which topics, who reads them, what feeds what.

A directed graph (networkx) built from the events themselves and from consumer
group descriptions. Every edge carries the evidence that proved it, a count, a
windowed rate and when it was first and last seen:

* ``produces`` (service -> topic): a record names its producer (its ids'
  ``service``, else its ``source``: a ``service`` header or body field,
  OpenTelemetry's ``service.name``, CloudEvents ``source``, the user's id rules).
  A record that names none is drawn from the topic's "unknown producer" node,
  one per topic: Kafka does not record who produced a record.
* ``consumes`` (topic -> group): exact, from the group's committed offsets and
  member assignments (a :class:`~evtui.core.lag.LagReport`); the edge carries the
  group's lag and status on that topic.
* ``hop`` (topic -> topic): an event on B names as its cause (causation id, or
  parent span within one trace) an event seen on A. The edge says through which
  services (B's producers) and how long the hops took (p50/p95 of B's timestamp
  minus A's). A cause seen after its effect still makes the hop (bounded wait).

Nothing here guesses: an edge exists only where a record or a group says so.
Node and edge identity is exact text (``service:/shop/inventory``), so two
producers are never merged because their names look alike; ``label`` is only
for drawing. Times are record timestamps (ms): rates are over the newest
``window_ms`` of record time, and :meth:`FlowModel.snapshot` ages out (``idle``,
then gone) what was not seen for ``idle_ms``/``expire_ms`` before ``now_ms``.
Memory is bounded: the causes remembered (``max_known``), the effects waiting
for a cause (``max_waiting``), nodes and edges (``max_edges``: the least
recently seen edge goes first, counted in ``evicted``).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import networkx as nx

from evtui.core import native as _native
from evtui.core.lag import worst
from evtui.core.schemas import SchemaTimeline

if TYPE_CHECKING:
    from evtui.core.event import Event
    from evtui.core.lag import LagReport

WINDOW_MS = 60_000
IDLE_MS = 5 * 60_000
EXPIRE_MS = 30 * 60_000
MAX_EDGES = 5_000
MAX_KNOWN = 100_000
MAX_WAITING = 50_000
MAX_EFFECTS = 100  # effects waiting for one cause (a fan-out from a cause not yet seen)
MAX_VIA = 100  # services named in a hop's ``via``; the rest are counted under OTHER_VIA
OTHER_VIA = "(other services)"
LATENCY_SAMPLES = 512
SAMPLES = 5  # sample records kept per edge
MAX_CHANGES = 200
UNREADABLE = "unreadable records"  # a node's problems: its records that could not be read


class Kind(StrEnum):
    SERVICE = "service"
    UNKNOWN = "unknown producer"
    TOPIC = "topic"
    GROUP = "group"


class EdgeKind(StrEnum):
    PRODUCES = "produces"
    CONSUMES = "consumes"
    HOP = "hop"


_PREFIX = {Kind.SERVICE: "service", Kind.UNKNOWN: "unknown", Kind.TOPIC: "topic"}


def node_id(kind: Kind, name: str) -> str:
    return f"{_PREFIX.get(kind, 'group')}:{name}"


def short_label(name: str) -> str:
    """A producer's name for drawing: a URI's last path segment (``/shop/inventory`` ->
    ``inventory``), other names as they are."""
    tail = name.rstrip("/").rsplit("/", 1)[-1]
    return tail or name


@dataclass
class Counter:
    """Events and bytes: in total, and per second of record time over the last window."""

    count: int = 0
    bytes: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    seconds: dict[int, list[int]] = field(default_factory=dict)  # second -> [events, bytes]

    def add(self, at_ms: int, nbytes: int, window_ms: int) -> None:
        self.count += 1
        self.bytes += nbytes
        if self.first_ms is None or at_ms < self.first_ms:
            self.first_ms = at_ms
        if self.last_ms is None or at_ms > self.last_ms:
            self.last_ms = at_ms
        second = at_ms // 1000
        bucket = self.seconds.get(second)  # partitions interleave: any second, one lookup
        if bucket is None:
            bucket = self.seconds[second] = [0, 0]
            if len(self.seconds) > window_ms // 1000 + 2:
                horizon = (self.last_ms - window_ms) // 1000
                for old in [s for s in self.seconds if s <= horizon]:
                    del self.seconds[old]
        bucket[0] += 1
        bucket[1] += nbytes

    def rate(self, now_ms: int, window_ms: int) -> tuple[float, float]:
        """Events/s and bytes/s over the window ending at ``now_ms`` (record time)."""
        horizon = (now_ms - window_ms) // 1000
        kept = [b for s, b in self.seconds.items() if s > horizon]
        events = sum(b[0] for b in kept)
        nbytes = sum(b[1] for b in kept)
        span = window_ms / 1000
        if self.first_ms is not None and now_ms - self.first_ms < window_ms:
            span = max(1.0, (now_ms - self.first_ms) / 1000)  # a young edge: its own age
        return events / span, nbytes / span


def percentile(values: list[int], q: float) -> int | None:
    """The nearest-rank percentile (None: no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q * len(ordered))))
    return ordered[rank - 1]


@dataclass
class EdgeState:
    source: str
    target: str
    kind: EdgeKind
    counter: Counter = field(default_factory=Counter)
    evidence: dict[str, int] = field(default_factory=dict)  # what proved it: how often
    via: dict[str, int] = field(default_factory=dict)  # hop: the services that forwarded
    latencies: deque[int] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    samples: deque[tuple] = field(default_factory=lambda: deque(maxlen=SAMPLES))  # records
    metrics: dict[str, Any] = field(default_factory=dict)  # consumes: lag, status, members


Record = tuple[str, int, int]  # topic, partition, offset (one tuple per event, shared)
_Seen = tuple[int, Record]  # an event remembered as a cause: its time, its record
_Effect = tuple[str, int, Record]  # an event waiting for its cause: its producer, time, record


def _ref(record: Record) -> str:
    return f"{record[0]}[{record[1]}]@{record[2]}"


class FlowEvents:
    """The per-event half of the model: producer and hop edges, their counters, and the
    causes remembered for hops. This is the specification; ``native/src/flow.rs`` is its
    twin (``tests/unit/test_native_flow.py`` pins them together), used when built.

    ``fixed``: edges kept elsewhere (the groups') that count toward ``max_edges``.
    """

    def __init__(self, window_ms: int, max_edges: int, max_known: int, max_waiting: int) -> None:
        self.window_ms = window_ms
        self.max_edges = max_edges
        self.max_known = max_known
        self.max_waiting = max_waiting
        self.fixed = 0
        self.edges: OrderedDict[tuple[str, str, EdgeKind], EdgeState] = OrderedDict()
        self.topics: dict[str, list[EdgeState]] = {}  # topic -> the edges producing into it
        self._known: OrderedDict[str, _Seen] = OrderedDict()  # event id -> the event
        self._spans: OrderedDict[tuple[str, str], _Seen] = OrderedDict()  # (trace, span)
        self._waiting: OrderedDict[str, list[_Effect]] = OrderedDict()  # cause id -> effects
        # per-record lookups: (producer name, topic, named by service) -> (node, edge,
        # evidence, topic); hops
        self._produces: dict[tuple[str | None, str, bool], tuple] = {}
        self._hops: dict[tuple[str, str], EdgeState] = {}
        self._names: dict[str, str] = {}
        self._changes: list[tuple[int, str]] = []
        self.newest_ms: int | None = None
        self.events = 0
        self.evicted = 0
        self.dropped_waiting = 0

    def offer_batch(self, events: list[Event]) -> list[tuple[int, Exception]]:
        """Offer ``events`` in order; the ones that failed (index, exception)."""
        failed = []
        for index, event in enumerate(events):
            try:
                self.offer(event)
            except Exception as exc:  # one record's failure, never the model's
                failed.append((index, exc))
        return failed

    def offer(self, event: Event) -> None:
        at, topic, value = event.timestamp, event.topic, event.value
        nbytes = len(value) if value else 0
        ids = event.ids
        self.events += 1
        if self.newest_ms is None or at > self.newest_ms:
            self.newest_ms = at
        name = ids.service or ids.source
        found = self._produces.get((name, topic, not ids.service))
        if found is None:
            found = self._new_producer(name, topic, ids)
        producer, edge, evidence, topic = found  # (the topic's one str object)
        edge.counter.add(at, nbytes, self.window_ms)  # (a topic's figures: its producers')
        edge.evidence[evidence] += 1
        record = (topic, event.partition, event.offset)
        edge.samples.append(record)
        for cause in ids.causation_ids:
            self._cause(cause, (producer, at, record))
        if ids.parent_span_id and ids.trace_id:
            seen = self._spans.get((ids.trace_id, ids.parent_span_id))
            if seen is not None:
                self._hop(seen, (producer, at, record), "parent span")
        me = (at, record)
        if ids.event_id:
            self._remember(self._known, ids.event_id, me)
            if self._waiting:
                for effect in self._waiting.pop(ids.event_id, ()):
                    self._hop(me, effect, "causation id (cause seen after its effect)")
        if ids.span_id and ids.trace_id:
            self._remember(self._spans, (ids.trace_id, ids.span_id), me)

    def _new_producer(self, name: str | None, topic: str, ids: Any) -> tuple:
        if name:
            producer, evidence = node_id(Kind.SERVICE, name), _producer_evidence(ids)
        else:
            producer, evidence = node_id(Kind.UNKNOWN, topic), "no producer named in the record"
        into = self._topic(topic)  # (a new topic is said before its producer)
        edge = self._edge(producer, node_id(Kind.TOPIC, topic), EdgeKind.PRODUCES)
        edge.evidence.setdefault(evidence, 0)
        if all(e is not edge for e in into):  # (found again after an eviction: once)
            into.append(edge)
        topic = self._names.setdefault(topic, topic)  # one str object per topic, kept
        found = (producer, edge, evidence, topic)
        self._produces[(name, topic, not ids.service)] = found
        return found

    def _topic(self, topic: str) -> list[EdgeState]:
        producers = self.topics.get(topic)
        if producers is None:
            producers = self.topics[topic] = []
            self._changed(f"new topic {topic}")
        return producers

    def _remember(self, table: OrderedDict, key: Any, seen: _Seen) -> None:
        if key in table:
            return  # the first sighting stays the cause (a duplicate is no new cause)
        table[key] = seen
        if len(table) > self.max_known:
            table.popitem(last=False)

    def _cause(self, cause: str, effect: _Effect) -> None:
        seen = self._known.get(cause)
        if seen is not None:
            self._hop(seen, effect, "causation id")
            return
        waiting = self._waiting.get(cause)
        if waiting is None:
            waiting = self._waiting[cause] = []
            if len(self._waiting) > self.max_waiting:
                self._waiting.popitem(last=False)
                self.dropped_waiting += 1
        if len(waiting) < MAX_EFFECTS:
            waiting.append(effect)
        else:
            self.dropped_waiting += 1

    def _hop(self, cause: _Seen, effect: _Effect, how: str) -> None:
        cause_ms, cause_record = cause
        producer, at, record = effect
        if cause_record == record:
            return  # an event naming itself links nothing
        cause_topic, topic = cause_record[0], record[0]
        edge = self._hops.get((cause_topic, topic))
        if edge is None:
            source, target = node_id(Kind.TOPIC, cause_topic), node_id(Kind.TOPIC, topic)
            edge = self._hops[(cause_topic, topic)] = self._edge(source, target, EdgeKind.HOP)
        edge.counter.add(at, 0, self.window_ms)
        edge.evidence[how] = edge.evidence.get(how, 0) + 1
        via = edge.via
        if producer not in via and len(via) >= MAX_VIA:
            producer = OTHER_VIA  # a service per record must not grow a hop without bound
        via[producer] = via.get(producer, 0) + 1
        edge.latencies.append(at - cause_ms)
        edge.samples.append((cause_record, record))

    def _edge(self, source: str, target: str, kind: EdgeKind) -> EdgeState:
        key = (source, target, kind)
        edge = self.edges.get(key)
        if edge is not None:
            return edge
        edge = self.edges[key] = EdgeState(source, target, kind)
        self._changed(_describe_new(source, target, kind))
        if len(self.edges) + self.fixed > self.max_edges:
            self._evict(edge)
        return edge

    def _evict(self, keep: EdgeState) -> None:
        """The least recently seen edges out, a tenth of the bound at once (a producer naming
        itself anew in every record must not cost a scan of every edge per record); never
        ``keep``, the edge just made."""

        def last(item: tuple) -> int:
            ms = item[1].counter.last_ms
            return 2**63 if ms is None else ms

        candidates = [(k, e) for k, e in self.edges.items() if e is not keep]
        candidates.sort(key=last)
        over = len(self.edges) + self.fixed - self.max_edges * 9 // 10
        gone = candidates[: max(1, over)]
        for key, edge in gone:
            del self.edges[key]
            if edge.kind is EdgeKind.PRODUCES:  # its topic's figures no longer count it
                producers = self.topics.get(_name(edge.target), [])
                producers[:] = [e for e in producers if e is not edge]
        self.evicted += len(gone)
        if gone:
            self._changed(f"{len(gone):,} edges not seen for longest forgotten (memory bound)")
        self._produces.clear()  # found again as needed (each a dict lookup)
        self._hops.clear()

    def _changed(self, what: str) -> None:
        self._changes.append((self.newest_ms or 0, what))

    # -- reading ----------------------------------------------------------------------------

    def take_changes(self) -> list[tuple[int, str]]:
        """The structure changes since the last call: (record time, what), oldest first."""
        changes, self._changes = self._changes, []
        return changes

    def rows(self, now: int, idle_ms: int, expire_ms: int) -> tuple[list, list]:
        """What a snapshot at ``now`` draws: the topics (name, count, events/s, bytes/s, last
        seen), then the edges not expired (source, target, attributes), in the order made."""
        topics = []
        for topic, producers in self.topics.items():
            producers = [e for e in producers if e.counter.last_ms is not None]
            last = max((e.counter.last_ms for e in producers), default=None)
            if last is not None and now - last > expire_ms:
                continue
            rates = [e.counter.rate(now, self.window_ms) for e in producers]
            count = sum(e.counter.count for e in producers)
            topics.append((topic, count, sum(r for r, _ in rates), sum(b for _, b in rates), last))
        edges = []
        for edge in self.edges.values():
            last = edge.counter.last_ms
            if last is not None and now - last > expire_ms:
                continue
            attrs = _edge_attrs(edge, now, self.window_ms, idle_ms)
            edges.append((edge.source, edge.target, attrs))
        return topics, edges

    def sizes(self) -> dict[str, int]:
        """The bounded structures' sizes (for tests and benches)."""
        return {
            "edges": len(self.edges), "known": len(self._known), "spans": len(self._spans),
            "waiting": len(self._waiting),
            "producers_per_topic": max(map(len, self.topics.values()), default=0),
            "names": len({name for name, _, _ in self._produces}),  # producers looked up
        }  # fmt: skip


class FlowModel:
    """See the module. Feed it events (:meth:`offer`, :meth:`offer_batch`) and group reports
    (:meth:`groups`); read it with :meth:`snapshot`. ``version`` changes exactly when the
    structure (the set of nodes and edges) does, so a drawing is laid out again only then.

    The per-event bookkeeping is :class:`FlowEvents`, or its twin in the extension when it
    is built (``native=None``: when built; False: Python's)."""

    def __init__(
        self,
        *,
        window_ms: int = WINDOW_MS,
        idle_ms: int = IDLE_MS,
        expire_ms: int = EXPIRE_MS,
        max_edges: int = MAX_EDGES,
        max_known: int = MAX_KNOWN,
        max_waiting: int = MAX_WAITING,
        native: bool | None = None,
    ) -> None:
        self.window_ms = window_ms
        self.idle_ms = idle_ms
        self.expire_ms = expire_ms
        bounds = (window_ms, max_edges, max_known, max_waiting)
        made = _native.flow(*bounds) if native is not False else None
        self.native = made is not None
        self._events: Any = made if made is not None else FlowEvents(*bounds)
        self.consumes: dict[tuple[str, str, EdgeKind], EdgeState] = {}  # the groups' edges
        self.node_problems: dict[str, dict[str, int]] = {}  # node -> kind -> count
        self.produced: dict[str, float | None] = {}  # topic -> events/s by its end offsets
        self.groups_seen: dict[str, dict[str, Any]] = {}  # group -> state, members, status
        self.version = 0
        self.changes: deque[tuple[int, str]] = deque(maxlen=MAX_CHANGES)  # (ms, what)
        # the registry schemas each topic is written with (a topic node's detail shows them)
        self.schemas = SchemaTimeline()

    # -- events -----------------------------------------------------------------------------

    def offer(self, event: Event) -> None:
        """One event (an error reading it is raised)."""
        failed = self.offer_batch([event])
        if failed:
            raise failed[0][1]

    def offer_batch(self, events: list[Event]) -> list[tuple[int, Exception]]:
        """Offer ``events`` in order; the ones that could not be read (index, exception)."""
        if type(events) is not list:
            events = list(events)
        failed = self._events.offer_batch(events)
        self._take_changes()
        return failed

    def _take_changes(self) -> None:
        for at, what in self._events.take_changes():
            self.version += 1  # every structure change counts (``changes`` keeps the newest)
            self.changes.append((at, what))

    def _changed(self, what: str) -> None:
        self._take_changes()  # (the events' changes came first)
        self.version += 1
        self.changes.append((self.newest_ms or 0, what))

    @property
    def events(self) -> int:
        return self._events.events

    @property
    def evicted(self) -> int:
        return self._events.evicted

    @property
    def dropped_waiting(self) -> int:
        return self._events.dropped_waiting

    @property
    def newest_ms(self) -> int | None:
        return self._events.newest_ms

    def sizes(self) -> dict[str, int]:
        """The bounded structures' sizes: edges, known causes, spans, waiting causes."""
        sizes = self._events.sizes()
        sizes["edges"] += len(self.consumes)
        return dict(sizes)

    def set_problems(self, by_topic: dict[str, dict[str, int]]) -> None:
        """Every topic's problems at once (violations by kind, as a check board counts
        them), replacing what was noted before."""
        self.node_problems = {node_id(Kind.TOPIC, t): dict(c) for t, c in by_topic.items()}

    def produce_rates(self, rates: dict[str, float | None]) -> None:
        """Every topic's produce rate as the cluster's end offsets tell it (events/s; None:
        not known yet), replacing the previous. It counts what the topic received, where
        ``rate`` counts the events read (fewer when the reader samples)."""
        self.produced = dict(rates)

    # -- groups -----------------------------------------------------------------------------

    def groups(self, report: LagReport, topics: Iterable[str] | None = None) -> None:
        """The consumer groups as a lag poll found them: their ``consumes`` edges replace the
        previous ones (a group gone from the report is gone). ``topics``: only these."""
        wanted = None if topics is None else set(topics)
        fresh: dict[tuple[str, str, EdgeKind], EdgeState] = {}
        self.groups_seen = {}
        for group in report.groups:
            by_topic: dict[str, list] = {}
            for part in group.partitions:
                if wanted is None or part.topic in wanted:
                    by_topic.setdefault(part.topic, []).append(part)
            if not by_topic:
                continue
            self.groups_seen[group.group] = {
                "state": group.state, "members": group.members, "status": str(group.status),
                "lag": group.lag,
            }  # fmt: skip
            for topic, parts in sorted(by_topic.items()):
                key = (node_id(Kind.TOPIC, topic), node_id(Kind.GROUP, group.group))
                edge = EdgeState(*key, EdgeKind.CONSUMES)
                edge.evidence = _group_evidence(parts)
                lags = [p.lag for p in parts if p.lag is not None]
                times = [p.time_lag_s for p in parts if p.time_lag_s is not None]
                edge.metrics = {
                    "lag": sum(lags) if lags else None,
                    "time_lag_s": max(times) if times else None,
                    "status": str(worst(p.status for p in parts)),
                    "members": sorted({p.member for p in parts if p.member}),
                    "partitions": len(parts),
                }
                fresh[(*key, EdgeKind.CONSUMES)] = edge
        for key in self.consumes.keys() - fresh.keys():
            del self.consumes[key]
            self._changed(f"{_name(key[1])} no longer reads {_name(key[0])}")
        for key, edge in fresh.items():
            if key not in self.consumes:
                self._changed(_describe_new(*key))
            self.consumes[key] = edge
        self._events.fixed = len(self.consumes)

    # -- reading ----------------------------------------------------------------------------

    def snapshot(self, now_ms: int | None = None) -> nx.DiGraph:
        """The graph as of ``now_ms`` (default: the newest record's time).

        Nodes: ``kind``, ``name``, ``label`` and their metrics (a topic's ``produced_rate``:
        see :meth:`produce_rates`); edges: ``kind``, ``evidence``,
        ``count``, ``rate`` (events/s), ``bytes_rate``, ``first_ms``, ``last_ms``, ``idle``
        (not seen for ``idle_ms``), and for hops ``via``, ``p50_ms``, ``p95_ms``. What was not
        seen for ``expire_ms`` is left out (group edges stay while their group is reported).
        """
        now = now_ms if now_ms is not None else (self.newest_ms or 0)
        graph = nx.DiGraph()
        topics, edges = self._events.rows(now, self.idle_ms, self.expire_ms)
        for topic, count, rate, bytes_rate, last in topics:
            node = node_id(Kind.TOPIC, topic)
            graph.add_node(
                node, kind=str(Kind.TOPIC), name=topic, label=topic, count=count, rate=rate,
                bytes_rate=bytes_rate, idle=last is None or now - last > self.idle_ms,
                problems=dict(self.node_problems.get(node, {})),
                produced_rate=self.produced.get(topic),
            )  # fmt: skip
        consumes = [
            (e.source, e.target, _edge_attrs(e, now, self.window_ms, self.idle_ms))
            for e in self.consumes.values()
        ]
        for source, target, attrs in [*edges, *consumes]:
            for node in (source, target):
                if node not in graph:
                    graph.add_node(node, **self._node_attrs(node))
            graph.add_edge(source, target, **attrs)
        for node, attrs in graph.nodes(data=True):
            if attrs["kind"] == Kind.SERVICE or attrs["kind"] == Kind.UNKNOWN:
                out = [graph.edges[node, t] for t in graph.successors(node)]
                attrs["rate"] = sum(e["rate"] for e in out)
                attrs["count"] = sum(e["count"] for e in out)
                attrs["idle"] = all(e["idle"] for e in out)
        return graph

    def _node_attrs(self, node: str) -> dict[str, Any]:
        prefix, name = node.split(":", 1)
        if prefix == "service":
            return {"kind": str(Kind.SERVICE), "name": name, "label": short_label(name)}
        if prefix == "unknown":
            return {"kind": str(Kind.UNKNOWN), "name": name, "label": f"? -> {name}"}
        if prefix == "topic":
            return {"kind": str(Kind.TOPIC), "name": name, "label": name, "count": 0,
                    "rate": 0.0, "bytes_rate": 0.0, "idle": True, "problems": {},
                    "produced_rate": self.produced.get(name)}  # fmt: skip
        info = self.groups_seen.get(name, {})
        return {"kind": str(Kind.GROUP), "name": name, "label": name, "idle": False, **info}


def _edge_attrs(edge: EdgeState, now: int, window_ms: int, idle_ms: int) -> dict[str, Any]:
    counter = edge.counter
    rate, bytes_rate = counter.rate(now, window_ms)
    attrs: dict[str, Any] = {
        "kind": str(edge.kind),
        "evidence": dict(edge.evidence),
        "count": counter.count,
        "rate": rate,
        "bytes_rate": bytes_rate,
        "first_ms": counter.first_ms,
        "last_ms": counter.last_ms,
        "idle": counter.last_ms is not None and now - counter.last_ms > idle_ms,
        "samples": [
            f"{_ref(s[0])} -> {_ref(s[1])}" if edge.kind is EdgeKind.HOP else _ref(s)
            for s in edge.samples
        ],
    }
    if edge.kind is EdgeKind.HOP:
        latencies = list(edge.latencies)
        attrs["via"] = dict(edge.via)
        attrs["p50_ms"] = percentile(latencies, 0.5)
        attrs["p95_ms"] = percentile(latencies, 0.95)
    if edge.kind is EdgeKind.CONSUMES:  # a group's figures are its lag, not records seen
        attrs.update(count=None, rate=None, bytes_rate=None, samples=[], idle=False)
        attrs.update(edge.metrics)
    return attrs


def _producer_evidence(ids: Any) -> str:
    if ids.service:
        return "the record names its service"
    return "the record names its source (CloudEvents source or similar)"


def _group_evidence(parts: list) -> dict[str, int]:
    evidence: dict[str, int] = {}
    committed = sum(1 for p in parts if p.committed is not None)
    assigned = sum(1 for p in parts if p.member)
    if committed:
        evidence["committed offsets"] = committed
    if assigned:
        evidence["member assignment"] = assigned
    return evidence or {"group description": len(parts)}


def _name(node: str) -> str:
    return node.split(":", 1)[1]


def _describe_new(source: str, target: str, kind: EdgeKind) -> str:
    if kind is EdgeKind.PRODUCES:
        who = "unknown producer" if source.startswith("unknown:") else _name(source)
        return f"new producer on {_name(target)}: {who}"
    if kind is EdgeKind.CONSUMES:
        return f"new consumer group on {_name(source)}: {_name(target)}"
    return f"new hop: {_name(source)} -> {_name(target)}"
