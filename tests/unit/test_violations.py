"""Live ordering checks: the board (grouped, counted once, bounded) and holes in a live stream."""

from __future__ import annotations

import contextlib
import gc
import json
import weakref

import pytest

from evtui.core import native
from evtui.core.event import Event
from evtui.core.ordering import Checker, Finding
from evtui.core.positions import BEGINNING, parse_position
from evtui.core.violations import LiveCheck, ViolationBoard
from evtui.tui.feed import Feed
from tests.unit.test_feed import ListSource


def seq_event(offset: int, seq: int, key: str = "k") -> Event:
    body = json.dumps({"eventId": f"e{offset}", "seq": seq}).encode()
    return Event("t", 0, offset, 1_000 + offset, 1, key.encode(), body, ())


def finding(kind: str, offset: int, key: str = "k", severity: str = "warning") -> Finding:
    return Finding(kind, severity, "t", 0, offset, key, (f"t/0/{offset}",), "x", "y", "z")


def test_the_board_groups_by_kind_topic_and_key_and_counts_each_finding_once():
    board = ViolationBoard()
    assert board.add([finding("orphan", 1), finding("orphan", 2)], at_ms=10) == 2
    assert board.add([finding("orphan", 2), finding("offset_gap", 3, severity="info")], 20) == 1
    assert board.add([finding("sequence_gap", 4, key="other")], at_ms=30) == 1
    assert (board.warnings, board.infos) == (3, 1)
    groups = board.sorted_groups()
    assert [(g.kind, g.key, g.count) for g in groups] == [
        ("sequence_gap", "other", 1), ("orphan", "k", 2), ("offset_gap", "k", 1)
    ]  # fmt: skip
    assert (groups[1].first_ms, groups[1].last_ms) == (10, 10)
    assert [g.kind for g in board.sorted_groups("OTHER")] == ["sequence_gap"]
    assert board.summary() == {"offset_gap": 1, "orphan": 2, "sequence_gap": 1}


@pytest.mark.skipif(not native.available(), reason="the extension is not loaded")
def test_what_the_board_keeps_is_not_walked_by_full_collections_and_is_still_freed():
    board = ViolationBoard(max_groups=1, per_group=2)

    class MyFinding(Finding):  # a subclass may hold anything: left alone
        pass

    mine = MyFinding("orphan", "warning", "t", 0, 9, "k", ("t/0/9",), "x", "y", "z")
    board.add([finding("orphan", 1), finding("orphan", 2), mine], at_ms=10)
    (group,) = board.groups.values()
    assert not gc.is_tracked(group) and not gc.is_tracked(group.findings)
    assert [gc.is_tracked(f) for f in group.findings] == [False, True]  # 1 fell out: per_group
    assert [f.offset for f in group.findings] == [2, 9]
    gone = weakref.ref(group)
    board.add([finding("sequence_gap", 3)], at_ms=20)  # the bound drops the old group
    del group
    assert gone() is None  # reference counting frees it all


def test_the_board_is_bounded_and_forgets_information_first():
    board = ViolationBoard(max_groups=2, per_group=3)
    board.add([finding("offset_gap", 0, severity="info")], 0)
    board.add([finding("orphan", i, key="a") for i in range(1, 6)], 1)
    board.add([finding("orphan", 9, key="b")], 2)
    assert [(g.key, g.count, len(g.findings)) for g in board.sorted_groups()] == [
        ("a", 5, 3), ("b", 1, 1)
    ]  # fmt: skip
    assert board.groups_dropped == 1 and board.infos == 1


def test_at_the_bound_the_oldest_information_group_goes_first_then_the_oldest_warning():
    board = ViolationBoard(max_groups=3)
    board.add([finding("offset_gap", 0, key="i1", severity="info")], 0)
    board.add([finding("orphan", 1, key="w1")], 1)
    board.add([finding("offset_gap", 2, key="i2", severity="info")], 2)
    board.add([finding("orphan", 3, key="w2")], 3)  # i1 goes
    board.add([finding("orphan", 4, key="w3")], 4)  # i2 goes
    assert sorted(k for _, _, k in board.groups) == ["w1", "w2", "w3"]
    board.add([finding("offset_gap", 5, key="i3", severity="info")], 5)  # no info left: w1
    board.add([finding("orphan", 6, key="w4")], 6)  # i3, the newest, is the only info
    assert sorted(k for _, _, k in board.groups) == ["w2", "w3", "w4"]
    assert board.groups_dropped == 4 and (board.warnings, board.infos) == (4, 3)


