"""Lag math: offsets, time by interpolation, health over a window, catch-up."""

from __future__ import annotations

import math

import pytest

from evtui.core.lag import (
    ESTIMATED,
    EXACT,
    EXTRAPOLATED,
    RULES,
    GroupLag,
    OffsetTimes,
    PartitionLag,
    Sample,
    Status,
    estimated_time_lag,
    evaluate,
    offset_lag,
    worst,
)

W = 60_000  # window ms


def test_offset_lag():
    assert offset_lag(None, 10) is None  # no committed offset is not "no lag"
    assert offset_lag(10, 10) == 0
    assert offset_lag(4, 10) == 6
    assert offset_lag(12, 10) == 0  # a commit past the end (truncated log) is no negative lag


def table(*points: tuple[int, int]) -> OffsetTimes:
    t = OffsetTimes()
    for end, ms in points:
        t.add(end, ms)
    return t


def test_time_of_interpolates_between_the_points_around_the_offset():
    t = table((100, 0), (200, 10_000), (400, 20_000))
    assert t.time_of(100) == (0, ESTIMATED)
    assert t.time_of(150) == (5_000, ESTIMATED)
    assert t.time_of(300) == (15_000, ESTIMATED)
    assert t.time_of(400) is None  # not written when last sampled


def test_a_flat_stretch_keeps_its_last_time():
    # nothing produced from 10 s to 50 s: record 200 was written after 50 s, not at 10 s
    t = table((100, 0), (200, 10_000), (200, 30_000), (200, 50_000), (300, 60_000))
    assert list(t.points) == [(100, 0), (200, 50_000), (300, 60_000)]
    assert t.time_of(250) == (55_000, ESTIMATED)
    assert t.time_of(150) == (25_000, ESTIMATED)


def test_older_offsets_are_extrapolated_with_the_tables_rate():
    t = table((1_000, 10_000), (2_000, 20_000))  # 0.1 records/ms
    assert t.time_of(500) == (5_000, EXTRAPOLATED)


def test_too_few_points_or_no_rate_is_unknown_never_zero():
    assert table().time_of(5) is None
    assert table((100, 0)).time_of(50) is None
    flat = table((100, 0), (100, 5_000))
    assert flat.time_of(50) is None


def test_the_table_starts_over_when_the_end_goes_down_and_forgets_old_points():
    t = table((500, 0), (600, 1_000), (10, 2_000))
    assert list(t.points) == [(10, 2_000)]
    t = OffsetTimes(window_ms=10_000)
    for i in range(30):
        t.add(i * 10, i * 1_000)
    assert t.points[0][1] >= 29_000 - 10_000
    small = OffsetTimes(max_points=8)
    for i in range(100):
        small.add(i * 10, i * 1_000)
    ends = [end for end, _ in small.points]
    assert len(ends) <= 8 and ends[-1] == 990
    assert ends[0] < 500  # old times still covered, more coarsely
    assert small.time_of(ends[0] + 5) is not None


def test_estimated_time_lag():
    t = table((100, 0), (200, 10_000))
    assert estimated_time_lag(t, None, 200, 20_000) == (None, None)
    assert estimated_time_lag(t, 200, 200, 20_000) == (0.0, EXACT)  # caught up: exactly 0
    assert estimated_time_lag(t, 150, 200, 20_000) == (15.0, ESTIMATED)
    seconds, kind = estimated_time_lag(table((100, 0)), 50, 100, 9_000)
    assert seconds is None and kind is None  # unknown, not 0 and not NaN
    late, _ = estimated_time_lag(table((100, 0), (200, 10_000)), 150, 200, 1_000)
    assert late == 0.0 and not math.isnan(late)  # a clock behind the table: never negative


def samples(*rows: tuple[int, int | None, int], commits: list[int] | None = None) -> list[Sample]:
    """(seconds, committed, end) rows; commit counts optional."""
    return [
        Sample(s * 1000, c, e, None if commits is None else commits[i])
        for i, (s, c, e) in enumerate(rows)
    ]


