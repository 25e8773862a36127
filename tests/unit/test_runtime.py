"""GC pacing for the UI (see evtui.runtime)."""

import gc
import json
import platform
import subprocess
import sys
import time
import weakref

import pytest

from evtui.core import native
from evtui.core.event import Event
from evtui.core.native import fill_ids, untrack
from evtui.core.positions import BEGINNING
from evtui.core.store import EventStore
from evtui.core.traces import TraceIndex
from evtui.runtime import PacedCollector
from evtui.tui.feed import Feed


def test_paced_collector_takes_over_full_collections_and_gives_them_back():
    before = gc.get_threshold()
    collector = PacedCollector(idle_s=0.0, full_every_s=0.0)
    collector.start()
    try:
        assert gc.get_threshold()[2] > 1_000_000
        collector.tick()
        assert collector.full_collections == 1  # idle and due
    finally:
        collector.stop()
    assert gc.get_threshold() == before


def test_once_the_console_is_up_what_is_alive_is_frozen_and_thawed_at_the_end():
    collector = PacedCollector(full_every_s=3600.0, settle_s=0.0)
    collector.start()
    try:
        long_lived = [object()]
        collector.tick()
        assert collector.frozen > 0 and gc.get_freeze_count() == collector.frozen
        assert long_lived not in gc.get_objects()  # not walked by full collections
        collector.tick()
        assert gc.get_freeze_count() == collector.frozen  # once only
    finally:
        collector.stop()
    assert gc.get_freeze_count() == 0


def test_no_full_collection_while_the_user_types_unless_overdue():
    collector = PacedCollector(idle_s=60.0, full_every_s=0.0, full_max_s=3600.0)
    collector.input_seen()
    collector.tick()
    assert collector.full_collections == 0
    collector.full_max_s = 0.0
    time.sleep(0.01)
    collector.tick()
    assert collector.full_collections == 1


