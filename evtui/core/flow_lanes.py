"""The flow graph laid out in lanes, one per topic: its producers | the topic | its groups |
the topics its events cause events on.

Why lanes and not one layered drawing of the whole graph: real topologies have
cycles (a service answering on the topic it reads, retry loops) and fan-in, and a
character grid has no room to route crossing edges legibly. A lane reads left to
right like the layered picture (producers -> topic -> consumers -> downstream),
never crosses an edge, and keeps its place: lanes are ordered by topic name and
only change when the structure does, so rates and lag update in place. Hops
(inferred from causal links) point to the downstream topic's own lane.

netext (0.5: Sugiyama layers, orthogonal edge routing, a Textual widget) was tried
on the demo shop's 15 nodes and 19 edges: edges ran over each other with junctions
that cannot be told apart (which arrow goes where), the drawing took 50 lines, at
80 columns it was cut off rather than fitted, and it brings a second compiled
extension. Lanes show the same edges in 9 lines, fit any width by dropping the
least important columns, and each cell is a node or an edge the cursor can stand on.

Pure: the widget maps each cell's ``style`` to colours and acts on its ``target``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from evtui.core.flow_render import shown

TOP = 60  # lanes shown by traffic; the rest summarised in one row
PER_LANE = 12  # producers, groups or hops shown in one lane (by name); the rest summarised
STATUS_STYLES = {"ok": "ok", "idle": "ok", "lagging": "warn", "stalled": "bad", "stopped": "bad"}


@dataclass(frozen=True)
class Cell:
    """One cell: its text, what it is (a node id, or ``edge:u\\x1fv``; None: decoration)
    and a style name (service, unknown, topic, group, ok, warn, bad, idle, hop, dim)."""

    text: str = ""
    target: str | None = None
    style: str = ""


COLUMNS = ("producer", "to_topic", "topic", "rate", "to_group", "group", "lag", "hop")
Row = tuple[Cell, ...]
_BLANK = Cell()


def edge_target(u: str, v: str) -> str:
    return f"edge:{u}\x1f{v}"


def parse_edge(target: str) -> tuple[str, str] | None:
    if not target.startswith("edge:"):
        return None
    u, v = target[5:].split("\x1f", 1)
    return u, v


def _rate(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.1f}/s" if value < 1000 else f"{value:,.0f}/s"


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value:,} ms"


def lane_order(graph: nx.DiGraph, top: int = TOP, match: str = "") -> tuple[list[str], int]:
    """The topics that get a lane (the ``top`` busiest, in name order) and how many more
    there are. ``match``: only lanes with a node whose name contains it (case ignored)."""
    needle = match.lower()
    topics = []
    for node, attrs in graph.nodes(data=True):
        if attrs["kind"] != "topic":
            continue
        if needle and not _lane_matches(graph, node, needle):
            continue
        topics.append(node)
    busiest = sorted(topics, key=lambda n: (-(graph.nodes[n].get("count") or 0), n))[:top]
    return sorted(busiest, key=lambda n: graph.nodes[n]["name"]), len(topics) - len(busiest)


def _lane_matches(graph: nx.DiGraph, topic: str, needle: str) -> bool:
    near = [topic, *graph.predecessors(topic), *graph.successors(topic)]
    return any(needle in graph.nodes[n]["name"].lower() for n in near)


@dataclass(frozen=True)
class Marks:
    """What a comparison with a declared flow found, as the lanes mark it."""

    undeclared: frozenset[tuple[str, str]] = frozenset()  # observed edges (node ids)
    missing_producers: dict[str, list[str]] = field(default_factory=dict)  # topic -> services
    missing_consumers: dict[str, list[str]] = field(default_factory=dict)
    unconsumed: frozenset[str] = frozenset()  # topic names

    @classmethod
    def of(cls, findings: list) -> Marks:
        """From :func:`evtui.core.flow_declared.drift`'s findings."""
        undeclared, producers, consumers, unconsumed = set(), {}, {}, set()
        for f in findings:
            if f.kind == "not_consumed":
                unconsumed.add(f.target)
            elif f.kind == "observed_not_declared" and f.edge == "produces":
                undeclared.add((f"service:{f.source}", f"topic:{f.target}"))
            elif f.kind == "observed_not_declared":
                undeclared.add((f"topic:{f.target}", f"group:{f.source}"))
            elif f.edge == "produces":
                producers.setdefault(f.target, []).append(f.source)
            else:
                consumers.setdefault(f.target, []).append(f.source)
        return cls(frozenset(undeclared), producers, consumers, frozenset(unconsumed))