def test_caught_up_is_ok():
    health = evaluate(samples((0, 10, 10), (30, 20, 20), (60, 30, 30)), W)
    assert health.status is Status.OK
    assert health.eta_s == 0.0


def test_lag_growing_at_every_sample_is_lagging_with_no_eta():
    rows = [(0, 100, 150), (20, 150, 220), (40, 200, 300), (60, 250, 390)]
    health = evaluate(samples(*rows), W)
    assert health.status is Status.LAGGING
    assert health.consume_rate == pytest.approx(150 / 60)
    assert health.produce_rate == pytest.approx(240 / 60)
    assert health.eta_s is None  # consuming slower than producing: it does not catch up


def test_lag_shrinking_is_ok_with_an_eta():
    rows = [(0, 100, 400), (30, 250, 420), (60, 400, 440)]
    health = evaluate(samples(*rows), W)
    assert health.status is Status.OK
    # 40 left, consuming 5/s, producing 0.67/s: net 4.33/s
    assert health.eta_s == pytest.approx(40 / (300 / 60 - 40 / 60))


def test_committing_the_same_offset_with_lag_is_stalled():
    rows = [(0, 100, 200), (30, 100, 210), (60, 100, 220)]
    got = evaluate(samples(*rows, commits=[5, 9, 14]), W, last_commit_ms=58_000)
    assert got.status is Status.STALLED


def test_no_commit_for_half_the_window_with_lag_is_stopped():
    rows = [(0, 100, 200), (30, 100, 210), (60, 100, 220)]
    quiet = samples(*rows, commits=[5, 5, 5])
    assert evaluate(quiet, W, last_commit_ms=None).status is Status.STOPPED  # none in the window
    stopped = evaluate(quiet, W, last_commit_ms=20_000)  # committed, then 40 s of silence
    assert stopped.status is Status.STOPPED and stopped.reason == "no commit for 40 s"
    # a group that stops is stopped as soon as the silence is long, whatever came before
    moving = samples((0, 100, 200), (20, 150, 210), (25, 160, 260), commits=[1, 2, 3])
    assert evaluate(moving, W, last_commit_ms=21_000).status is Status.UNKNOWN  # too soon
    assert (
        evaluate([*moving, Sample(60_000, 160, 300, 3)], W, last_commit_ms=21_000).status
        is Status.STOPPED
    )
    # one that usually takes 20 s between commits is not stopped after 39 s of silence
    slow = [*moving, Sample(60_000, 160, 300, 3)]
    got = evaluate(slow, W, last_commit_ms=21_000, commit_gap_ms=20_000)
    assert got.status is not Status.STOPPED
    # nor one whose partition a live member owns: it is judged on its progress
    assert evaluate(quiet, W, last_commit_ms=None, owned=True).status is Status.STALLED


def test_usual_gap_between_commits():
    from evtui.core.lag import usual_gap_ms

    assert usual_gap_ms([]) is None and usual_gap_ms([(5, 1)]) is None
    assert usual_gap_ms([(0, 1), (1_000, 2), (2_000, 3), (10_000, 4)]) == 1_000
    many = [(i * 100, i) for i in range(50)] + [(100_000, 51)]
    assert usual_gap_ms(many) == 100  # the latest gaps, their median


def test_without_commit_records_members_decide_between_stalled_and_stopped():
    rows = [(0, 100, 200), (30, 100, 210), (60, 100, 220)]
    assert evaluate(samples(*rows), W, members=2).status is Status.STALLED
    assert evaluate(samples(*rows), W, members=0).status is Status.STOPPED


def test_a_committed_offset_going_back_is_rewound():
    rows = [(0, 100, 200), (30, 40, 210), (60, 90, 220)]
    assert evaluate(samples(*rows), W).status is Status.REWOUND
    # once the window has passed, it is judged on what follows
    later = [*rows, (100, 200, 230), (130, 230, 230)]
    assert evaluate(samples(*later), W).status is Status.OK


