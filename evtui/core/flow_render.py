"""The flow graph (:meth:`evtui.core.flow.FlowModel.snapshot`) as text, JSON, DOT and Mermaid.

Text is for people: names that came from records are shown with their control
characters escaped (``\\x1b``), never written raw to a terminal. JSON keeps them
exact; DOT and Mermaid quote them for their own syntax.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

from evtui.core.text import plural, visible

FORMATS = ("text", "json", "dot", "mermaid")
_ORDER = {"service": 0, "unknown producer": 1, "topic": 2, "group": 3}


def shown(text: str) -> str:
    """``text`` with control characters visible (``\\x1b``), for a terminal."""
    return visible(text)


def _nodes(graph: nx.DiGraph, kind: str) -> list[tuple[str, dict]]:
    return sorted(((n, a) for n, a in graph.nodes(data=True) if a["kind"] == kind), key=_by_name)


def _by_name(item: tuple[str, dict]) -> str:
    return item[1]["name"]


def _edges(graph: nx.DiGraph, kind: str) -> list[tuple[str, str, dict]]:
    found = [(u, v, a) for u, v, a in graph.edges(data=True) if a["kind"] == kind]
    return sorted(found, key=lambda e: (graph.nodes[e[0]]["name"], graph.nodes[e[1]]["name"]))


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}/s"


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value:,} ms"


def _evidence(evidence: dict[str, int]) -> str:
    return "; ".join(f"{what} ({n:,})" for what, n in sorted(evidence.items()))


def _name(graph: nx.DiGraph, node: str) -> str:
    attrs = graph.nodes[node]
    if attrs["kind"] == "unknown producer":
        return "(unknown producer)"
    return shown(attrs["name"])


def _via(graph: nx.DiGraph, via: dict[str, int]) -> str:
    return ", ".join(f"{_name(graph, s)} ({n:,})" for s, n in sorted(via.items()))


def summary(graph: nx.DiGraph) -> str:
    counts = {k: 0 for k in _ORDER}
    for _, kind in graph.nodes(data="kind"):
        counts[kind] += 1
    hops = sum(1 for *_, k in graph.edges(data="kind") if k == "hop")
    producers = counts["service"] + counts["unknown producer"]
    return (
        f"{plural(counts['topic'], 'topic')}, {plural(producers, 'producer')} "
        f"({counts['unknown producer']:,} unknown), {plural(counts['group'], 'consumer group')}, "
        f"{plural(hops, 'hop')}"
    )


def render_text(graph: nx.DiGraph) -> str:
    lines = [f"flow: {summary(graph)}"]
    rows = [
        (shown(a["name"]), f"{a['count']:,} events", _rate(a["rate"]), _problems(a))
        for _, a in _nodes(graph, "topic")
    ]
    lines += _section("topics", rows)
    rows = [
        (_name(graph, u), "->", _name(graph, v), f"{a['count']:,}", _rate(a["rate"]),
         _idle(a), _evidence(a["evidence"]))
        for u, v, a in _edges(graph, "produces")
    ]  # fmt: skip
    lines += _section("producers (service -> topic)", rows)
    rows = [
        (_name(graph, u), "->", _name(graph, v), f"lag {_count(a.get('lag'))}",
         a.get("status", "?"), _evidence(a["evidence"]))
        for u, v, a in _edges(graph, "consumes")
    ]  # fmt: skip
    lines += _section("consumers (topic -> group)", rows)
    rows = [
        (_name(graph, u), "->", _name(graph, v), f"{a['count']:,}", f"p50 {_ms(a['p50_ms'])}",
         f"p95 {_ms(a['p95_ms'])}", f"via {_via(graph, a['via'])}")
        for u, v, a in _edges(graph, "hop")
    ]  # fmt: skip
    lines += _section("hops (an event on the left caused one on the right)", rows)
    return "\n".join(lines)


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _idle(attrs: dict) -> str:
    return "idle" if attrs.get("idle") else ""


def _problems(attrs: dict) -> str:
    problems = attrs.get("problems") or {}
    return ", ".join(f"{kind} {n:,}" for kind, n in sorted(problems.items()))


def _section(title: str, rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return [f"{title}: none"]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    body = ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]  # fmt: skip
    return [f"{title}:", *body]


def to_json(graph: nx.DiGraph, *, events: int, changes: Iterable[tuple[int, str]] = ()) -> dict:
    """Nodes (id, kind, name, label, metrics) and edges (from, to, kind, evidence, count,
    rate, latency p50/p95, first/last seen)."""
    nodes = [{"id": n, **_plain(a)} for n, a in sorted(graph.nodes(data=True), key=_node_key)]
    edges = []
    for u, v, a in sorted(graph.edges(data=True), key=lambda e: (e[2]["kind"], e[0], e[1])):
        edge = {"from": u, "to": v, **_plain(a)}
        edge["first_seen_ms"] = edge.pop("first_ms")
        edge["last_seen_ms"] = edge.pop("last_ms")
        edges.append(edge)
    return {
        "events": events,
        "nodes": nodes,
        "edges": edges,
        "changes": [{"at_ms": at, "what": what} for at, what in changes],
    }


def _node_key(item: tuple[str, dict]) -> tuple[int, str]:
    return _ORDER[item[1]["kind"]], item[0]


def _plain(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in attrs.items()}


# -- DOT and Mermaid ------------------------------------------------------------------------------

_DOT_SHAPES = {
    "service": 'shape=box, style="rounded"',
    "unknown producer": 'shape=box, style="rounded,dashed"',
    "topic": "shape=cylinder",
    "group": "shape=hexagon",
}


def _dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _edge_label(attrs: dict) -> str:
    if attrs["kind"] == "consumes":
        return f"lag {_count(attrs.get('lag'))} {attrs.get('status', '')}".strip()
    label = _rate(attrs["rate"])
    if attrs["kind"] == "hop":
        label += f" p50 {_ms(attrs['p50_ms'])}"
    return label


def _label(graph: nx.DiGraph, node: str) -> str:
    attrs = graph.nodes[node]
    return "? unknown producer" if attrs["kind"] == "unknown producer" else attrs["label"]


def render_dot(graph: nx.DiGraph) -> str:
    """Graphviz DOT, left to right; hops (inferred from causal links) dashed."""
    out = [
        'digraph "evtui flow" {',
        "  rankdir=LR;",
        '  node [fontname="monospace", fontsize=10];',
        '  edge [fontname="monospace", fontsize=9];',
    ]
    for node, attrs in sorted(graph.nodes(data=True), key=_node_key):
        out.append(f"  {_dot(node)} [label={_dot(_label(graph, node))}, "
                   f"{_DOT_SHAPES[attrs['kind']]}];")  # fmt: skip
    for u, v, attrs in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        style = ", style=dashed" if attrs["kind"] == "hop" else ""
        out.append(f"  {_dot(u)} -> {_dot(v)} [label={_dot(_edge_label(attrs))}{style}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'


_MERMAID_SHAPES = {
    "service": ("([", "])"),
    "unknown producer": ("([", "])"),
    "topic": ("[(", ")]"),
    "group": ("{{", "}}"),
}


def render_mermaid(graph: nx.DiGraph) -> str:
    """A ``flowchart LR``: services as stadiums, topics as cylinders, groups as hexagons;
    hops dotted."""
    nodes = sorted(graph.nodes(data=True), key=_node_key)
    ids = {node: f"n{i}" for i, (node, _) in enumerate(nodes)}
    out = ["flowchart LR"]
    for node, attrs in nodes:
        opening, closing = _MERMAID_SHAPES[attrs["kind"]]
        out.append(f"  {ids[node]}{opening}{_mermaid(_label(graph, node))}{closing}")
    for u, v, attrs in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        arrow = "-.->" if attrs["kind"] == "hop" else "-->"
        out.append(f"  {ids[u]} {arrow}|{_mermaid(_edge_label(attrs))}| {ids[v]}")
    return "\n".join(out) + "\n"


def render(graph: nx.DiGraph, fmt: str, *, events: int, changes: Iterable = ()) -> str:
    if fmt == "json":
        from evtui.core.output import dumps

        return dumps(to_json(graph, events=events, changes=changes))
    if fmt == "dot":
        return render_dot(graph).rstrip("\n")
    if fmt == "mermaid":
        return render_mermaid(graph).rstrip("\n")
    return render_text(graph)