NO_MARKS = Marks()
MISSING = "✗ {} (declared, not seen)"


def lane_rows(graph: nx.DiGraph, topic: str, marks: Marks = NO_MARKS) -> list[tuple[str, Row]]:
    """The rows of one topic's lane, each with a stable key."""
    attrs = graph.nodes[topic]
    name = attrs["name"]
    producers = sorted(
        (u for u in graph.predecessors(topic) if graph.edges[u, topic]["kind"] == "produces"),
        key=lambda u: (graph.nodes[u]["kind"] != "service", graph.nodes[u]["name"]),
    )  # services by name, then the unknown producer
    left = [_producer(graph, u, topic, marks) for u in producers[:PER_LANE]]
    if len(producers) > PER_LANE:
        more = f"… {len(producers) - PER_LANE:,} more producers"
        left.append((Cell(more, topic, "dim"), _BLANK))
    left += [(Cell(MISSING.format(shown(s)), None, "bad"), Cell("  ┆", None, "bad"))
             for s in marks.missing_producers.get(name, [])]  # fmt: skip
    groups = _targets(graph, topic, "consumes")
    right = [_group(graph, v, topic, marks) for v in groups[:PER_LANE]]
    if len(groups) > PER_LANE:
        right.append((_BLANK, Cell(f"… {len(groups) - PER_LANE:,} more groups", topic, "dim"),
                      _BLANK))  # fmt: skip
    right += [(Cell(" ┆ ", None, "bad"), Cell(MISSING.format(shown(s)), None, "bad"), _BLANK)
              for s in marks.missing_consumers.get(name, [])]  # fmt: skip
    if name in marks.unconsumed:
        right.append((_BLANK, Cell("(no consumer group)", topic, "warn"), _BLANK))
    hops = _targets(graph, topic, "hop")
    extra_hops = len(hops) - PER_LANE
    hops = hops[:PER_LANE]
    count = max(1, len(left), len(right), len(hops) + (extra_hops > 0))
    rows = []
    for i in range(count):
        producer = left[i] if i < len(left) else (_BLANK, _BLANK)
        if i > 0 and producer[1].text == "──►":
            producer = (producer[0], Cell("──┘", producer[1].target, "dim"))
        group = right[i] if i < len(right) else (_BLANK, _BLANK, _BLANK)
        if i > 0 and group[0].text == "──►":
            group = (Cell("└─►", group[0].target, "dim"), *group[1:])
        cells = (
            *producer,
            _topic_cell(attrs, topic) if i == 0 else _continued(i, count),
            Cell(_rate(_topic_rate(attrs)), topic, "dim") if i == 0 else _BLANK,
            *group,
            _hop(graph, hops, i, topic)
            if i < len(hops) or extra_hops <= 0
            else Cell(f"… {extra_hops:,} more topics", topic, "dim"),
        )
        rows.append((f"{topic}\x1f{i}", cells))
    return rows


def _continued(i: int, count: int) -> Cell:
    return Cell("│" if i < count - 1 else "", None, "dim")


def _targets(graph: nx.DiGraph, topic: str, kind: str) -> list[str]:
    found = [v for v in graph.successors(topic) if graph.edges[topic, v]["kind"] == kind]
    return sorted(found, key=lambda v: graph.nodes[v]["name"])


def _topic_rate(attrs: dict) -> float | None:
    """What the topic receives (its end offsets) where known, else what was read of it."""
    produced = attrs.get("produced_rate")
    return produced if produced is not None else attrs.get("rate")


def _topic_cell(attrs: dict, topic: str) -> Cell:
    style = "bad" if attrs.get("problems") else ("idle" if attrs.get("idle") else "topic")
    return Cell(shown(attrs["name"]), topic, style)


