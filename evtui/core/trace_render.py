"""A :class:`~evtui.core.trace_graph.Trace` as text: the tree, the waterfall, DOT, Mermaid.

The built-in formats of ``evtui trace`` (besides JSON, :meth:`Trace.to_json`) and
the waterfall rows of the console's trace screen. A new built-in format goes
here; a plugin's exporter is registered instead (see :mod:`evtui.commands.trace`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from evtui.core.text import plural
from evtui.core.trace_graph import INFERRED, NOTES_PER_KIND, Trace

MAX_INDENT = 40  # tree levels indented; deeper lines show their depth instead


def _ms(n: int) -> str:
    return f"{n:+d} ms"


def _label(value: Any) -> str:
    return "?" if value is None else str(value)


def _who(attrs: dict) -> str:
    """The service, else the CloudEvents source, else ``?``."""
    return _label(attrs["service"] or attrs["source"])


@dataclass(frozen=True)
class _Row:
    ref: str
    depth: int
    parent: str | None  # the tree parent (None for roots)
    first: bool  # False: a shared descendant already shown


@dataclass(frozen=True)
class _Summary:
    text: str  # e.g. "… 37 more ShipmentCreated"
    depth: int


Picker = Callable[[str, list[str]], tuple[list[str], list[str]]]


def _tree(trace: Trace, pick: Picker) -> Iterator[_Row | _Summary]:
    """Rows in tree order: roots first, children in time order, iteratively (deep chains).

    ``pick(parent, children)`` gives the children to show and summary lines for
    the rest (shown after the children).
    """
    seen: set[str] = set()
    stack: list[tuple[str, int, str | None] | _Summary] = [
        (r, 0, None) for r in reversed(trace.roots)
    ]
    while stack:
        item = stack.pop()
        if isinstance(item, _Summary):
            yield item
            continue
        ref, depth, parent = item
        if ref in seen:
            yield _Row(ref, depth, parent, False)
            continue
        seen.add(ref)
        yield _Row(ref, depth, parent, True)
        shown, summaries = pick(ref, trace.children.get(ref, []))
        stack.extend(_Summary(text, depth + 1) for text in reversed(summaries))
        stack.extend((kid, depth + 1, ref) for kid in reversed(shown))


def _show_all(_parent: str, kids: list[str]) -> tuple[list[str], list[str]]:
    return kids, []


def waterfall(trace: Trace) -> list[tuple[str, int, int, int]]:
    """(ref, depth, start ms from the trace start, latency ms from the tree parent), tree order.

    Every event once (a shared descendant under its first parent).
    """
    nodes = trace.graph.nodes
    start = trace.start_ms
    rows = []
    for row in _tree(trace, _show_all):
        if not isinstance(row, _Row) or not row.first:
            continue
        ts = nodes[row.ref]["timestamp_ms"]
        hop = 0 if row.parent is None else ts - nodes[row.parent]["timestamp_ms"]
        rows.append((row.ref, row.depth, ts - start, hop))
    return rows


def _collapser(trace: Trace, max_children: int) -> Picker:
    critical = set(trace.critical_path)
    nodes = trace.graph.nodes

    def pick(parent: str, kids: list[str]) -> tuple[list[str], list[str]]:
        if len(kids) <= max_children:
            return kids, []
        shown: list[str] = []
        per_type: dict[str, int] = {}
        hidden: dict[str, int] = {}
        for kid in kids:
            etype = _label(nodes[kid]["event_type"])
            if per_type.get(etype, 0) < max_children or kid in critical:
                per_type[etype] = per_type.get(etype, 0) + 1
                shown.append(kid)
            else:
                hidden[etype] = hidden.get(etype, 0) + 1
        return shown, [f"… {n:,} more {t}" for t, n in hidden.items()]

    return pick


def _indent(depth: int) -> str:
    if depth <= MAX_INDENT:
        return "  " * depth
    return "  " * MAX_INDENT + f"[{depth}] "


def render_tree(trace: Trace, *, max_children: int = 50) -> str:
    """The causal tree as indented text (see the module notes; ``*`` marks the critical path)."""
    graph = trace.graph
    nodes = graph.nodes
    critical = set(trace.critical_path)
    start = trace.start_ms
    lines = [_tree_header(trace)]
    for row in _tree(trace, _collapser(trace, max(1, max_children))):
        if isinstance(row, _Summary):
            lines.append(f"  {_indent(row.depth)}{row.text}")
            continue
        depth = row.depth
        arrow = ""
        if row.parent is not None:
            arrow = "~> " if graph.edges[row.parent, row.ref]["kind"] == INFERRED else "-> "
        if not row.first:
            lines.append(f"  {_indent(depth)}{arrow}{row.ref} (shown above)")
            continue
        attrs = nodes[row.ref]
        ts = attrs["timestamp_ms"]
        hop = "" if row.parent is None else f" ({_ms(ts - nodes[row.parent]['timestamp_ms'])})"
        mark = "*" if row.ref in critical else " "
        orphan = "".join(
            f"  (orphan: cause {c} never seen)" for c in trace.missing.get(row.ref, ())
        )
        lines.append(
            f"{mark} {_indent(depth)}{arrow}{_ms(ts - start)}{hop}  {_who(attrs)}  "
            f"{row.ref}  {_label(attrs['event_type'])}{orphan}"
        )
    lines.extend("cycle: " + " -> ".join([*c, c[0]]) for c in trace.cycles[:NOTES_PER_KIND])
    return "\n".join(lines) + "\n"


def _tree_header(trace: Trace) -> str:
    graph = trace.graph
    inferred = sum(1 for *_e, kind in graph.edges(data="kind") if kind == INFERRED)
    span = trace.events[-1].timestamp - trace.start_ms if trace.events else 0
    return (
        f"trace {trace.correlation_id}: {plural(len(trace.events), 'event')}, "
        f"{plural(graph.number_of_edges(), 'edge')} ({inferred:,} inferred), "
        f"{plural(len(trace.roots), 'root')}, {plural(len(trace.orphans), 'orphan')}, "
        f"{plural(len(trace.cycles), 'cycle')}, {span:,} ms"
    )


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _node_text(attrs: dict, ref: str) -> str:
    return f"{_who(attrs)}\n{_label(attrs['event_type'])}\n{ref}"


def _critical_edges(trace: Trace) -> set[tuple[str, str]]:
    path = trace.critical_path
    return set(pairwise(path))


def render_dot(trace: Trace) -> str:
    """Graphviz DOT: labelled nodes and latency edges; inferred dashed, critical path bold."""
    graph = trace.graph
    critical = set(trace.critical_path)
    critical_edges = _critical_edges(trace)
    dropped = set(trace.dropped_edges)
    out = [
        f"digraph {_dot_text('trace ' + trace.correlation_id)} {{",
        "  rankdir=LR;",
        '  node [shape=box, fontname="monospace", fontsize=10];',
        '  edge [fontname="monospace", fontsize=9];',
    ]
    for e in trace.events:
        style = ", style=bold, penwidth=2" if e.ref in critical else ""
        label = _dot_text(_node_text(graph.nodes[e.ref], e.ref))
        out.append(f"  {_dot_text(e.ref)} [label={label}{style}];")
    for u, v in _sorted_edges(trace):
        data = graph.edges[u, v]
        styles = []
        if data["kind"] == INFERRED:
            styles.append("dashed")
        if (u, v) in critical_edges:
            styles.append("bold")
        attrs = [f"label={_dot_text(_ms(data['latency_ms']))}"]
        if styles:
            attrs.append(f"style={_dot_text(','.join(styles))}")
        if (u, v) in critical_edges:
            attrs.append("penwidth=2")
        if (u, v) in dropped:
            attrs.append('color="red", constraint=false')
        out.append(f"  {_dot_text(u)} -> {_dot_text(v)} [{', '.join(attrs)}];")
    for i, (ref, cause) in enumerate(_missing_links(trace)):
        node = f"missing{i}"
        label = _dot_text("never seen\n" + cause)
        out.append(f"  {node} [label={label}, shape=ellipse, style=dashed];")
        out.append(f'  {node} -> {_dot_text(ref)} [style=dotted, label="orphan"];')
    out.append("}")
    return "\n".join(out) + "\n"


def _sorted_edges(trace: Trace) -> list[tuple[str, str]]:
    order = trace._order()
    return sorted(trace.graph.edges, key=lambda e: (order[e[0]], order[e[1]]))


def _missing_links(trace: Trace) -> list[tuple[str, str]]:
    """(ref, missing cause id) in time order of the refs."""
    return [(e.ref, c) for e in trace.events for c in trace.missing.get(e.ref, ())]


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'


def render_mermaid(trace: Trace) -> str:
    """A ``flowchart LR`` Mermaid graph: inferred links dotted, the critical path thick."""
    graph = trace.graph
    ids = {e.ref: f"n{i}" for i, e in enumerate(trace.events)}
    critical_edges = _critical_edges(trace)
    out = ["flowchart LR"]
    for e in trace.events:
        out.append(f"  {ids[e.ref]}[{_mermaid_text(_node_text(graph.nodes[e.ref], e.ref))}]")
    thick: list[int] = []
    link = 0
    for u, v in _sorted_edges(trace):
        data = graph.edges[u, v]
        arrow = "-.->" if data["kind"] == INFERRED else "-->"
        out.append(f"  {ids[u]} {arrow}|{_mermaid_text(_ms(data['latency_ms']))}| {ids[v]}")
        if (u, v) in critical_edges:
            thick.append(link)
        link += 1
    for i, (ref, cause) in enumerate(_missing_links(trace)):
        out.append(f"  m{i}([{_mermaid_text('never seen: ' + cause)}])")
        out.append(f"  m{i} -. orphan .-> {ids[ref]}")
        link += 1
    if trace.critical_path:
        out.append("  classDef critical stroke-width:3px")
        out.append(f"  class {','.join(ids[r] for r in trace.critical_path)} critical")
    if thick:
        out.append(f"  linkStyle {','.join(map(str, thick))} stroke-width:3px")
    return "\n".join(out) + "\n"
