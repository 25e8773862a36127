"""Causal traces: which events make up one transaction, and what caused what.

The public face of the trace engine; each step lives in its own module:

* :mod:`evtui.core.trace_links`: the time order of events and the link tables
  (event id, cause id, span, parent span) that membership follows;
* :mod:`evtui.core.trace_collect`: :class:`TraceCollector`, a transaction's
  events gathered from a scan (``evtui trace``; the membership rules);
* :mod:`evtui.core.trace_index`: :class:`TraceIndex`, the live console's bounded
  index of kept events, with the same membership;
* :mod:`evtui.core.trace_graph`: :func:`build_trace`, the causal graph of those
  events (:class:`Trace`: explicit and inferred edges, orphans, cycles, the
  critical path; the rules);
* :mod:`evtui.core.trace_render`: the tree text, the waterfall, DOT and Mermaid.

Import from here; the modules above import each other bottom-up only.
"""

from __future__ import annotations

from evtui.core.trace_collect import SETTLE_PASSES, TraceCollector, collector_notes
from evtui.core.trace_graph import EXPLICIT, INFERRED, NOTES_PER_KIND, Trace, build_trace, key_text
from evtui.core.trace_index import IndexStats, Search, TraceIndex
from evtui.core.trace_links import in_time_order, time_key
from evtui.core.trace_render import MAX_INDENT, render_dot, render_mermaid, render_tree, waterfall

__all__ = [
    "EXPLICIT",
    "INFERRED",
    "MAX_INDENT",
    "NOTES_PER_KIND",
    "SETTLE_PASSES",
    "IndexStats",
    "Search",
    "Trace",
    "TraceCollector",
    "TraceIndex",
    "build_trace",
    "collector_notes",
    "in_time_order",
    "key_text",
    "render_dot",
    "render_mermaid",
    "render_tree",
    "time_key",
    "waterfall",
]
