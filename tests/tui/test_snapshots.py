"""Snapshots of every screen on the seeded simulator (pytest-textual-snapshot), at 80x24
(a narrow terminal: layouts by priority) and at 200x50.

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs before committing them. The replay dialog is not here: the demo
cannot be written to, so it offers no replay (tests/tui/test_replay_dialog.py covers it).
"""

from __future__ import annotations

import pytest

from evtui.tui.testing import after as _after
from evtui.tui.testing import demo_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((200, 50), id="200x50")]


@pytest.mark.parametrize("size", SIZES)
def test_tail_screen(snap_compare, size):
    app = demo_app(seconds=20)
    assert snap_compare(app, terminal_size=size, run_before=_after(app))


@pytest.mark.parametrize("size", SIZES)
def test_tail_browsing_with_a_filter(snap_compare, size):
    app = demo_app(seconds=20, filter_expression='topic == "payments"')
    assert snap_compare(app, terminal_size=size, run_before=_after(app, "k", "k", "k"))


@pytest.mark.parametrize("size", SIZES)
def test_overview_screen(snap_compare, size):
    app = demo_app(seconds=90)  # the stoppable group stopped at 45 s: its status says so
    assert snap_compare(app, terminal_size=size, run_before=_after(app, "1"))


@pytest.mark.parametrize("size", SIZES)
def test_event_detail_screen(snap_compare, size):
    app = demo_app(seconds=20)
    assert snap_compare(app, terminal_size=size, run_before=_after(app, "k", "enter"))


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, size):
    app = demo_app(seconds=20)
    assert snap_compare(app, terminal_size=size, run_before=_after(app, "question_mark"))


@pytest.mark.parametrize("size", SIZES)
def test_trace_screen(snap_compare, size):
    app = demo_app(seconds=20)
    assert snap_compare(app, terminal_size=size, run_before=_after(app, "k", "k", "k", "T"))


@pytest.mark.parametrize("size", SIZES)
def test_lag_screen(snap_compare, size):
    app = demo_app(seconds=90)  # the stoppable group stopped at 45 s: stopped by now
    assert snap_compare(app, terminal_size=size, run_before=_after(app, "3"))


@pytest.mark.parametrize("size", SIZES)
def test_violations_screen(snap_compare, size):
    app = demo_app(seconds=40)  # the findings of the first group, after Enter
    assert snap_compare(app, terminal_size=size, run_before=_after(app, "4", "j", "enter"))


@pytest.mark.parametrize("size", SIZES)
def test_flow_screen(snap_compare, size):
    app = demo_app(seconds=40)  # the cursor moved right to a group's lag
    assert snap_compare(app, terminal_size=size, run_before=_after(app, "5", "l", "l", "l", "l"))