def test_no_committed_offset_or_too_few_samples_is_unknown():
    assert evaluate([], W).status is Status.UNKNOWN
    assert evaluate(samples((0, None, 10)), W).status is Status.UNKNOWN
    assert evaluate(samples((0, 5, 10)), W).status is Status.UNKNOWN  # one sample: no trend
    assert evaluate(samples((0, 5, 10), (5, 5, 12)), W).status is Status.UNKNOWN  # too short
    assert evaluate(samples((0, 10, 10)), W).status is Status.OK  # caught up needs no history


def test_only_samples_in_the_window_count():
    # lag grew long ago, then has been flat and progressing within the window
    rows = [(0, 0, 100), (10, 10, 200), (100, 150, 250), (130, 200, 300), (160, 250, 350)]
    assert evaluate(samples(*rows), W).status is Status.OK


def test_worst_and_group_figures():
    assert worst([]) is Status.UNKNOWN
    assert worst([Status.OK, Status.STOPPED, Status.LAGGING]) is Status.STOPPED
    assert worst([Status.UNKNOWN, Status.OK]) is Status.UNKNOWN  # nobody can say it is fine

    def part(p: int, committed: int | None, end: int, status: Status, secs: float | None):
        lag = offset_lag(committed, end)
        return PartitionLag("t", p, committed, end, 0, lag, secs, ESTIMATED, status, "")

    parts = (
        part(0, 5, 10, Status.OK, 1.0),
        part(1, None, 7, Status.UNKNOWN, None),
        part(2, 1, 9, Status.LAGGING, 12.5),
    )
    group = GroupLag("g", "Stable", 2, parts)
    assert group.lag == 13 and group.time_lag_s == 12.5
    assert group.status is Status.LAGGING  # lagging is worse than unknown
    assert GroupLag("g", "Stable", 2, parts[:2]).status is Status.UNKNOWN  # not ok
    data = group.to_json()
    assert data["partitions"][1]["lag"] is None and data["partitions"][1]["committed"] is None
    assert set(data) == {
        "group", "state", "status", "members", "lag", "time_lag_s", "eta_s", "partitions",
    }  # fmt: skip
    assert set(data["partitions"][0]) == {
        "topic", "partition", "committed", "end", "lag", "time_lag_s", "time_lag_kind",
        "status", "member",
    }  # fmt: skip
    empty = GroupLag("e", "Empty", 0, (part(0, None, 3, Status.UNKNOWN, None),))
    assert empty.lag is None and empty.time_lag_s is None


def test_every_status_has_a_rule_for_the_help_screen_in_the_one_order():
    assert [name for name, _ in RULES] == [str(s) for s in Status]


def test_the_order_of_statuses_is_defined_once_unknown_included():
    from evtui.core.lag import SEVERITY

    order = ["ok", "idle", "unknown", "lagging", "rewound", "stalled", "stopped"]
    assert [str(s) for s in sorted(Status, key=SEVERITY.__getitem__)] == order
    assert worst([Status.OK, Status.UNKNOWN, Status.IDLE]) is Status.UNKNOWN
    assert worst([Status.UNKNOWN, Status.LAGGING]) is Status.LAGGING
    assert worst([Status.STALLED, Status.STOPPED, Status.UNKNOWN]) is Status.STOPPED


