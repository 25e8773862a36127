"""The lag screen on the seeded simulator: groups, statuses, drill-down, filter, sort."""

from __future__ import annotations

from evtui.core.lag import Status
from evtui.tui.testing import demo_app, settle, wait_for
from evtui.tui.widgets.columns import CELL_PADDING, fit_columns
from evtui.tui.widgets.lagpane import (
    GROUP_COLUMNS,
    PART_COLUMNS,
    LagPane,
    sparkline,
    trend_text,
)
from evtui.tui.widgets.overview import VimTable


def test_sparkline():
    assert sparkline(()) == ""
    assert sparkline((0, 0, 0)) == "▁▁▁"
    assert sparkline((0, 5, 10)) == "▁▅█"
    assert len(sparkline(tuple(range(40)))) == 16


def test_the_trend_shows_unknown_lag_as_gaps_and_says_its_scale():
    assert sparkline((8, None, None, 0)) == "█··▁"  # unknown is a gap, never a recovery to 0
    assert sparkline((0, 1, 474)) == "▁▂█"  # a lag of 1 is not no lag
    assert trend_text((1, 1), 16) == "██ 1" and trend_text((237, 474), 16) == "▅█ 474"
    assert trend_text((None, None), 16) == "·· -"
    assert trend_text(tuple(range(0, 25_000, 1_000)), 12) == "▆▇▇▇████ 24k"  # of the bars shown
    assert len(trend_text(tuple(range(100)), 10)) == 10


def test_columns_shrink_then_hide_by_priority():
    def keys(width: int) -> list[str]:
        return [c.key for c, _ in fit_columns(GROUP_COLUMNS, width)]

    assert keys(200) == [c.key for c in GROUP_COLUMNS]  # all, at their usual widths
    assert dict((c.key, w) for c, w in fit_columns(GROUP_COLUMNS, 200))["name"] == 30
    assert keys(78) == ["name", "state", "lag", "time", "status", "trend", "eta"]
    assert keys(40) == ["name", "lag", "status"]  # the group, its status and lag come first
    for width in (40, 60, 78, 100, 130):
        used = sum(w + CELL_PADDING for _, w in fit_columns(GROUP_COLUMNS, width))
        assert used <= width
        used = sum(w + CELL_PADDING for _, w in fit_columns(PART_COLUMNS, width))
        assert used <= width


async def test_at_80x24_the_lag_table_shows_status_lag_trend_and_eta():
    app = demo_app(seconds=90)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("3")
        pane = app.query_one(LagPane)
        assert await wait_for(pilot, lambda: pane.report is not None)
        await pilot.pause(0.2)
        groups = app.query_one("#lag-groups", VimTable)
        header = groups.render_line(0).text
        for label in ("CONSUMER GROUP", "STATUS", "LAG", "TIME LAG", "TREND", "ETA"):
            assert label in header, header
        assert "MEMBERS" not in header
        row = groups.render_line(1).text  # the worst group first: stopped, without an ETA
        assert "notification-service" in row and "stopped" in row and "now" not in row
        parts = app.query_one("#lag-partitions", VimTable).render_line(0).text
        for label in ("TOPIC[PARTITION]", "LAG", "TIME LAG", "STATUS"):
            assert label in parts, parts
        status = str(app.query_one("#lag-status").render())
        assert "Too narrow for MEMBERS" in status  # the hidden column is said, with its value:
        assert "notification-service: Empty, 0 members" in status
        # wide again: every column is back, the cursor still on its group
        await pilot.press("j")
        selected = pane.selected_group
        await pilot.resize_terminal(200, 50)
        await pilot.pause(0.2)
        assert "MEMBERS" in groups.render_line(0).text
        assert pane.selected_group == selected
        assert "Too narrow" not in str(app.query_one("#lag-status").render())


async def test_lag_screen_shows_the_simulated_groups_and_their_health():
    app = demo_app(seconds=90)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        assert app.lag_poller is not None  # started with the app: the overview shows lag
        await pilot.press("3")
        pane = app.query_one(LagPane)
        assert await wait_for(pilot, lambda: pane.report is not None)
        groups = {g.group: g for g in pane.report.groups}
        sim = app.backend.clock  # the simulator's truth
        assert set(groups) == {g.name for g in sim.sim.groups}
        offsets = sim.group_offsets()
        ends = sim.end_offsets()
        for name, group in groups.items():
            assert group.lag == sum(ends[tp] - c for tp, c in offsets[name].items())
        assert groups["notification-service"].status is Status.STOPPED
        assert groups["notification-service"].members == 0
        assert all(g.status is Status.OK for n, g in groups.items() if n != "notification-service")
        # sorted by status: the stopped group first, selected, its partitions below
        table = app.query_one("#lag-groups", VimTable)
        assert table.has_focus and pane.selected_group == "notification-service"
        parts = app.query_one("#lag-partitions", VimTable)
        assert parts.row_count == len(offsets["notification-service"])
        await pilot.press("j")
        await pilot.pause(0.1)
        assert pane.selected_group == pane.shown[1].group
        assert parts.row_count == len(offsets[pane.selected_group])
        await pilot.press("enter")
        assert parts.has_focus
        await pilot.press("escape")
        assert table.has_focus


async def test_filter_sort_and_no_exact_reader_in_the_demo():
    app = demo_app(seconds=90)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("3")
        pane = app.query_one(LagPane)
        assert await wait_for(pilot, lambda: pane.report is not None)
        await pilot.press("slash", *"pay")
        await pilot.pause(0.1)
        assert [g.group for g in pane.shown] == ["payment-service"]
        assert app.query_one("#lag-groups", VimTable).row_count == 1
        await pilot.press("backspace", "backspace", "backspace", "enter")
        await pilot.pause(0.1)
        assert len(pane.shown) == 5
        orders = []
        for _ in range(4):
            await pilot.press("s")
            orders.append((pane.sort, [(g.group, g.lag or 0) for g in pane.shown]))
        assert [sort for sort, _ in orders] == ["name", "lag", "time lag", "status"]
        assert [n for n, _ in orders[0][1]] == sorted(n for n, _ in orders[0][1])
        assert [lag for _, lag in orders[1][1]] == sorted(
            (lag for _, lag in orders[1][1]), reverse=True
        )
        assert orders[3][1][0][0] == "notification-service"  # the worst status first
        assert not pane.check_action("exact", ())  # x is not offered: the demo has no records


async def test_an_unreachable_cluster_is_said_on_the_lag_screen_and_the_app_goes_on():
    from tests.tui.helpers import kafka_app

    app = kafka_app("127.0.0.1:1")
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("3")
        pane = app.query_one(LagPane)
        assert await wait_for(pilot, lambda: pane.trouble is not None, 20)
        status = str(app.query_one("#lag-status").render())
        assert "⚠" in status and "127.0.0.1:1" in status
        await pilot.press("1")  # still responsive
        assert app.query_one("#topics").has_focus
