"""One transaction as a causal tree (lazily expanded) and a waterfall of hop latencies."""

from __future__ import annotations

from collections import defaultdict

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from evtui.core.event import Event
from evtui.core.text import one_line, plural
from evtui.core.traces import INFERRED, Trace, TraceIndex, waterfall
from evtui.tui.rows import clock, cut, topic_colour
from evtui.tui.widgets.footer import Footer

SHOW_CHILDREN = 20  # siblings of one type shown before the rest collapse into one node
WATERFALL_ROWS = 400
NAME_WIDTH = 22  # the waterfall's event names
MIN_BAR = 12
CLOCK_FROM_WIDTH = 90  # narrower: no clock column (the tree and the detail have the times)
MIN_WATERFALL = 48  # the tree takes what its labels need, up to this much less than the screen


def span_ms(trace: Trace) -> int:
    if not trace.events:
        return 0
    return trace.events[-1].timestamp - trace.events[0].timestamp


def summary(trace: Trace) -> Text:
    services = {e.ids.service or e.ids.source for e in trace.events} - {None}
    topics = {e.topic for e in trace.events}
    inferred = sum(1 for *_, d in trace.graph.edges(data=True) if d.get("kind") == INFERRED)
    text = Text()
    text.append(f"Trace {one_line(trace.correlation_id)}", style="bold #5fafff")
    text.append(
        f"  {plural(len(trace.events), 'event')}, {plural(len(topics), 'topic')}, "
        f"{plural(len(services), 'service')}, {span_ms(trace):,} ms end to end, "
        f"critical path {plural(len(trace.critical_path), 'hop')}"
    )
    if trace.orphans:
        text.append(f"  {len(trace.orphans)} orphan cause(s)", style="bold red")
    if inferred:
        text.append(f"  {inferred} inferred edge(s) ~>", style="yellow")
    if trace.cycles:
        text.append(f"  {len(trace.cycles)} cycle(s) in the data", style="bold red")
    for note in trace.notes[:3]:
        text.append(f"\n  note: {one_line(note)}", style="#8a8a8a")
    return text


class TraceTree(Tree[str]):
    """Nodes are refs; children are added when a node is first expanded."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("l", "expand_node", "Expand", show=False),
        Binding("h", "collapse_node", "Collapse", show=False),
    ]

    def __init__(self, trace: Trace) -> None:
        super().__init__(Text(one_line(trace.correlation_id)), data="")
        self.trace = trace
        self.critical = set(trace.critical_path)
        self.orphan_ids = set(trace.orphans)
        self._expanded_once: set[int] = set()
        self._hidden: dict[int, list[str]] = {}
        self.show_root = False
        types = (one_line(trace.graph.nodes[r].get("event_type") or "?") for r in trace.graph.nodes)
        self.type_width = min(30, max((len(t) for t in types), default=1))

    def needed_width(self, sample: int = 200) -> int:
        """Cells the labels of the first ``sample`` rows need, with the tree's guides."""
        widest = 0
        for ref, depth, _, _ in waterfall(self.trace)[:sample]:
            parents = self.trace.parents(ref) if depth else []
            parent = parents[0] if parents else None
            widest = max(widest, len(self.label_for(ref, parent).plain) + 4 * depth)
        return widest + 6  # the expander and the scrollbar

    def on_mount(self) -> None:
        self._add_children(self.root, self.trace.roots)
        self.root.expand()
        self._open_critical_path(self.root)
        if self.root.children:
            self.move_cursor(self.root.children[0])

    def _open_critical_path(self, node: TreeNode[str], limit: int = 200) -> None:
        """Expand down the critical path (bounded), so the slow chain shows at once."""
        for _ in range(limit):
            child = next((c for c in node.children if c.data in self.critical), None)
            if child is None:
                return
            self._expand(child)
            node = child

    def action_expand_node(self) -> None:
        if self.cursor_node is not None:
            self._expand(self.cursor_node)

    def action_collapse_node(self) -> None:
        if self.cursor_node is not None:
            self.cursor_node.collapse()

    def _expand(self, node: TreeNode[str]) -> None:
        self._populate(node)
        node.expand()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        self._populate(event.node)

    def _populate(self, node: TreeNode[str]) -> None:
        if node.id in self._expanded_once:
            return
        self._expanded_once.add(node.id)
        hidden = self._hidden.pop(node.id, None)
        if hidden is not None:  # a "… N more" node: show them all
            self._add_children(node, hidden, collapse=False)
            return
        if node.data:
            self._add_children(node, self.trace.children.get(node.data, []))

    def _add_children(self, node: TreeNode[str], refs: list[str], collapse: bool = True) -> None:
        by_type: dict[str, list[str]] = defaultdict(list)
        for ref in refs:
            by_type[self.trace.graph.nodes[ref].get("event_type") or "?"].append(ref)
        for ref in refs:
            same = by_type[self.trace.graph.nodes[ref].get("event_type") or "?"]
            if collapse and len(same) > SHOW_CHILDREN and same.index(ref) >= SHOW_CHILDREN:
                continue
            self._add_event(node, ref)
        for kind, same in by_type.items():
            if collapse and len(same) > SHOW_CHILDREN:
                rest = same[SHOW_CHILDREN:]
                more = node.add(Text(f"… {len(rest):,} more {kind}", style="#8a8a8a"), data="")
                self._hidden[more.id] = rest

    def _add_event(self, node: TreeNode[str], ref: str) -> None:
        label = self.label_for(ref, node.data or None)
        has_children = bool(self.trace.children.get(ref))
        node.add(label, data=ref, allow_expand=has_children)

    def label_for(self, ref: str, parent: str | None) -> Text:
        attrs = self.trace.graph.nodes[ref]
        event: Event = attrs["event"]
        start = self.trace.events[0].timestamp if self.trace.events else event.timestamp
        text = Text()
        if parent:
            edge = self.trace.graph.edges[parent, ref]
            inferred = edge.get("kind") == INFERRED
            text.append("~> " if inferred else "", style="yellow")
            text.append(f"Δ{edge.get('latency_ms', 0):+,}ms ".rjust(11), style="#d7af5f")
        else:
            text.append(f"+{event.timestamp - start:,}ms ".rjust(11), style="#8a8a8a")
        mark = "* " if ref in self.critical else "  "
        text.append(mark, style="bold yellow")
        text.append(
            f"{one_line(attrs.get('event_type') or '?')[:30]:<{self.type_width}} ", style="bold"
        )
        text.append(f"{event.ref} ", style=topic_colour(event.topic))
        text.append(one_line(attrs.get("service") or event.ids.source or ""), style="#8a8a8a")
        missing = [c for c in event.ids.causation_ids if c in self.orphan_ids]
        if missing:
            text.append(f"  (orphan: cause {one_line(missing[0])} never seen)", style="bold red")
        if ref in self.critical:
            text.stylize("bold", 0)
        return text


