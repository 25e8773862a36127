"""80x24 keeps what matters (issue 15, part 4) and the waterfall is drawn to scale (part 6)."""

from __future__ import annotations

from evtui.core.traces import build_trace
from evtui.tui.rows import MIN_SUMMARY, Columns
from evtui.tui.screens.trace import waterfall_text
from evtui.tui.testing import demo_app, settle
from evtui.tui.widgets.header import HeaderState, render_header
from evtui.tui.widgets.overview import GroupTable


def test_the_tail_keeps_type_and_summary_at_80_columns() -> None:
    cols = Columns.fit(["notifications", "orders"]).for_width(80)
    header = "".join(s.text for s in cols.header(80))
    assert "TYPE" in header and "SUMMARY" in header and "⏎ +3 cols" in header
    assert cols.type == 18 and 80 - cols.fixed() >= MIN_SUMMARY
    wide = Columns.fit(["notifications"]).for_width(200)
    assert not wide.hidden and "CORRELATION" in "".join(s.text for s in wide.header(200))


def test_the_header_keeps_state_and_badge_at_80_columns() -> None:
    state = HeaderState(
        cluster="127.0.0.1:19092", cluster_id="abcdefghijklmnop", brokers=3,
        connection="reconnecting", rate=12345.0, kept=200_000, evicted=123_456, violations=27,
    )  # fmt: skip
    text = render_header(state, 80).plain
    assert len(text) <= 80
    assert "● reconnecting" in text and "⚠ 27 violations" in text


async def test_the_waterfall_is_proportional_with_a_time_axis() -> None:
    app = demo_app(seconds=20)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot, app)
        events = [e for e in app.traces.search("107b1a519628").events]
    trace = build_trace("107b1a519628ee8df90f202bb5944b50", events)
    lines = waterfall_text(trace, 100).plain.splitlines()
    assert all(len(line) <= 100 for line in lines)  # never wraps
    assert "0" in lines[0] and "150 ms" in lines[0] and "1 cell ≈" in lines[1]
    bars = {_name(line): line.count("█") for line in lines[2:] if "█" in line}
    # hops of 35, 17, 5, 16 and 77 ms: the bars are as long as the hops
    assert bars["NotificationSent"] > bars["StockReserved"] > bars["PaymentAuthorized"]
    assert bars["PaymentAuthorized"] > bars["ShipmentCreated"]
    assert 2.0 < bars["NotificationSent"] / bars["StockReserved"] < 2.6  # 77 / 35


async def test_the_overview_shows_lag_and_status_and_the_findings_show_rows_at_80x24() -> None:
    app = demo_app(seconds=90)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("1")
        groups = app.query_one(GroupTable)
        await pilot.pause(0.5)
        header = groups.render_line(0).text
        assert "LAG" in header and "STATUS" in header
        rows = " ".join(groups.render_line(y).text for y in range(1, 7))
        assert "stopped" in rows and "notification-service" in rows
        await pilot.press("4", "j", "enter")
        await pilot.pause(0.5)
        findings = app.query_one("#violations-findings")
        assert findings.row_count > 0 and findings.region.height >= 3
        assert findings.render_line(1).text.strip()  # a row is on screen, not only the header


def _name(line: str) -> str:
    return next(word for word in line.split() if word.isalpha())