def test_an_empty_group_makes_no_progress_stopped_with_lag_idle_without_and_no_eta():
    # it consumed well until it emptied: the past rates do not make it ok, nor give an ETA
    rows = [(0, 100, 200), (30, 180, 210), (60, 180, 220)]
    got = evaluate(samples(*rows), W, members=0, empty=True)
    assert got.status is Status.STOPPED and got.eta_s is None
    assert got.reason == "no member, no commit of progress"
    caught_up = [(0, 100, 200), (30, 210, 210), (60, 210, 210)]
    got = evaluate(samples(*caught_up), W, members=0, empty=True)
    assert got.status is Status.IDLE and got.eta_s is None
    # with commit records: one old commit (a reset, a consumer gone) is no consumer
    quiet = samples(*rows, commits=[1, 1, 1])
    assert evaluate(quiet, W, last_commit_ms=50_000, empty=True).status is Status.STOPPED
    # a consumer that assigns its partitions itself commits without being a member: it is
    # judged on its progress while it commits
    moving = samples((0, 100, 400), (30, 250, 420), (60, 400, 440))
    alive = evaluate(moving, W, members=0, empty=True)
    assert alive.status is Status.OK and alive.eta_s == pytest.approx(40 / (300 / 60 - 40 / 60))
    commits = samples((0, 100, 400), (30, 250, 420), (60, 400, 440), commits=[1, 30, 60])
    got = evaluate(commits, W, last_commit_ms=59_000, commit_gap_ms=1_000, empty=True)
    assert got.status is Status.OK
    got = evaluate(commits, W, last_commit_ms=50_000, commit_gap_ms=1_000, empty=True)
    assert got.status is Status.STOPPED  # 10 s of silence, it used to commit every second
    same = samples((0, 100, 400), (30, 100, 420), (60, 100, 440), commits=[1, 30, 60])
    got = evaluate(same, W, last_commit_ms=59_000, commit_gap_ms=1_000, empty=True)
    assert got.status is Status.STALLED and got.eta_s is None  # it commits, without progress


def test_no_progress_has_no_eta():
    # stopped (no commit for 40 s) after consuming early in the window: no ETA from that
    rows = [(0, 100, 200), (20, 150, 200), (40, 150, 200), (60, 150, 200)]
    got = evaluate(samples(*rows, commits=[1, 2, 2, 2]), W, last_commit_ms=20_000)
    assert got.status is Status.STOPPED and got.consume_rate and got.eta_s is None


def test_unknown_lag_has_unknown_eta_and_the_group_is_unknown_not_ok():
    from evtui.core.lag import GroupPoll, LagModel

    model = LagModel(window_ms=W)
    ends = {("t", 0): (0, 50), ("t", 1): (0, 30)}
    owners = {("t", 0): "c@h", ("t", 1): "c@h"}
    polls = {
        "never": GroupPoll("Stable", 1, owners, {("t", 0): None, ("t", 1): None}),
        "half": GroupPoll("Stable", 1, owners, {("t", 0): 50, ("t", 1): None}),
        "done": GroupPoll("Stable", 1, owners, {("t", 0): 50, ("t", 1): 30}),
    }
    report = model.update(polls, ends, 1_000)
    got = {g.group: g for g in report.groups}
    assert got["never"].lag is None and got["never"].eta_s is None  # not "now"
    assert got["never"].status is Status.UNKNOWN
    assert got["half"].lag == 0 and got["half"].eta_s is None  # one partition's lag unknown
    assert got["half"].status is Status.UNKNOWN
    assert got["done"].lag == 0 and got["done"].eta_s == 0.0 and got["done"].status is Status.OK
    assert got["never"].to_json()["eta_s"] is None and got["done"].to_json()["eta_s"] == 0.0


