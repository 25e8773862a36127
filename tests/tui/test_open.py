"""``evtui open FILE``: the console on a recording of the seeded demo, no broker."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from pathlib import Path

from evtui.commands.demo import DemoOptions, make_simulator
from evtui.core.event import Event, TimestampType
from evtui.core.positions import BEGINNING, Kind, Position
from evtui.core.recording import Header, PartitionBounds, RecordingWriter, inspect_recording
from evtui.sources.demo import DemoSource
from evtui.sources.recording import NO_GROUPS
from evtui.tui.app import EvtuiApp
from evtui.tui.backend import FileBackend
from evtui.tui.screens.detail import DetailScreen
from evtui.tui.screens.trace import TraceScreen
from evtui.tui.testing import FIXED_START_MS
from evtui.tui.widgets.violations import ViolationsPane
from tests.tui.helpers import rows, shown_refs, wait_for
from tests.tui.test_violations import FAULT_OF

PARTITIONS = 3


def demo_recording(path: Path, seconds: float = 40.0):
    """The seeded demo's first ``seconds`` written as a recording; (events, simulator)."""
    sim = make_simulator(DemoOptions(seed=7, rate=40.0), FIXED_START_MS)
    source = DemoSource(sim, partitions=PARTITIONS, duration_ms=int(seconds * 1000))
    events = [e for batch in source.batches() for e in batch]
    ends = source.end_offsets()
    header = Header(
        created="2026-11-18T10:15:00Z",
        source="demo",
        topics=sim.topics.all(),
        partitions=[
            PartitionBounds(topic=t, partition=p, low=0, high=end, start=0, stop=end)
            for (t, p), end in sorted(ends.items())
        ],
    )
    with RecordingWriter(path, header) as writer:
        writer.write(events)
        writer.finish()
    return events, sim


def file_app(path: Path, **kwargs: object) -> EvtuiApp:
    backend = FileBackend(path)
    kwargs.setdefault("topics", backend.default_topics)
    kwargs.setdefault("start", BEGINNING)
    return EvtuiApp(backend, **kwargs)


async def finished(pilot, app: EvtuiApp) -> None:
    assert await wait_for(pilot, lambda: app.tail.feed is not None and app.tail.feed.stats.finished)
    assert await wait_for(pilot, lambda: app.violations.finished)
    feed = app.tail.feed
    assert await wait_for(pilot, lambda: feed._indexed_upto == feed.store.next)


def where(event) -> str:
    return f"{event.topic}/{event.partition}/{event.offset}"


async def test_the_tail_shows_every_record_of_the_file_and_its_detail(tmp_path):
    path = tmp_path / "demo.jsonl.gz"
    events, _ = demo_recording(path)
    app = file_app(path)
    async with app.run_test(size=(160, 40)) as pilot:
        await finished(pilot, app)
        assert rows(app) == len(events) > 1000
        assert sorted(shown_refs(app)) == sorted(e.ref for e in events)
        assert app.tail.feed.stats.sampled_out == 0 and app.tail.feed.store.stats.evicted == 0
        kept = {e.ref: e for e in app.tail.feed.store.range(0, app.tail.feed.store.next)}
        assert all(kept[e.ref] == e for e in events)  # byte for byte, headers and timestamps
        await pilot.press("g", "enter")
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.event == app.tail.feed.view.event_at(0)
        await pilot.press("escape")
        assert "(source finished)" in app.tail.status_text().plain
        header = app.query_one("#header")
        assert await wait_for(pilot, lambda: "● offline ·" in str(header.render()))
        assert "demo.jsonl.gz (recorded from demo" in str(header.render())


async def test_a_trace_and_the_violations_work_offline(tmp_path):
    path = tmp_path / "demo.jsonl"
    _, sim = demo_recording(path)
    app = file_app(path)
    async with app.run_test(size=(160, 40)) as pilot:
        await finished(pilot, app)
        corr, flow = max(sim.truth.flows.items(), key=lambda kv: len(kv[1]))
        await pilot.press("ctrl+t", *corr, "enter")
        assert isinstance(app.screen, TraceScreen)
        assert {e.ids.event_id for e in app.screen.trace.events} == set(flow)
        await pilot.press("escape")
        truth = sorted(
            (f.kind, f.event_ids[-1] if f.kind == "out_of_order" else f.event_ids[0])
            for f in sim.truth.faults
        )
        assert len(truth) >= 10
        ids = {where(e): e.ids.event_id for e in app.tail.feed.store.range(0, rows(app))}
        board = app.violations.board
        found = sorted(
            (FAULT_OF[f.kind], ids[f.refs[-1]]) for f in board.findings() if f.severity == "warning"
        )
        assert found == truth  # exactly the faults the simulator injected, as on the demo
        await pilot.press("4")
        await pilot.pause(0.6)
        assert f"⚠ {len(truth)} violations" in str(app.query_one("#header").render())
        pane = app.query_one(ViolationsPane)
        assert len(pane._shown_groups) == len(board.groups)


