"""The native hot path: per-record work done over whole batches by ``evtui._native`` (Rust).

One specification of every semantics lives in Python (:mod:`evtui.core.ids`
and its neighbours); the extension is a second implementation of some of it,
pinned to the first by differential tests (``tests/unit/test_native_*.py``).
It takes a whole batch in one call and does only what it is sure to do exactly
as Python would: an event it does not take (non-ASCII ids, a value that does
not decode, a topic with the user's identity rules, a decoder chain with a
plugin's decoders before the built-ins) keeps computing its ids lazily in
Python, so the results are the same either way, only faster.

A build without the extension (a source checkout that was never built, or
``EVTUI_NATIVE=0``, which the differential tests and benchmarks use to measure
the Python implementation) runs the Python implementation alone: slower, with
the same results.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evtui.core import decode as _decode
from evtui.core import ids as _ids

if TYPE_CHECKING:
    from evtui.core.event import Event

_native: Any
try:
    if os.environ.get("EVTUI_NATIVE", "1") == "0":
        raise ImportError("switched off by EVTUI_NATIVE=0")
    from evtui import _native  # type: ignore[attr-defined, no-redef]
except ImportError:
    _native = None

_BUILTIN_CHAIN = (
    _decode.SchemaRegistryDecoder,
    _decode.JsonDecoder,
    _decode.TextDecoder,
    _decode.BinaryDecoder,
)
_chain_seen: tuple[Any, bool] = (None, False)  # (the last chain, whether it is the built-ins')


def available() -> bool:
    """True when the compiled extension is loaded."""
    return _native is not None


def version() -> str | None:
    """The extension's version (None when it is not loaded)."""
    return None if _native is None else _native.__version__


def builtin_chain() -> bool:
    """The active decoder chain reads values as the built-ins alone do (what the extension
    copies); a plugin's decoder ahead of them, or in their place, may read them otherwise.

    A plugin decoder that reads only the Schema Registry wire format (it says so with
    ``wire_format_only = True``) ahead of the built-ins keeps the chain the built-ins':
    the extension then leaves just the wire-format values to Python (see
    ``set_wire_to_python`` in ``native/src/json.rs``).
    """
    global _chain_seen
    chain = _decode.active_chain()
    seen, builtin = _chain_seen
    if seen is not chain:
        builtin, wire = _reads_like_builtins(chain.decoders)
        if _native is not None:
            _native.set_wire_to_python(wire)
        _chain_seen = (chain, builtin)
    return builtin


def _reads_like_builtins(decoders: tuple[_decode.Decoder, ...]) -> tuple[bool, bool]:
    """(the chain reads as the built-ins do, a plugin decodes the wire format first)."""
    lead = 0
    while lead < len(decoders) and getattr(decoders[lead], "wire_format_only", False) is True:
        lead += 1
    kinds = tuple(type(d) for d in decoders[lead:])
    return kinds == _BUILTIN_CHAIN, lead > 0 and kinds == _BUILTIN_CHAIN


def fill_ids(events: list[Event]) -> int:
    """Extract the ids of ``events`` in one call where the extension can; returns how many.

    The others (and every event without the extension) are extracted by
    ``Event.ids`` when first asked, as before.
    """
    if _native is None or not events:
        return 0
    if type(events) is not list:
        events = list(events)
    rules = _ids.active_rules()
    if rules.rules:
        events = [e for e in events if not _ids.has_rules(e.topic)]
    ignored = [_ids.normalise(name) for name in rules.ignore]
    return _native.fill_ids(events, _ids.EventIds, _ids.EMPTY, builtin_chain(), ignored)


def untrack(events: list[Event]) -> int:
    """Take kept events (and their ids) off the cyclic garbage collector's lists.

    For a window that keeps events long (the console): CPython's full
    collections then never walk them (see ``untrack`` in ``native/src/lib.rs``).
    Reference counting still frees each event when it is let go. Without the
    extension nothing changes. Returns how many objects were untracked.
    """
    if _native is None or not events:
        return 0
    from evtui.core.event import Event

    return _native.untrack(events if type(events) is list else list(events), Event, _ids.EventIds)


def untrack_ring(ring: list[Any]) -> None:
    """Take a window's ring (a list holding only events and None) off the collector's lists.

    Nothing in it can be part of a cycle through it (an event refers to nothing that
    refers back), and a full collection would visit every slot. Without the extension
    nothing changes.
    """
    if _native is not None and type(ring) is list:
        _native.untrack_list(ring)