def _producer(graph: nx.DiGraph, node: str, topic: str, marks: Marks) -> tuple[Cell, Cell]:
    attrs = graph.nodes[node]
    edge = graph.edges[node, topic]
    unknown = attrs["kind"] == "unknown producer"
    label = "? unknown producer" if unknown else shown(attrs["label"])
    style = "idle" if edge["idle"] else ("unknown" if unknown else "service")
    if (node, topic) in marks.undeclared:
        label, style = f"{label} ✗ undeclared", "bad"
    return Cell(label, node, style), Cell("──►", edge_target(node, topic), "dim")


def _group(graph: nx.DiGraph, node: str, topic: str, marks: Marks) -> tuple[Cell, Cell, Cell]:
    edge = graph.edges[topic, node]
    status = edge.get("status") or "unknown"
    lag = edge.get("lag")
    text = f"lag {lag:,} {status}" if lag is not None else status
    style = STATUS_STYLES.get(status, "dim")
    label, group_style = shown(graph.nodes[node]["name"]), "group"
    if (topic, node) in marks.undeclared:
        label, group_style = f"{label} ✗ undeclared", "bad"
    return (
        Cell("──►", edge_target(topic, node), "dim"),
        Cell(label, node, group_style),
        Cell(text, edge_target(topic, node), style),
    )


def _hop(graph: nx.DiGraph, hops: list[str], i: int, topic: str) -> Cell:
    if i >= len(hops):
        return _BLANK
    node = hops[i]
    edge = graph.edges[topic, node]
    text = f"┄► {shown(graph.nodes[node]['name'])}  {edge['count']:,}  p50 {_ms(edge['p50_ms'])}"
    return Cell(text, edge_target(topic, node), "idle" if edge["idle"] else "hop")


def layout(
    graph: nx.DiGraph, top: int = TOP, match: str = "", marks: Marks = NO_MARKS
) -> list[tuple[str, Row]]:
    """Every lane's rows, then one row summarising the lanes left out."""
    topics, more = lane_order(graph, top, match)
    rows = [row for topic in topics for row in lane_rows(graph, topic, marks)]
    if more:
        note = Cell(f"… {more:,} more topics (the busiest {top} shown; / to find one)", None, "dim")
        rows.append(("\x1fmore", (note, *([_BLANK] * (len(COLUMNS) - 1)))))
    return rows


_DESCRIBED = {"rate": "read", "produced_rate": "produced (end offsets)"}


def describe(graph: nx.DiGraph, target: str) -> list[str]:
    """What a cell stands for, in lines: a node's figures, or an edge's evidence and samples."""
    edge = parse_edge(target)
    if edge is None:
        attrs = graph.nodes[target] if target in graph else {}
        lines = [f"{attrs.get('kind', '?')} {shown(attrs.get('name', target))}"]
        for key in ("count", "rate", "produced_rate", "lag", "status", "members", "state",
                    "problems"):  # fmt: skip
            value = attrs.get(key)
            if value not in (None, {}, []):
                lines.append(f"  {_DESCRIBED.get(key, key)}: " + (
                    _rate(value) if key.endswith("rate") else str(value)))  # fmt: skip
        return lines
    u, v = edge
    if not graph.has_edge(u, v):
        return [f"{target}: gone"]
    data = graph.edges[u, v]
    names = (shown(graph.nodes[u]["name"]), shown(graph.nodes[v]["name"]))
    lines = [f"{data['kind']}: {names[0]} -> {names[1]}"]
    if data.get("count") is not None:
        lines.append(f"  {data['count']:,} events, {_rate(data['rate'])}")
    if data["kind"] == "hop":
        lines.append(f"  p50 {_ms(data['p50_ms'])}, p95 {_ms(data['p95_ms'])}")
        via = ", ".join(f"{shown(graph.nodes[s]['label']) if s in graph else s} ({n:,})"
                        for s, n in sorted(data["via"].items()))  # fmt: skip
        lines.append(f"  through: {via}")
    if data["kind"] == "consumes":
        lines.append(f"  lag {data.get('lag')}, {data.get('status')}, "
                     f"{data.get('partitions')} partitions")  # fmt: skip
    evidence = "; ".join(f"{what} ({n:,})" for what, n in sorted(data["evidence"].items()))
    lines.append(f"  evidence: {evidence}")
    if data.get("samples"):
        lines.append("  samples: " + ", ".join(shown(s) for s in data["samples"]))
    return lines