LARGE_BLOCKS = """
import sys
from evtui.runtime import tune_malloc
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20
tuned = sys.argv[1] == "tuned" and tune_malloc()
mapped = bytearray(20 * 2**20)  # served by its own mapping; freeing it raised the threshold
del mapped
before = rss()
blocks = [bytearray(b"x" * 4 * 2**20) for _ in range(4)]
after_them = bytearray(b"y" * 1000)
del blocks
print(tuned, rss() - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator")
def test_large_blocks_freed_are_given_back_once_malloc_is_tuned():
    def kept(mode: str) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", LARGE_BLOCKS, mode], capture_output=True,
                             text=True, check=True).stdout.split()  # fmt: skip
        return out[0], int(out[1])

    tuned, kept_tuned = kept("tuned")
    assert tuned == "True" and kept_tuned < 4  # MiB
    assert kept("default")[1] >= 12  # glibc's own choice keeps them: what this is for


# -- the window off the collector's lists (evtui.core.native.untrack) ----------------------

needs_native = pytest.mark.skipif(not native.available(), reason="the extension is not loaded")


class _Watched:
    """A decoded value one can watch being freed (events themselves take no weak refs)."""


def _kept_events(n: int) -> list[Event]:
    bodies = [json.dumps({"eventId": f"e{o}", "correlationId": "c"}).encode() for o in range(n)]
    events = [Event("t", 0, o, 0, 1, b"k", body, ()) for o, body in enumerate(bodies)]
    fill_ids(events)
    return events


@needs_native
def test_kept_events_and_their_ids_leave_the_collectors_lists_and_are_still_freed():
    events = _kept_events(3)
    assert all(gc.is_tracked(e) and gc.is_tracked(e.ids) for e in events)
    assert untrack(events) == 6
    assert not any(gc.is_tracked(e) or gc.is_tracked(e.ids) for e in events)
    assert untrack(events) == 0  # once is enough
    watched = _Watched()
    ref = weakref.ref(watched)
    object.__setattr__(events[0], "_decoded", watched)
    del watched
    events.clear()  # reference counting frees what the collector no longer walks
    assert ref() is None


@needs_native
def test_only_the_exact_event_type_is_untracked():
    class Mine(Event):
        __slots__ = ()

    mine = Mine("t", 0, 0, 0, 1, None, b"{}", ())
    assert untrack([mine, "text", 3]) == 0
    assert gc.is_tracked(mine)


@needs_native
def test_the_windows_rings_are_not_walked_by_full_collections():
    store = EventStore(10)
    index = TraceIndex(max_events=10)
    assert not gc.is_tracked(store._ring) and not gc.is_tracked(index._ring)


@needs_native
def test_the_trace_indexs_postings_lists_are_not_walked_and_still_work():
    index = TraceIndex(max_events=4)
    events = _kept_events(6)  # one correlation id: its postings become a list
    for seq, event in enumerate(events):
        index.add(event, seq)
    postings = index._corr.map["c"]
    assert type(postings) is list and not gc.is_tracked(postings)
    assert [e.offset for e in index.lookup("c")] == [2, 3, 4, 5]  # the oldest two evicted
    index.expire(4)
    assert [e.offset for e in index.lookup("c")] == [4, 5]
    index.add(_kept_events(7)[6], 6)  # appended to the untracked list: still found
    assert [e.offset for e in index.lookup("c")] == [4, 5, 6]
    assert not gc.is_tracked(index._corr.map["c"])


def _linked_events(n: int) -> list[Event]:
    """Events found by every map of the index: correlation, trace, event, cause, spans."""
    events = []
    for o in range(n):
        body = {"eventId": f"e{o}", "correlationId": f"c{o % 3}", "causationId": f"e{o - 1}"}
        span, parent = f"{o + 1:016x}", f"{o:016x}"
        trace = f"{o % 2 + 1:032x}".encode()
        headers = (
            ("X-B3-TraceId", trace), ("X-B3-SpanId", span.encode()),
            ("X-B3-ParentSpanId", parent.encode()),
        )  # fmt: skip
        events.append(Event("t", 0, o, 0, 1, None, json.dumps(body).encode(), headers))
    fill_ids(events)
    return events


def _index_maps(index: TraceIndex) -> list[dict]:
    return [index._corr.map, index._trace.map, *(t.map for t in index._links.tables)]


@needs_native
def test_settling_the_trace_index_takes_its_maps_off_the_collectors_lists():
    events = _linked_events(20)
    index, unsettled = TraceIndex(max_events=16), TraceIndex(max_events=16)
    for seq, event in enumerate(events[:12]):
        index.add(event, seq)
        unsettled.add(event, seq)
    maps = _index_maps(index)
    assert all(maps) and any(gc.is_tracked(m) for m in maps)  # lists and new tuples went in
    assert index.settle() >= 1
    assert not any(gc.is_tracked(m) for m in maps)
    assert index.settle() == 0  # once is enough
    for seq, event in enumerate(events[12:], start=12):  # more go in, the oldest go out
        index.add(event, seq)
        unsettled.add(event, seq)
    index.settle()
    assert not any(gc.is_tracked(m) for m in maps)
    wanted = ["c0", "c1", "c2", "e5", "e13", f"{1:032x}", f"{2:032x}"]
    found = {w: [e.offset for e in index.lookup(w)] for w in wanted}
    assert found == {w: [e.offset for e in unsettled.lookup(w)] for w in wanted}
    assert found["c1"] and min(found["c1"]) == 4  # the oldest four were evicted


@needs_native
def test_the_feed_settles_the_trace_index_after_indexing():
    from tests.unit.test_feed import ListSource

    feed = Feed(ListSource([_linked_events(8)]), ["t"], BEGINNING)
    feed.drain(budget_s=1.0)
    index = TraceIndex(max_events=50)
    assert feed.index_step(index, budget_s=1.0) == 8
    assert not any(gc.is_tracked(m) for m in _index_maps(index))


@needs_native
def test_the_feed_untracks_what_it_keeps():
    from tests.unit.test_feed import ListSource

    feed = Feed(ListSource([_kept_events(5)]), ["t"], BEGINNING)
    feed.drain(budget_s=1.0)
    kept = [feed.store[s] for s in range(feed.store.first, feed.store.next)]
    assert len(kept) == 5 and not any(gc.is_tracked(e) for e in kept)


@needs_native
def test_the_lag_models_samples_are_not_walked_by_full_collections():
    """240 samples per (group, partition): 20,000 of them walked by every full pass."""
    from evtui.core.lag import GroupPoll, LagModel, Sample

    model = LagModel(window_ms=60_000, history=5)
    model.seed("g", ("t", 1), [Sample(0, 1, 5), Sample(500, 2, 5)])
    for i in range(8):
        poll = GroupPoll("Stable", 1, {("t", 0): "c@h"}, {("t", 0): i})
        report = model.update({"g": poll}, {("t", 0): (0, 10)}, 1_000 * (i + 1))
    assert report.groups[0].partitions[0].lag == 3
    history = model.history[("g", ("t", 0))]
    assert [s.committed for s in history] == [3, 4, 5, 6, 7]
    samples = [*history, *model.history[("g", ("t", 1))]]
    assert not any(gc.is_tracked(s) for s in samples)
