"""The feed between a source and the view: budgeted drains, sampling only when behind."""

from evtui.core.event import Event
from evtui.core.positions import BEGINNING
from evtui.sources.base import Problem, SourceState, SourceStats
from evtui.tui.feed import OVERRUNS_BEFORE_SAMPLING, Feed


class ListSource:
    """An in-memory source (the Source protocol over prepared batches)."""

    def __init__(self, batches: list[list[Event]], finished: bool = False) -> None:
        self.batches = batches
        self.finished = finished
        self.state = SourceState.CONNECTED
        self.stats = SourceStats()

    def start(self) -> None: ...

    def get_batch(self, timeout: float) -> list[Event] | None:
        if self.batches:
            return self.batches.pop(0)
        return None if self.finished else []

    def problems(self) -> list[Problem]:
        return []

    def stop(self) -> None: ...


def batch(start: int, n: int = 100) -> list[Event]:
    return [Event("t", 0, o, 0, 1, None, b"v", ()) for o in range(start, start + n)]


def test_drain_takes_everything_queued_within_budget():
    feed = Feed(ListSource([batch(0), batch(100)]), ["t"], BEGINNING, capacity=1000)
    assert feed.drain(budget_s=1.0) == 200
    assert feed.stats.sampled_out == 0 and feed.view.rows == 200


def test_one_slow_tick_drops_nothing_but_a_persistent_backlog_is_sampled():
    source = ListSource([batch(i * 100) for i in range(50)])
    feed = Feed(source, ["t"], BEGINNING, capacity=100_000)
    for _ in range(OVERRUNS_BEFORE_SAMPLING - 1):
        feed.drain(budget_s=0.0)  # one batch per tick, the rest waits
    assert feed.stats.sampled_out == 0
    assert feed.stats.received == 100 * (OVERRUNS_BEFORE_SAMPLING - 1)
    feed.drain(budget_s=0.0)
    assert feed.stats.sampled_out > 0  # behind three ticks running: sampled, and counted
    assert feed.stats.received + feed.stats.sampled_out <= 5000


def test_catching_up_resets_the_overrun_count():
    source = ListSource([batch(0), batch(100)])
    feed = Feed(source, ["t"], BEGINNING, capacity=1000)
    feed.drain(budget_s=0.0)
    feed.drain(budget_s=1.0)
    feed.drain(budget_s=1.0)  # empty queue: caught up
    source.batches = [batch(200), batch(300)]
    feed.drain(budget_s=0.0)
    assert feed.stats.sampled_out == 0


def test_paused_feed_takes_nothing_and_finished_source_is_noticed():
    source = ListSource([batch(0)], finished=True)
    feed = Feed(source, ["t"], BEGINNING)
    feed.paused = True
    assert feed.drain() == 0 and source.batches
    feed.paused = False
    assert feed.drain() == 100
    assert feed.stats.finished


def test_trace_indexing_keeps_up_or_counts_what_it_skipped():
    from evtui.core.traces import TraceIndex
    from evtui.tui import feed as feed_module

    def corr_batch(start: int, n: int) -> list[Event]:
        return [
            Event("t", 0, o, 0, 1, None, b"v", (("correlation-id", f"c{o % 7}".encode()),))
            for o in range(start, start + n)
        ]

    source = ListSource([corr_batch(0, 300)])
    feed = Feed(source, ["t"], BEGINNING, capacity=1000)
    index = TraceIndex(max_events=10_000)
    feed.drain(budget_s=1.0)
    assert feed.index_step(index, budget_s=1.0) == 300
    assert len(index.lookup("c3")) == len([o for o in range(300) if o % 7 == 3])
    backlog = feed_module.INDEX_BACKLOG_MAX
    feed_module.INDEX_BACKLOG_MAX = 100
    try:
        source.batches = [corr_batch(300, 500)]
        feed.drain(budget_s=1.0)
        assert feed.index_step(index, budget_s=1.0) == 100  # only the newest 100
        assert feed.stats.not_indexed == 400
    finally:
        feed_module.INDEX_BACKLOG_MAX = backlog


def test_drained_events_have_their_ids_from_the_native_path():
    """The checks and the trace index read every event's ids: extracted per batch, natively."""
    from evtui.core import native

    headers = (("correlation-id", b"c-1"), ("event-id", b"e-1"), ("type", b"T"))
    events = [Event("t", 0, o, 0, 1, None, b"{}", headers) for o in range(10)]
    feed = Feed(ListSource([events]), ["t"], BEGINNING, capacity=100)
    feed.drain(budget_s=1.0)
    filled = [e._ids is not None for e in events]
    assert filled == [native.available()] * 10
    assert {e.ids.correlation_id for e in events} == {"c-1"}