def untrack_acyclic(objects: list[Any], kind: type) -> int:
    """Take the objects of exactly ``kind`` in ``objects`` off the collector's lists.

    For records a long-running view keeps by the thousand (the violation board's
    findings and groups): the caller's promise is that an object of ``kind`` refers
    to nothing that refers back to it (plain data), so reference counting alone
    frees it. Subclasses are left alone. Without the extension nothing changes.
    Returns how many were untracked.
    """
    if _native is None or not objects:
        return 0
    return int(_native.untrack_exact(objects, kind))


def untrack_ints() -> Callable[[list[int]], object]:
    """A function that takes a list holding only ints off the collector's lists.

    For indexes that keep many small lists of numbers (the trace index's postings:
    tens of thousands of them in the console, each walked by every full collection).
    A list of ints cannot be part of a cycle, and CPython never tracks a list again
    once it is untracked, whatever is appended. Without the extension: a no-op.
    """
    if _native is None:
        return _ignore
    return _native.untrack_list  # type: ignore[no-any-return]


def line_untracker(kind: type) -> Callable[[list[Any]], object]:
    """A function that takes a list and its items of exactly ``kind`` off the collector's lists.

    For rendered lines (lists of segments: text, a shared style, control codes) that a
    view makes by the thousand: nothing in a segment refers back to it or to its list, so
    reference counting alone frees them. Cheap enough to call for every line made (two
    calls into the extension). Without the extension: a no-op.
    """
    if _native is None:
        return _ignore
    exact, whole = _native.untrack_exact, _native.untrack_list

    def untrack_line(line: list[Any]) -> None:
        exact(line, kind)
        whole(line)

    return untrack_line


def _ignore(_: object) -> None:
    return None


def id_rules(events: list[Event]) -> tuple[list[str], list[str]]:
    """What the extension needs to extract ids as ``fill_ids`` does: the header names the
    user's rules ignore, and the topics of ``events`` that have rules (left to Python)."""
    rules = _ids.active_rules()
    ignored = [_ids.normalise(name) for name in rules.ignore]
    if not rules.rules:
        return ignored, []
    return ignored, [t for t in {e.topic for e in events} if _ids.has_rules(t)]


def extract(
    headers: object, value: object, body: bool = True, ignored: tuple[str, ...] = ()
) -> _ids.EventIds | None:
    """The extension's ids of one record by the built-in conventions (None: it leaves the
    record to Python). For the differential tests."""
    if _native is None:
        raise RuntimeError("evtui._native is not built")
    return _native.extract(headers, value, _ids.EventIds, _ids.EMPTY, body, list(ignored))


def json_lines(events: list[Event]) -> list[str | None]:
    """``core.output.json_line`` of each event (not raw), written by the extension where it
    writes it byte for byte alike; None where Python must (and for every event without it)."""
    if _native is None:
        return [None] * len(events)
    if type(events) is not list:
        events = list(events)
    return _native.json_lines(events, builtin_chain())


def json_text(events: list[Event]) -> str | None:
    """``"\\n".join(json_lines(events))`` when the extension writes every line (the text
    written without the GIL, so a reader thread reads on meanwhile); None otherwise."""
    if _native is None or not events:
        return None
    if type(events) is not list:
        events = list(events)
    return _native.json_text(events, builtin_chain())


def collector_scan(*args: Any) -> tuple[int, list[int], int]:
    """``TraceCollector.offer`` over a batch until one joins (``native/src/collect.rs``)."""
    return _native.collector_scan(*args)


def checks(**options: Any) -> Any:
    """Every ordering detector's state in the extension (``native/src/checker.rs``); None
    without it, or when a field name is one only Python reads (not ASCII, or a JSON path)."""
    if _native is None:
        return None
    names = [n for group in options["groups"] for n in group] + list(options["producers"])
    if any(not n.isascii() or "." in n for n in names):
        return None
    lateness_ms = options["lateness_ms"]
    return _native.Checks(
        options["max_events"], options["max_keys"], options["max_waiting"], lateness_ms,
        f"{lateness_ms / 1000:g}", options["tolerance_ms"], options["mid_stream"],
        options["strict"], [list(g) for g in options["groups"]], list(options["producers"]),
        options["learn"], options["keyless"], options["max_held"], list(options["compacted"]),
        options["event_time_ms"], options["digest"], options["sequence_fields"],
    )  # fmt: skip


def flow(window_ms: int, max_edges: int, max_known: int, max_waiting: int) -> Any:
    """The flow model's per-event half in the extension (``native/src/flow.rs``); None
    without it."""
    if _native is None:
        return None
    return _native.Flow(window_ms, max_edges, max_known, max_waiting)
