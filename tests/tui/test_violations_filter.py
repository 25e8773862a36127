"""The violations filter says what it hides: never "No violation found." beside ⚠ N."""

from __future__ import annotations

from evtui.core.ordering import WARNING, Finding
from evtui.tui.widgets.violations import MAX_GROUP_ROWS, ViolationsPane
from tests.tui.helpers import demo_app, settle, wait_for


def detail(app) -> str:
    return str(app.query_one("#violations-detail").render())


async def test_a_filter_that_hides_every_violation_says_so():
    app = demo_app(seconds=40)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        board = app.violations.board
        groups, findings = len(board.groups), sum(g.count for g in board.groups.values())
        assert groups >= 2
        await pilot.press("4")
        pane = app.query_one(ViolationsPane)
        assert await wait_for(pilot, lambda: len(pane._shown_groups) == groups)
        await pilot.press("slash", *"nosuchthing")
        assert await wait_for(pilot, lambda: not pane._shown_groups)
        assert detail(app) == (
            f"No violation matches the filter 'nosuchthing': it hides {groups:,} groups of "
            f"{findings:,} findings (clear it with / to see them)."
        )


async def test_with_nothing_found_it_says_nothing_was_found():
    app = demo_app(seconds=5, topics=["payments"])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        app.violations.board.groups.clear()  # a clean stream
        app.violations.board.version += 1
        await pilot.press("4")
        await pilot.pause(0.3)
        assert detail(app) == "No violation found."


async def test_a_board_of_thousands_shows_the_first_groups_and_the_filter_reaches_the_rest():
    app = demo_app(seconds=5, topics=["payments"])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        board = app.violations.board
        board.groups.clear()
        total = MAX_GROUP_ROWS + 700
        board.add(
            [
                Finding("sequence_gap", WARNING, "t", 0, i, f"key-{i:04}", (f"t/0/{i}",),
                        "x", "y", "z")
                for i in range(total)
            ],
            at_ms=1,
        )  # fmt: skip
        await pilot.press("4")
        pane = app.query_one(ViolationsPane)
        table = app.query_one("#violations-groups")
        assert await wait_for(pilot, lambda: table.row_count == MAX_GROUP_ROWS)
        status = str(app.query_one("#violations-status").render())
        assert f"showing the first {MAX_GROUP_ROWS} of {total:,} groups" in status
        await pilot.press("slash", *f"key-{total - 1:04}")  # the last one (sorted by key)
        assert await wait_for(pilot, lambda: pane._shown_groups and table.row_count == 1)
        assert "showing the first" not in str(app.query_one("#violations-status").render())