def _short(trace: Trace, ref: str) -> str:
    return one_line(trace.graph.nodes[ref].get("event_type") or "?").rsplit(".", 1)[-1]


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 or value == int(value) else f"{value:.1f} ms"


def waterfall_text(trace: Trace, width: int = 80) -> Text:
    """Each hop as a bar from its cause's time to its own, on a time axis over the trace's
    span (scale given), so the slow hop is the long bar; the critical path in yellow and
    the slowest hop's latency in red. No line is wider than ``width`` (none wraps)."""
    rows = waterfall(trace)[:WATERFALL_ROWS]
    total = max(span_ms(trace), 1)
    critical = set(trace.critical_path)
    names = [f"{' ' * min(depth, 6)}{_short(trace, ref)}" for ref, depth, _, _ in rows]
    name_w = min(NAME_WIDTH, max((len(n) for n in names), default=4))
    with_clock = width >= CLOCK_FROM_WIDTH
    lat_w = max(len("root"), *(len(f"+{lat:,}ms") for *_, lat in rows)) if rows else 4
    bar_w = max(MIN_BAR, width - name_w - lat_w - 2 - (13 if with_clock else 0))
    slowest = max(rows[1:], key=lambda r: r[3], default=None)
    text = Text(no_wrap=True, overflow="crop")
    text.append_text(_axis(name_w + (13 if with_clock else 0), bar_w, total))

    def col(ms: int) -> int:
        return min(bar_w - 1, max(0, round(ms / total * (bar_w - 1))))

    for (ref, depth, start_ms, latency_ms), name in zip(rows, names, strict=True):
        event = trace.graph.nodes[ref]["event"]
        style = "bold yellow" if ref in critical else topic_colour(event.topic)
        if with_clock:
            text.append(f"{clock(event.timestamp)} ", style="#8a8a8a")
        text.append(cut(name, name_w) + " ")
        begin, end = col(start_ms - latency_ms), col(start_ms)
        hop = "◆" if depth == 0 else "█" * max(1, end - begin)  # the root: a point in time
        bar = " " * (end if depth == 0 else begin) + hop
        text.append(bar.ljust(bar_w)[:bar_w] + " ", style=style)
        label = f"+{latency_ms:,}ms" if depth else "root"
        hot = slowest is not None and ref == slowest[0] and latency_ms > 0
        text.append(
            label.rjust(lat_w) + "\n", style="bold #ffffff on #af0000" if hot else "#d7af5f"
        )
    if len(waterfall(trace)) > WATERFALL_ROWS:
        text.append(
            f"… {len(waterfall(trace)) - WATERFALL_ROWS:,} more rows (the tree has them all)\n"
        )
    return text