def test_a_hole_in_the_live_stream_is_not_a_gap_it_restarts_the_checks_and_is_counted():
    live = LiveCheck()
    feed = Feed(ListSource([[seq_event(i, i + 1) for i in range(10)]]), ["t"], BEGINNING)
    feed.drain(budget_s=1.0)
    feed.check_step(live, budget_s=1.0)
    # the view dropped 20 events to keep up (seq 11..30), then more arrived
    feed.holes.append((feed.store.next, 20))
    feed.store.append([seq_event(i, i + 1) for i in range(30, 40)])
    feed.check_step(live, budget_s=1.0)
    assert live.board.warnings == 0
    assert (live.checked, live.not_checked, live.restarts) == (20, 20, 1)
    # a real regression after the hole is still found
    feed.store.append([seq_event(40, 3)])
    feed.check_step(live, budget_s=1.0)
    live.finish()  # no gap for the hole at the end either
    assert [g.kind for g in live.board.sorted_groups()] == ["sequence_regression"]


def test_events_evicted_before_they_were_checked_are_a_hole_too():
    live = LiveCheck()
    feed = Feed(ListSource([]), ["t"], parse_position("-5"), capacity=10)
    feed.store.append([seq_event(i, i + 1) for i in range(5)])
    feed.check_step(live, budget_s=1.0)
    feed.store.append([seq_event(i, i + 1) for i in range(5, 30)])  # 15 evicted unchecked
    feed.check_step(live, budget_s=1.0)
    live.finish()
    assert (live.checked, live.not_checked, live.board.warnings) == (15, 15, 0)


def test_the_end_of_a_stream_tells_what_only_the_end_can_tell():
    live = LiveCheck()
    events = [seq_event(0, 1), seq_event(1, 3)]  # 2 never arrives
    feed = Feed(ListSource([events], finished=True), ["t"], BEGINNING)
    for _ in range(3):
        feed.drain(budget_s=1.0)
        feed.check_step(live, budget_s=1.0)
    assert live.finished
    assert [f.kind for f in live.board.findings()] == ["sequence_gap"]


def test_the_consoles_checks_remember_as_many_events_as_its_window():
    from evtui.tui.testing import demo_app

    app = demo_app(seconds=1, capacity=5_000)
    checker = app.violations.make_checker(False, frozenset())
    assert checker.duplicates.seen.limit == 5_000 and checker.causes.known.limit == 5_000
    assert checker.sequences.keys.limit == 5_000 and checker.times.keys.limit == 5_000
    app.backend.close()


def test_a_record_the_checks_fail_on_is_counted_and_the_console_goes_on():
    class Fragile(Checker):
        def offer(self, event: Event) -> None:
            if event.offset == 3:
                raise ValueError("a detector bug on this record")
            super().offer(event)

    live = LiveCheck(lambda mid, compacted: Fragile(mid_stream=mid, compacted=compacted))
    events = [seq_event(i, i + 1) for i in range(20)] + [seq_event(20, 2)]
    feed = Feed(ListSource([events]), ["t"], BEGINNING)
    feed.drain(budget_s=1.0)
    feed.check_step(live, budget_s=1.0)
    assert live.problems.count == 1 and live.problems.first[0][:3] == ("t", 0, 3)
    assert (live.not_checked, live.restarts) == (1, 1)  # a hole: no gap for seq 4
    live.finish()
    assert "1 record could not be checked: t/0/3" in live.problems.lines("checked")[0]
    kinds = [g.kind for g in live.board.sorted_groups() if g.severity == "warning"]
    assert kinds == ["sequence_regression"]


