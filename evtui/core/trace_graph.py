"""One transaction's causal graph: :func:`build_trace` makes a :class:`Trace`.

The graph (:func:`build_trace`): nodes are event refs (``topic[partition]@offset``),
edges run cause -> effect.

* Explicit edges come from causation ids (matched by event id) and from span
  parentage (``parent_span_id`` -> the event with that span id in the same trace
  id). When several events carry one event id (duplicates) or one span, links go
  to the earliest and a note says so. An event naming itself is ignored (noted).
* A cause id no event carries is an orphan: listed in ``orphans``, the event
  stays a root marked as such. A parent span not among the events is not an
  orphan (spans outside Kafka, such as an HTTP handler's, are normal); noted.
* Inferred edges (kind ``inferred``), only on strong evidence. ``P ~> E`` when
  all hold:

  1. ``E`` names no cause at all (no causation id, no parent span): it is not
     linked explicitly and is no orphan;
  2. ``E`` has a trace id and exactly one event of that trace id, ``P``, is
     strictly earlier than ``E`` (so only the events of the trace's second
     timestamp can be inferred: later ones could be a chain or a fan-out, and
     timing cannot tell);
  3. ``E`` is no copy of ``P`` (same event id), not in ``P``'s span (siblings of
     one producer span) and not from ``P``'s own service when both are known
     (one service publishing twice is more likely siblings);
  4. ``E`` is not already an explicit ancestor of ``P`` (no cycle is made).

* Cycles (bad data) are found with strongly connected components (linear, never
  a hang); one cycle per component is reported. Each component is searched
  depth-first from where causes enter it (else from its first event), children
  in time order, and the back edges of that search are dropped (noted) for the
  DAG that the critical path, the roots, the tree and the waterfall use, so the
  component hangs off its entry. ``graph`` keeps every edge.
* The critical path is the root -> leaf path of the largest total latency
  (ties: more hops, then the earlier leaf). Latencies telescope, so that is the
  connected root/leaf pair furthest apart in time.

Notes are capped per kind (the rest counted). Time order is
``(timestamp, topic, partition, offset)``, which also breaks ties everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field

import networkx as nx

from evtui.core.event import Event
from evtui.core.ids import EventIds
from evtui.core.trace_links import in_time_order

EXPLICIT, INFERRED = "explicit", "inferred"

NOTES_PER_KIND = 20  # notes of one kind kept verbatim; the rest are counted


class _Notes:
    """Notes in order, at most ``NOTES_PER_KIND`` of each kind (the rest counted)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.counts: dict[str, int] = {}

    def add(self, kind: str, text: str) -> None:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        if n <= NOTES_PER_KIND:
            self.lines.append(text)

    def result(self) -> list[str]:
        extra = [
            f"... and {n - NOTES_PER_KIND:,} more {kind} notes"
            for kind, n in self.counts.items()
            if n > NOTES_PER_KIND
        ]
        return self.lines + extra


@dataclass(eq=False)
class Trace:
    """One transaction's causal graph (see the module notes for the rules)."""

    correlation_id: str
    graph: nx.DiGraph
    events: list[Event]
    orphans: list[str]
    cycles: list[list[str]]
    critical_path: list[str]
    roots: list[str]
    notes: list[str]
    missing: dict[str, list[str]] = field(default_factory=dict)  # ref -> cause ids never seen
    dropped_edges: list[tuple[str, str]] = field(default_factory=list)  # broken cycle edges
    children: dict[str, list[str]] = field(default_factory=dict)  # DAG children, time order
    index: dict[str, int] = field(default_factory=dict)  # ref -> position in ``events``

    @property
    def start_ms(self) -> int:
        return self.events[0].timestamp if self.events else 0

    def fan_out(self, ref: str) -> int:
        return self.graph.out_degree(ref) if ref in self.graph else 0

    def fan_in(self, ref: str) -> int:
        return self.graph.in_degree(ref) if ref in self.graph else 0

    def parents(self, ref: str) -> list[str]:
        """Every cause of ``ref`` in the graph, in time order."""
        order = self._order()
        return sorted(self.graph.predecessors(ref), key=order.__getitem__)

    def _order(self) -> dict[str, int]:
        if len(self.index) != len(self.events):
            self.index = {e.ref: i for i, e in enumerate(self.events)}
        return self.index

    def to_json(self) -> dict:
        order = self._order()
        graph = self.graph
        events = []
        for e in self.events:
            ref = e.ref
            attrs = graph.nodes[ref]
            events.append(
                {
                    "ref": ref,
                    "topic": e.topic,
                    "partition": e.partition,
                    "offset": e.offset,
                    "timestamp_ms": e.timestamp,
                    "key": key_text(e.key),
                    "event_id": attrs["event_id"],
                    "trace_id": attrs["trace_id"],
                    "service": attrs["service"],
                    "parents": sorted(graph.predecessors(ref), key=order.__getitem__),
                }
            )
        edges = sorted(graph.edges(data="kind"), key=lambda e: (order[e[0]], order[e[1]]))
        return {
            "correlation_id": self.correlation_id,
            "events": events,
            "edges": [[u, v, kind] for u, v, kind in edges],
            "orphans": list(self.orphans),
            "critical_path": list(self.critical_path),
            "cycles": [list(c) for c in self.cycles],
            "notes": list(self.notes),
        }


