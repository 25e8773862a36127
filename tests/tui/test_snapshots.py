"""Snapshots of every screen on the seeded simulator (pytest-textual-snapshot).

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

from evtui.tui.testing import after as _after
from evtui.tui.testing import demo_app

SIZE = (160, 40)


def test_tail_screen(snap_compare):
    app = demo_app(seconds=20)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after(app))


def test_tail_browsing_with_a_filter(snap_compare):
    app = demo_app(seconds=20, filter_expression='topic == "payments"')
    assert snap_compare(app, terminal_size=SIZE, run_before=_after(app, "k", "k", "k"))


def test_overview_screen(snap_compare):
    app = demo_app(seconds=20)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after(app, "1"))


def test_event_detail_screen(snap_compare):
    app = demo_app(seconds=20)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after(app, "k", "enter"))


def test_help_screen(snap_compare):
    app = demo_app(seconds=20)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after(app, "question_mark"))


def test_trace_screen(snap_compare):
    app = demo_app(seconds=20)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after(app, "k", "k", "k", "T"))


def test_lag_screen(snap_compare):
    app = demo_app(seconds=90)  # the stoppable group stopped at 45 s: stopped by now
    assert snap_compare(app, terminal_size=SIZE, run_before=_after(app, "3"))


def test_violations_screen(snap_compare):
    app = demo_app(seconds=40)
    assert snap_compare(app, terminal_size=SIZE, run_before=_after(app, "4", "j", "enter"))