def _axis(indent: int, bar_w: int, total: int) -> Text:
    """Two lines over the bars: times at the start, middle and end; the ruler and scale."""
    middle = _ms(total / 2)
    labels = list("0".ljust(bar_w))
    mid_at = max(2, (bar_w - 1) // 2 - len(middle) // 2)
    end_label = _ms(total)
    for i, ch in enumerate(middle):
        if mid_at + i < bar_w - len(end_label) - 1:
            labels[mid_at + i] = ch
    labels[bar_w - len(end_label) :] = list(end_label)
    ruler = ["─"] * bar_w
    ruler[0], ruler[-1], ruler[(bar_w - 1) // 2] = "├", "┤", "┼"
    scale = f"1 cell ≈ {_ms(total / max(bar_w - 1, 1))}"
    text = Text(no_wrap=True, overflow="crop")
    text.append(cut("since start", indent).rstrip().ljust(indent) + " ", style="#8a8a8a")
    text.append("".join(labels) + "\n", style="#8a8a8a")
    text.append(cut(scale, indent).rstrip().ljust(indent) + " ", style="#8a8a8a")
    text.append("".join(ruler) + "\n", style="#8a8a8a")
    return text


class Waterfall(Static):
    """The waterfall, drawn again for the width it gets."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(markup=False)
        self.trace = trace

    def on_resize(self) -> None:
        self.update(waterfall_text(self.trace, self.content_size.width or 80))


class TraceScreen(Screen):
    """Escape goes back; Enter on an event opens its detail."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("enter", "detail", "Event detail", priority=True),
        Binding("w", "toggle_waterfall", "Waterfall"),
    ]
    DEFAULT_CSS = """
    TraceScreen #trace-summary { height: auto; max-height: 6; padding: 0 1; background: $panel; }
    TraceScreen #trace-body { height: 1fr; }
    TraceScreen TraceTree { width: 1fr; }
    TraceScreen #trace-waterfall { width: 1fr; border-left: vkey $panel; }
    TraceScreen Waterfall { text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(
        self,
        trace: Trace,
        index: TraceIndex | None = None,
        not_indexed: int = 0,
        cluster_hints: bool = True,
        unreadable: int = 0,
    ) -> None:
        super().__init__()
        self.unreadable = unreadable  # records the index failed on (counted, skipped)
        self.trace = trace
        self.index = index
        self.not_indexed = not_indexed
        self.cluster_hints = cluster_hints  # False: no cluster to suggest a command for

    def compose(self) -> ComposeResult:
        text = summary(self.trace)
        if self.index is not None and self.index.stats.evicted:
            elsewhere = "; evtui trace searches the cluster" if self.cluster_hints else ""
            text.append(
                f"\n  the trace index evicted {self.index.stats.evicted:,} older events "
                f"(their part of a trace is missing here{elsewhere})",
                style="yellow",
            )
        if self.not_indexed:
            text.append(
                f"\n  {self.not_indexed:,} events arrived faster than they could be indexed "
                "and were skipped (sampled)",
                style="yellow",
            )
        if self.unreadable:
            text.append(
                f"\n  {self.unreadable:,} records could not be indexed (their ids could not be "
                "read) and are missing here",
                style="yellow",
            )
        yield Static(text, id="trace-summary", markup=False)
        with Horizontal(id="trace-body"):
            yield TraceTree(self.trace)
            with VerticalScroll(id="trace-waterfall"):
                yield Waterfall(self.trace)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TraceTree).focus()
        self._size_tree()

    def on_resize(self) -> None:
        self._size_tree()

    def _size_tree(self) -> None:
        """Wide: the tree as wide as its labels need (the waterfall gives way, down to
        ``MIN_WATERFALL``); narrow (the app's -narrow class): the two stacked, full width."""
        tree = self.query_one(TraceTree)
        if self.app.has_class("-narrow"):
            tree.styles.width = "1fr"
            return
        room = max(20, self.size.width - MIN_WATERFALL)
        tree.styles.width = min(tree.needed_width(), room)

    def action_detail(self) -> None:
        node = self.query_one(TraceTree).cursor_node
        if node is not None and node.data:
            from evtui.tui.screens.detail import DetailScreen

            self.app.push_screen(DetailScreen(self.trace.graph.nodes[node.data]["event"]))

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()

    def action_toggle_waterfall(self) -> None:
        pane = self.query_one("#trace-waterfall")
        pane.display = not pane.display