def key_text(key: bytes | None) -> str | None:
    """A key as UTF-8 text, ``0x<hex>`` when binary, None when absent."""
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + key.hex()


def _first_by(
    events: Sequence[Event],
    refs: Sequence[str],
    key: Callable[[EventIds], Hashable | None],
) -> tuple[dict[Hashable, str], dict[Hashable, list[str]]]:
    """The earliest ref for each key, and every key held by several events."""
    first: dict[Hashable, str] = {}
    repeated: dict[Hashable, list[str]] = {}
    for event, ref in zip(events, refs, strict=True):
        k = key(event.ids)
        if k is None:
            continue
        seen = first.setdefault(k, ref)
        if seen != ref:
            repeated.setdefault(k, [seen]).append(ref)
    return first, repeated


def _span_key(ids: EventIds) -> tuple[str, str] | None:
    return (ids.trace_id, ids.span_id) if ids.trace_id and ids.span_id else None


def _refs_text(refs: list[str], limit: int = 5) -> str:
    more = f" (+{len(refs) - limit} more)" if len(refs) > limit else ""
    return ", ".join(refs[:limit]) + more


class _Builder:
    """The steps of :func:`build_trace` over one set of events."""

    def __init__(self, correlation_id: str, events: Sequence[Event]) -> None:
        self.correlation_id = correlation_id
        self.events = in_time_order(events)
        self.refs = [e.ref for e in self.events]
        self.index = {ref: i for i, ref in enumerate(self.refs)}
        self.graph = nx.DiGraph()
        self.notes = _Notes()
        self.missing: dict[str, list[str]] = {}
        if len(self.refs) < len(events):
            self.notes.add("repeat", f"{len(events) - len(self.refs):,} repeated refs ignored")

    def nodes(self) -> None:
        for event, ref in zip(self.events, self.refs, strict=True):
            ids = event.ids
            self.graph.add_node(
                ref,
                event=event,
                topic=event.topic,
                service=ids.service,
                event_type=ids.event_type,
                timestamp_ms=event.timestamp,
                event_id=ids.event_id,
                trace_id=ids.trace_id,
                source=ids.source,
            )

    def edge(self, cause: str, effect: str, kind: str) -> None:
        if self.graph.has_edge(cause, effect):
            return
        ts = self.graph.nodes
        latency = ts[effect]["timestamp_ms"] - ts[cause]["timestamp_ms"]
        self.graph.add_edge(cause, effect, kind=kind, latency_ms=latency)

    def explicit(self) -> None:
        by_id, repeated = _first_by(self.events, self.refs, lambda ids: ids.event_id)
        for eid, refs in repeated.items():
            self.notes.add(
                "duplicate",
                f"duplicate event id {eid} at refs {_refs_text(refs)}: effects link to the first",
            )
        by_span, repeated_spans = _first_by(self.events, self.refs, _span_key)
        for (_trace, span), refs in repeated_spans.items():
            self.notes.add(
                "duplicate span",
                f"span {span} carried by refs {_refs_text(refs)}: child spans link to the first",
            )
        unseen_spans = 0
        for event, ref in zip(self.events, self.refs, strict=True):
            ids = event.ids
            self.causes(ref, ids, by_id)
            unseen_spans += self.span_parent(ref, ids, by_span)
        if unseen_spans:
            self.notes.add(
                "span",
                f"{unseen_spans:,} events name a parent span not among these events "
                "(not orphans: spans outside Kafka are normal)",
            )

    def causes(self, ref: str, ids: EventIds, by_id: dict[Hashable, str]) -> None:
        for cause in ids.causation_ids:
            source = by_id.get(cause)
            if cause == ids.event_id or source == ref:
                self.notes.add("self", f"event {ref} names itself as its cause: ignored")
            elif source is None:
                self.missing.setdefault(ref, []).append(cause)
            else:
                self.edge(source, ref, EXPLICIT)

    def span_parent(self, ref: str, ids: EventIds, by_span: dict[Hashable, str]) -> int:
        """Link to the parent span's event; 1 when the parent span is not here."""
        trace, parent = ids.trace_id, ids.parent_span_id
        if not (trace and parent):
            return 0
        source = by_span.get((trace, parent))
        if parent == ids.span_id or source == ref:
            self.notes.add("self", f"event {ref} names its own span as its parent: ignored")
        elif source is None:
            return 1
        else:
            self.edge(source, ref, EXPLICIT)
        return 0

    def inferred(self) -> None:
        by_trace: dict[str, list[int]] = {}
        for i, event in enumerate(self.events):
            trace = event.ids.trace_id
            if trace:
                by_trace.setdefault(trace, []).append(i)
        count = 0
        for positions in by_trace.values():
            count += self.infer_in_trace(positions)
        if count:
            self.notes.add(
                "inferred",
                f"{count:,} edges inferred (marked inferred): an event naming no cause whose "
                "trace id has exactly one earlier event",
            )

    def infer_in_trace(self, positions: list[int]) -> int:
        """``P ~> E`` for the events ``E`` of the trace's second timestamp (see the rules)."""
        if len(positions) < 2:
            return 0
        events = self.events
        first = events[positions[0]]
        second_ts = events[positions[1]].timestamp
        if second_ts <= first.timestamp:
            return 0  # two or more events share the first time: no single earlier event
        parent = self.refs[positions[0]]
        ancestors: set[str] | None = None
        count = 0
        for pos in positions[1:]:
            event = events[pos]
            if event.timestamp != second_ts:
                break
            if not _may_infer(first.ids, event.ids):
                continue
            if ancestors is None:
                ancestors = nx.ancestors(self.graph, parent)
            ref = self.refs[pos]
            if ref not in ancestors:
                self.edge(parent, ref, INFERRED)
                count += 1
        return count

    def break_cycles(self) -> tuple[list[list[str]], set[tuple[str, str]]]:
        """One reported cycle per strongly connected component, and the edges dropped."""
        index = self.index
        cycles: list[list[str]] = []
        dropped: set[tuple[str, str]] = set()
        for component in nx.strongly_connected_components(self.graph):
            if len(component) < 2:
                continue
            cycle, back = self.back_edges(component)
            at = cycle.index(min(cycle, key=index.__getitem__))
            cycles.append(cycle[at:] + cycle[:at])
            dropped.update(back)
        cycles.sort(key=lambda c: index[c[0]])
        for cycle in cycles:
            self.notes.add("cycle", "cycle: " + " -> ".join([*cycle, cycle[0]]))
        for u, v in sorted(dropped, key=lambda e: (index[e[0]], index[e[1]])):
            self.notes.add("dropped", f"edge {u} -> {v} closes a cycle: left out of the tree")
        return cycles, dropped

    def entries(self, component: set[str]) -> list[str]:
        """Where causes reach a component from outside (time order), else its first event."""
        pred = self.graph.pred
        found = [r for r in component if any(u not in component for u in pred[r])]
        return sorted(found or [min(component, key=self.index.__getitem__)], key=self.index.get)

    def back_edges(self, component: set[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """A depth-first search of the component from its entries: a cycle and the back edges.

        Iterative (long cycles), children in time order; dropping the back edges
        leaves every event of the component reachable from an entry.
        """
        succ, index = self.graph.succ, self.index

        def inside(ref: str) -> Iterator[str]:
            return iter(sorted((v for v in succ[ref] if v in component), key=index.__getitem__))

        visited: set[str] = set()
        on_path: set[str] = set()
        back: list[tuple[str, str]] = []
        cycle: list[str] = []
        for entry in self.entries(component):
            if entry in visited:
                continue
            visited.add(entry)
            on_path.add(entry)
            path, stack = [entry], [inside(entry)]
            while stack:
                for v in stack[-1]:
                    if v in on_path:
                        back.append((path[-1], v))
                        cycle = cycle or path[path.index(v) :]
                    elif v not in visited:
                        visited.add(v)
                        on_path.add(v)
                        path.append(v)
                        stack.append(inside(v))
                        break
                else:
                    stack.pop()
                    on_path.discard(path.pop())
        return cycle, back

    def dag(self, dropped: set[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
        """Children in time order without the dropped edges, and the roots that leaves."""
        index = self.index
        children: dict[str, list[str]] = {}
        has_parent: set[str] = set()
        for ref in self.refs:
            kids = [v for v in self.graph.successors(ref) if (ref, v) not in dropped]
            kids.sort(key=index.__getitem__)
            children[ref] = kids
            has_parent.update(kids)
        roots = [ref for ref in self.refs if ref not in has_parent]
        return children, roots

    def build(self) -> Trace:
        self.nodes()
        self.explicit()
        self.inferred()
        cycles, dropped = self.break_cycles()
        children, roots = self.dag(dropped)
        orphans = sorted({c for causes in self.missing.values() for c in causes})
        return Trace(
            correlation_id=self.correlation_id,
            graph=self.graph,
            events=self.events,
            orphans=orphans,
            cycles=cycles,
            critical_path=_critical_path(self.graph, children, roots, self.index),
            roots=roots,
            notes=self.notes.result(),
            missing=self.missing,
            dropped_edges=sorted(dropped, key=lambda e: (self.index[e[0]], self.index[e[1]])),
            children=children,
            index=self.index,
        )


def _may_infer(parent: EventIds, ids: EventIds) -> bool:
    """Rules 1 and 3 of inference (see the module notes)."""
    if ids.causation_ids or ids.parent_span_id:
        return False
    if ids.event_id is not None and ids.event_id == parent.event_id:
        return False
    if ids.span_id is not None and ids.span_id == parent.span_id:
        return False
    return not (ids.service is not None and ids.service == parent.service)


def _topological(children: dict[str, list[str]], roots: list[str]) -> list[str]:
    """Kahn's order of the DAG (roots first, in time order)."""
    indegree = dict.fromkeys(children, 0)
    for kids in children.values():
        for v in kids:
            indegree[v] += 1
    order = list(roots)
    i = 0
    while i < len(order):
        for v in children[order[i]]:
            indegree[v] -= 1
            if indegree[v] == 0:
                order.append(v)
        i += 1
    return order


def _critical_path(
    graph: nx.DiGraph, children: dict[str, list[str]], roots: list[str], index: dict[str, int]
) -> list[str]:
    """The root -> leaf path of the largest total latency (ties: more hops, earlier leaf)."""
    if not roots:
        return []
    best: dict[str, tuple[int, int]] = dict.fromkeys(roots, (0, 0))
    via: dict[str, str] = {}
    edges = graph.edges
    for u in _topological(children, roots):
        total, hops = best[u]
        for v in children[u]:
            candidate = (total + edges[u, v]["latency_ms"], hops + 1)
            if v not in best or candidate > best[v]:
                best[v] = candidate
                via[v] = u
    leaves = [ref for ref, kids in children.items() if not kids]
    end = max(leaves, key=lambda r: (best[r], -index[r]))
    path = [end]
    while path[-1] in via:
        path.append(via[path[-1]])
    path.reverse()
    return path


def build_trace(correlation_id: str, events: Sequence[Event]) -> Trace:
    """The causal graph of one transaction's events (see the module notes for the rules)."""
    return _Builder(correlation_id, events).build()
