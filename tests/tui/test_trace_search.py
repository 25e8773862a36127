"""Searching a trace by what the screen shows (issue 14, part 8).

The tail's CORRELATION column cuts ids visibly (``…``); ``Ctrl-T`` takes that text, a
unique start of an id, and opens the trace; an ambiguous start names the ids; and where
there is no cluster (the in-process demo, a recording) no cluster command is suggested.
"""

from __future__ import annotations

import pytest

from evtui.core.event import Event
from evtui.tui.rows import Columns, cut, row_segments
from evtui.tui.screens.trace import TraceScreen
from evtui.tui.widgets.tail import TailLog
from tests.tui.helpers import demo_app, settle, wait_for

TRACE64 = "0562809467078eab"
COLS = Columns(topic=6)


def corr_cell(event: Event, cols: Columns = COLS) -> str:
    """The CORRELATION cell of ``event``'s tail row, as the screen shows it."""
    line = "".join(s.text for s in row_segments(event, cols, 160))
    header = "".join(s.text for s in cols.header(160))
    start = header.index("CORRELATION")
    return line[start : start + cols.corr]


def with_headers(*headers: tuple[str, str]) -> Event:
    hs = tuple((name, value.encode()) for name, value in headers)
    return Event("orders", 0, 1, 1_767_225_600_000, 1, b"k", None, hs)


def test_the_correlation_column_cuts_ids_visibly():
    long = with_headers(("correlation-id", "4bf92f3577b34da6a3ce929d0e0e4736"))
    assert corr_cell(long) == "4bf92f3577b3…"
    fits = with_headers(("correlation-id", "order-1234567"))  # 13 characters: not cut
    assert corr_cell(fits) == "order-1234567"
    short = with_headers(("correlation-id", "c-1"))
    assert corr_cell(short) == "c-1" + " " * 10
    b3 = with_headers(("b3", f"{TRACE64}-00f067aa0ba902b7-1"))  # a 64-bit trace id
    assert corr_cell(b3) == "056280946707…"  # by its 16 digits, not 16 zeros
    assert cut("日本語テキスト", 5) == "日本…"  # wide characters: cells, not characters


def shown_correlation(app) -> tuple[str, str]:
    """The selected tail row's correlation id, whole and as its cell on screen shows it."""
    log = app.query_one(TailLog)
    event = log.selected_event()
    header = log.render_line(0).text
    line = log.render_line(log.cursor_row - int(log.scroll_y) + 1).text
    start = header.index("CORRELATION")
    return event.ids.correlation_id, line[start : start + log._cols.corr].strip()


async def test_ctrl_t_with_the_shown_cut_correlation_id_opens_its_trace():
    app = demo_app(seconds=20)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await wait_for(pilot, lambda: app.tail.feed._indexed_upto == app.tail.feed.store.next)
        await pilot.press("k", "k", "k")
        whole, shown = shown_correlation(app)
        assert shown.endswith("…") and len(shown) == 13 and whole.startswith(shown[:-1])
        expected = {e.ref for e in app.traces.lookup(whole)}
        assert expected
        for typed in (shown, shown[:-1], shown[:8]):  # with the cut mark, without, 8 characters
            await pilot.press("ctrl+t", *typed, "enter")
            assert isinstance(app.screen, TraceScreen), typed
            assert app.screen.trace.correlation_id == whole
            assert {e.ref for e in app.screen.trace.events} == expected
            await pilot.press("escape")
        notes = [str(n.message) for n in app._notifications]
        assert notes == []


async def test_ambiguous_short_and_unknown_ids_in_the_demo_suggest_no_cluster_command():
    app = demo_app(seconds=20)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        for n, flow in enumerate(("order-flow-a1b2c3d4", "order-flow-a1b9e8f7")):
            app.traces.add(
                Event("orders", 9, n, 0, 1, None, None, (("correlation-id", flow.encode()),))
            )
        for typed, note in (
            ("order-flow-a1b", "'order-flow-a1b' is the start of 2 ids: order-flow-a1b9e8f7, "
                               "order-flow-a1b2c3d4; give more of the id"),  # newest first
            ("order-f", "No kept event carries 'order-f'. "  # 7 characters: matched whole only
                        "(An id shorter than 8 characters is matched whole.)"),
            ("no-such-id-here", "No kept event carries 'no-such-id-here'."),
        ):  # fmt: skip
            app.clear_notifications()
            await pilot.press("ctrl+t", *typed, "enter")
            assert not isinstance(app.screen, TraceScreen)
            assert [str(n.message) for n in app._notifications] == [note]
        await pilot.press("ctrl+t", *"order-flow-a1b9", "enter")
        assert isinstance(app.screen, TraceScreen)
        assert app.screen.trace.correlation_id == "order-flow-a1b9e8f7"


@pytest.mark.kafka
async def test_on_a_cluster_an_unknown_id_suggests_evtui_trace(kafka_bootstrap):
    from tests.tui.helpers import kafka_app

    app = kafka_app(kafka_bootstrap)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("ctrl+t", *"no-such-id-here", "enter")
        await pilot.pause(0.1)
        notes = [str(n.message) for n in app._notifications]
        assert (
            "No kept event carries 'no-such-id-here'. To search the cluster: "
            "evtui trace no-such-id-here"
        ) in notes


async def test_on_a_recording_an_unknown_id_suggests_no_cluster_command(tmp_path):
    from tests.tui.test_open import demo_recording, file_app, finished

    path = tmp_path / "demo.jsonl"
    demo_recording(path, seconds=5.0)
    app = file_app(path)
    async with app.run_test(size=(160, 40)) as pilot:
        await finished(pilot, app)
        await pilot.press("ctrl+t", *"no-such-id-here", "enter")
        assert [str(n.message) for n in app._notifications] == [
            "No kept event carries 'no-such-id-here'."
        ]