def test_an_empty_group_in_the_model_is_stopped_or_idle_without_eta():
    from evtui.core.lag import GroupPoll, LagModel

    model = LagModel(window_ms=W)
    for t, end in ((0, 100), (30_000, 150), (60_000, 200)):
        polls = {
            "gone": GroupPoll("Empty", 0, committed={("t", 0): 90 + t // 1_000}),
            "rested": GroupPoll("Empty", 0, committed={("u", 0): 10}),
        }
        report = model.update(polls, {("t", 0): (0, end), ("u", 0): (0, 10)}, t)
        got = {g.group: g for g in report.groups}
        assert got["rested"].status is Status.IDLE and got["rested"].eta_s is None
    # its committed offset moved each time (150 -> 200 lag 50 -> 50): that is progress of a
    # consumer without membership, judged as such; once it stops moving, it is stopped
    assert got["gone"].status is not Status.STOPPED
    report = model.update(
        {"gone": GroupPoll("Empty", 0, committed={("t", 0): 150})}, {("t", 0): (0, 260)}, 90_000
    )
    (gone,) = report.groups
    assert gone.status is Status.STOPPED and gone.eta_s is None and gone.lag == 110


def test_the_trend_keeps_unknown_samples_as_gaps_not_zeros():
    from evtui.core.lag import GroupPoll, LagModel

    model = LagModel(window_ms=W)
    committed = [5, None, 8]
    for i, offset in enumerate(committed):
        poll = GroupPoll("Stable", 1, {("t", 0): "c@h"}, {("t", 0): offset})
        report = model.update({"g": poll}, {("t", 0): (0, 10)}, i * 1_000)
    assert report.groups[0].trend == (5, None, 2)
    failed = GroupPoll("Unknown", 0, problem="cannot read committed offsets: timed out")
    report = model.update({"g": failed}, {}, 3_000)
    assert report.groups[0].trend == (5, None, 2, None)


def commit_key(group: str, topic: str, partition: int, version: int = 1) -> bytes:
    def text(s: str) -> bytes:
        raw = s.encode()
        return len(raw).to_bytes(2, "big") + raw

    return version.to_bytes(2, "big") + text(group) + text(topic) + partition.to_bytes(4, "big")


def test_commit_records_are_read_and_everything_else_ignored():
    from evtui.core.lag import parse_commit

    value_v3 = (3).to_bytes(2, "big") + (1234).to_bytes(8, "big") + b"\x00\x00\x00\x05" + b"rest"
    assert parse_commit(commit_key("g", "orders", 2), value_v3) == ("g", "orders", 2, 1234)
    value_v1 = (1).to_bytes(2, "big") + (7).to_bytes(8, "big") + b"\x00\x00"
    assert parse_commit(commit_key("g", "t", 0, 0), value_v1) == ("g", "t", 0, 7)
    assert parse_commit(commit_key("g", "t", 0), None) == ("g", "t", 0, None)  # deleted
    assert parse_commit(commit_key("g", "t", 0, version=2), value_v1) is None  # group metadata
    assert parse_commit(commit_key("g", "t", 0)[:-2], value_v1) is None  # truncated key
    assert parse_commit(commit_key("g", "t", 0), b"\x00\x01\x00") is None  # truncated value
    assert parse_commit(b"", value_v1) is None and parse_commit(None, None) is None
    assert parse_commit(b"\x00\x01\x00\x05\xff\xfe", value_v1) is None  # bad UTF-8, truncated


def test_commit_log_counts_commits_per_partition_bounded():
    from evtui.core.lag import CommitLog

    log = CommitLog(max_keys=2)
    log.add(("g", "t", 0, 5), 1_000)
    log.add(("g", "t", 0, 5), 2_000)
    log.add(("g", "t", 1, 9), 2_500)
    log.add(("h", "t", 0, 1), 3_000)  # a third key: not tracked, counted
    assert log.commits("g", "t", 0) == 2 and log.last_ms("g", "t", 0) == 2_000
    assert log.commits("h", "t", 0) == 0 and log.last_ms("h", "t", 0) is None
    assert log.ignored == 1


def test_commit_history_is_thinned_but_covers_the_window():
    from evtui.core.lag import CommitLog

    log = CommitLog(max_history=8)
    for i in range(100):
        log.add(("g", "t", 0, i), i * 1_000)
    history = log.history("g", "t", 0)
    assert len(history) <= 8 and history[-1] == (99_000, 99)
    assert history[0][0] < 50_000  # old commits still represented
    assert [ms for ms, _ in history] == sorted(ms for ms, _ in history)
    assert log.commits("g", "t", 0) == 100 and log.last_ms("g", "t", 0) == 99_000


def test_past_samples_rebuild_the_window_from_commits_and_end_offsets():
    from evtui.core.lag import past_samples

    commits = [(10_000, 100), (20_000, 100), (30_000, 100)]  # the same offset, again and again
    ends = [(0, 150), (15_000, 180), (25_000, 210), (35_000, 240)]
    got = past_samples(commits, 3, ends, 100)
    # before the first commit seen, the committed offset is not known: skipped
    assert got == [Sample(15_000, 100, 180, 1), Sample(25_000, 100, 210, 2),
                   Sample(35_000, 100, 240, 3)]  # fmt: skip
    now = Sample(40_000, 100, 250, 3)
    assert evaluate([*got, now], 30_000, last_commit_ms=30_000).status is Status.STALLED
    # no commit at all in the window: the offset committed now held all along
    quiet = past_samples([], 0, ends, 90)
    assert [s.committed for s in quiet] == [90, 90, 90, 90]
    assert evaluate([*quiet, Sample(40_000, 90, 250, 0)], 30_000).status is Status.STOPPED
    # progressing commits while the end runs away faster: lagging
    moving = [(5_000, 120), (14_000, 140), (24_000, 160), (34_000, 180)]
    rebuilt = [*past_samples(moving, 4, ends, 180), Sample(40_000, 180, 260, 4)]
    assert evaluate(rebuilt, 30_000, last_commit_ms=34_000).status is Status.LAGGING


def test_the_model_turns_polls_into_reports_and_says_what_it_could_not_read():
    from evtui.core.lag import GroupPoll, LagModel

    model = LagModel(window_ms=W)
    groups = {
        "g": GroupPoll(
            "Stable", 1, owners={("t", 0): "c@h", ("t", 2): "c@h"},
            committed={("t", 0): 40, ("t", 1): 5, ("t", 2): None, ("gone", 0): 7},
        ),
        "h": GroupPoll("Unknown", 0, problem="cannot describe: timed out"),
    }  # fmt: skip
    ends = {("t", 0): (0, 50), ("t", 1): (20, 60), ("t", 2): (0, 10)}
    report = model.update(groups, ends, 1_000, problems=["offsets: 1 of 6 lookups failed"])
    g, h = report.groups
    parts = {(p.topic, p.partition): p for p in g.partitions}
    assert parts[("t", 0)].lag == 10 and parts[("t", 0)].member == "c@h"
    assert parts[("t", 1)].expired and "15 records deleted" in parts[("t", 1)].problem
    assert parts[("t", 2)].committed is None and parts[("t", 2)].lag is None
    assert parts[("gone", 0)].problem == "topic deleted or partition unknown"
    assert parts[("gone", 0)].lag is None and g.lag == 10 + 55
    assert h.problem == "cannot describe: timed out" and h.partitions == ()
    assert report.problems == ["offsets: 1 of 6 lookups failed"]
    assert g.trend == (65,)
    # a group that is gone loses its history
    model.update({"h": groups["h"]}, ends, 2_000)
    assert not [k for k in model.history if k[0] == "g"]


def test_a_poll_at_the_same_instant_adds_no_trend_point_or_sample():
    """A frozen clock (the demo, a paused simulation) polled again restates its point."""
    from evtui.core.lag import GroupPoll, LagModel

    def poll(offset: int) -> dict:
        return {"g": GroupPoll("Stable", 1, {("t", 0): "c@h"}, {("t", 0): offset})}

    model = LagModel(window_ms=W)
    model.update(poll(5), {("t", 0): (0, 10)}, 0)
    for again in (6, 7, 7):
        report = model.update(poll(again), {("t", 0): (0, 10)}, 1_000)
    assert report.groups[0].trend == (5, 3)  # the latest reading at 1 s, once
    assert [s.committed for s in model.history[("g", ("t", 0))]] == [5, 7]
    report = model.update(poll(9), {("t", 0): (0, 10)}, 2_000)
    assert report.groups[0].trend == (5, 3, 1)