def test_partitions_at_their_end_are_told_to_the_checks_after_the_events_before_them():
    from evtui.sources.base import Batch

    effect = Event("a", 0, 0, 1_000, 1, b"k", b"{}",
                   (("event-id", b"e"), ("causation-id", b"c")))  # fmt: skip
    later = Event("a", 0, 1, 200_000, 1, b"k2", b"{}", (("event-id", b"l"),))
    cause = Event("b", 0, 0, 900, 1, b"k", b"{}", (("event-id", b"c"),))
    source = ListSource([Batch([effect, later], [("a", 0)]), Batch([cause], [("b", 0)])])
    source.reading = lambda: [("a", 0), ("b", 0)]
    live = LiveCheck(lambda mid, compacted: Checker(strict_orphans=True))
    feed = Feed(source, ["a", "b"], BEGINNING)
    feed.drain(budget_s=1.0)
    feed.check_step(live, budget_s=1.0)
    assert live.board.warnings == 0  # b[0] was read after a ran 200 s on: no orphan
    assert live.checker.causes.mark.value() == 200_000  # both at their end: the latest


class EverySeventh:
    """A plugin's detector: a finding at every 7th offset; a bug on offset 11."""

    def offer(self, event: Event) -> list[Finding]:
        if event.offset == 11:
            raise ValueError("a plugin bug on this record")
        if event.offset % 7:
            return []
        return [Finding("every_seventh", "warning", event.topic, event.partition, event.offset,
                        "k", (f"t/0/{event.offset}",), "x", "y", "z")]  # fmt: skip

    def finish(self) -> list[Finding]:
        return []


@pytest.mark.skipif(not native.available(), reason="the extension is not loaded")
def test_with_a_plugin_the_built_ins_take_the_batch_in_one_call_and_find_the_same():
    """Each event went to the extension alone when a plugin was installed (the console's
    busiest work at 5,000 events/s): the same findings, in the same order, come out."""
    from evtui.core.ordering import set_plugin_detectors

    seqs = [1, 2, 3, 2, 5, 6, 6, 8, 12, 13, 9, 14, 15, 15, 16, 20, 21, 3, 22, 23, 24, 25]
    events = [seq_event(i, s, key=f"k{i % 3}") for i, s in enumerate(seqs)]
    events.append(events[4])  # the same event twice: a duplicate
    set_plugin_detectors([(("every_seventh",), EverySeventh)])
    try:
        one_by_one = Checker()
        for event in events:
            with contextlib.suppress(ValueError):  # the plugin's bug (the built-ins' findings
                one_by_one.offer(event)  # for that record are kept)
        assert [f.kind for f in one_by_one.findings].count("every_seventh") == 4
        batched, failed = Checker(), []
        kept, done, exc = batched.offer_until_failure(
            events, lambda event, error: failed.append((event.offset, str(error)))
        )
        assert (done, exc) == (len(events), None)
        assert failed == [(11, "a plugin bug on this record")]
        assert [f for _, f in kept] == one_by_one.findings == batched.findings
        assert [events[i].offset for i, _ in kept] == [f.offset for f in one_by_one.findings]
        assert batched.scanned == len(events)
    finally:
        set_plugin_detectors(())


@pytest.mark.skipif(not native.available(), reason="the extension is not loaded")
def test_a_plugins_failure_is_that_records_problem_and_not_a_hole_in_the_checks():
    from evtui.core.ordering import set_plugin_detectors

    set_plugin_detectors([(("every_seventh",), EverySeventh)])
    try:
        live = LiveCheck()
        events = [seq_event(i, i + 1) for i in range(20)] + [seq_event(20, 2)]
        feed = Feed(ListSource([events]), ["t"], BEGINNING)
        feed.drain(budget_s=1.0)
        feed.check_step(live, budget_s=1.0)
        assert live.problems.count == 1 and live.problems.first[0][:3] == ("t", 0, 11)
        assert (live.not_checked, live.restarts) == (0, 0)  # the built-ins saw every event
        live.finish()
        kinds = sorted(g.kind for g in live.board.sorted_groups() if g.severity == "warning")
        assert kinds == ["every_seventh", "sequence_regression"]
    finally:
        set_plugin_detectors(())