async def test_overview_lag_and_seeking_on_a_file(tmp_path):
    path = tmp_path / "demo.jsonl"
    events, _ = demo_recording(path, seconds=20)
    recording = inspect_recording(path)
    app = file_app(path, topics=["payments"])
    async with app.run_test(size=(160, 40)) as pilot:
        await finished(pilot, app)
        payments = [e for e in events if e.topic == "payments"]
        assert rows(app) == len(payments)
        snapshot = app.snapshot
        assert snapshot is not None and snapshot.groups == ()
        topics = {t.name: t for t in snapshot.topics}
        assert set(topics) == set(recording.topics)
        assert topics["payments"].messages == len(payments)
        assert topics["payments"].partitions == PARTITIONS
        await pilot.press("3")
        await pilot.pause(0.8)
        status = str(app.query_one("#lag-status").render())
        assert NO_GROUPS in status
        app.tail.seek(Position(Kind.TAIL, 2))
        assert await wait_for(pilot, lambda: app.tail.feed is not None)
        await finished(pilot, app)
        assert rows(app) == 2 * PARTITIONS  # the last 2 records of each partition
        first = min(payments, key=lambda e: e.timestamp)
        later = [e for e in payments if e.timestamp > first.timestamp + 5_000]
        app.tail.seek(Position(Kind.TIME, later[0].timestamp))
        assert await wait_for(pilot, lambda: app.tail.feed is not None)
        await finished(pilot, app)
        assert 0 < rows(app) < len(payments)
        wanted = ["^(orders|payments)$"]
        app.tail.open(wanted, BEGINNING)
        assert await wait_for(pilot, lambda: app.tail.feed.topics == wanted)
        await finished(pilot, app)
        assert rows(app) == sum(1 for e in events if e.topic in ("orders", "payments"))


async def test_a_corrupt_line_is_shown_and_what_came_before_stays(tmp_path):
    path = tmp_path / "demo.jsonl"
    demo_recording(path, seconds=10)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[101] = b'{"topic": "orders"}\n'
    path.write_bytes(b"".join(lines))
    app = file_app(path)
    async with app.run_test(size=(160, 40)) as pilot:
        assert await wait_for(
            pilot, lambda: app.tail.feed is not None and app.tail.feed.stats.finished
        )
        await pilot.pause(0.2)
        assert rows(app) == 100  # lines 2-101
        status = app.tail.status_text().plain
        assert "line 102: not a record" in status and "demo.jsonl" in status
        header = app.query_one("#header")
        assert await wait_for(pilot, lambda: "● failed ·" in str(header.render()))


def interleaved_recording(path: Path) -> list[Event]:
    """One topic, 3 partitions whose times interleave, written partition after partition
    (as ``evtui record`` writes small partitions). The newest event is on partition 0, the
    first written; partition 1 goes back in time once."""
    t0 = FIXED_START_MS
    events = []
    for p in range(3):
        for i in range(150):
            at = t0 + 30 * i + (14, 0, 7)[p] + (-400 if (p, i) == (1, 90) else 0)
            key = f"k{p}-{i}".encode()
            events.append(Event("orders", p, i, at, TimestampType.CREATE_TIME, key, b"{}"))
    header = Header(
        created="2026-11-18T10:15:00Z",
        source="test",
        topics=["orders"],
        partitions=[
            PartitionBounds(topic="orders", partition=p, low=0, high=150, start=0, stop=150)
            for p in range(3)
        ],
    )
    with RecordingWriter(path, header) as writer:
        writer.write(events)
        writer.finish()
    return events


def time_merged(events: list[Event]) -> list[str]:
    """The reference: repeatedly the partition head with the least (time, topic, partition)."""
    heads = defaultdict(list)
    for e in events:
        heads[(e.topic, e.partition)].append(e)
    out = []
    while any(heads.values()):
        tp = min((tp for tp in heads if heads[tp]), key=lambda tp: (heads[tp][0].timestamp, tp))
        out.append(heads[tp].pop(0).ref)
    return out


async def test_the_tail_of_a_file_is_in_time_order_across_partitions_and_follows_the_newest(
    tmp_path,
):
    path = tmp_path / "interleaved.jsonl"
    events = interleaved_recording(path)
    app = file_app(path)
    async with app.run_test(size=(160, 40)) as pilot:
        await finished(pilot, app)
        assert shown_refs(app) == time_merged(events)
        feed = app.tail.feed
        times = [feed.view.event_at(r).timestamp for r in range(rows(app))]
        backwards = [(a, b) for a, b in pairwise(times) if b < a]
        assert len(backwards) == 1 and backwards[0][0] - backwards[0][1] < 400  # p1's own step
        assert app.tail.log_view.follow
        newest = max(events, key=lambda e: (e.timestamp, e.partition))
        assert app.tail.log_view.selected_event().ref == newest.ref == shown_refs(app)[-1]
