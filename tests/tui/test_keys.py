"""Keys do what the footer and the help say, and only where they can work."""

from __future__ import annotations

from collections import Counter

import pytest
from textual.geometry import Region
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from evtui.tui.screens.help import HelpScreen
from evtui.tui.widgets.lagpane import LagPane
from tests.tui.helpers import demo_app, kafka_app, settle, wait_for


def footer_keys(app) -> dict[str, str]:
    """What the footer offers: key -> description."""
    return {k.key: k.description for k in app.screen.query(FooterKey)}


async def test_ctrl_c_quits_like_any_terminal_tool():
    app = demo_app(seconds=5)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+c")
        assert await wait_for(pilot, lambda: not app.is_running)


async def test_ctrl_c_in_an_input_without_a_selection_quits_too():
    app = demo_app(seconds=5)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", "x")  # the tail's search box has the focus
        await pilot.press("ctrl+c")
        assert await wait_for(pilot, lambda: not app.is_running)


async def test_help_lists_each_key_once_per_place():
    app = demo_app(seconds=5)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        for where, bindings in app.binding_sections():
            keys = Counter(key for b in bindings for key in b.key.split(","))
            assert [k for k, n in keys.items() if n > 1] == [], where
        everywhere = dict(app.binding_sections())["everywhere"]
        assert {"ctrl+p", "ctrl+c", "q"} <= {b.key for b in everywhere}
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)


async def test_the_help_is_composed_once_and_opens_again_where_it_was():
    app = demo_app(seconds=5)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        first = app.screen
        assert isinstance(first, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert app.screen is first  # not composed and laid out again (an 85 ms stall)
        lines = app.screen.query_one(Static).render_lines(Region(0, 0, 120, 3))
        assert "evtui keys" in lines[0].text
        await pilot.press("q")
        assert not isinstance(app.screen, HelpScreen)


def test_rendered_content_is_rendered_once_per_width():
    from rich.console import Console
    from rich.segment import Segment

    from evtui.tui.screens.help import Rendered

    class Counted:
        calls = 0

        def __rich_console__(self, console, options):
            Counted.calls += 1
            yield Segment("x" * options.max_width)

    content, console = Rendered(Counted()), Console(width=80)
    first = console.render_lines(content, console.options.update_width(30))
    assert console.render_lines(content, console.options.update_width(30)) == first
    assert Counted.calls == 1
    assert console.render_lines(content, console.options.update_width(40))[0][0].text == "x" * 40
    assert Counted.calls == 2


def test_rendered_content_is_measured_once_per_width():
    from rich.console import Console
    from rich.measure import Measurement

    from evtui.tui.screens.help import Rendered

    class Counted:
        calls = 0

        def __rich_measure__(self, console, options):
            Counted.calls += 1
            return Measurement(3, min(options.max_width, 50))

        def __rich_console__(self, console, options):
            yield "x"

    content, console = Rendered(Counted()), Console(width=80)
    options = console.options.update_width(30)
    assert Measurement.get(console, options, content) == Measurement(3, 30)
    assert Measurement.get(console, options, content) == Measurement(3, 30)
    assert Counted.calls == 1
    assert Measurement.get(console, console.options.update_width(70), content).maximum == 50
    assert Counted.calls == 2


async def test_the_overview_footer_offers_enter():
    app = demo_app(seconds=5, topics=[])
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot, app)
        assert app.query_one("#topics").has_focus
        assert footer_keys(app).get("enter") == "Tail"
        await pilot.press("tab")  # the groups
        assert app.query_one("#groups").has_focus
        assert footer_keys(app).get("enter") == "Lag"


async def test_enter_on_a_consumer_group_opens_its_lag():
    app = demo_app(seconds=30, topics=[])
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot, app)
        groups = app.query_one("#groups")
        groups.focus()
        assert await wait_for(pilot, lambda: groups.row_count >= 2)
        await pilot.press("j")
        wanted = str(groups.coordinate_to_cell_key(groups.cursor_coordinate).row_key.value)
        await pilot.press("enter")
        pane = app.query_one(LagPane)
        assert await wait_for(pilot, lambda: pane.selected_group == wanted, timeout=20)
        assert app.query_one("TabbedContent").active == "lag"
        assert app.query_one("#lag-groups").has_focus
        table = app.query_one("#lag-groups")
        cursor = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        assert cursor == wanted


async def test_replay_and_exact_lag_are_not_offered_where_they_cannot_work():
    app = demo_app(seconds=5, topics=["payments"])
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot, app)
        assert "R" not in footer_keys(app) and "m" not in footer_keys(app)
        assert "R" not in app.screen.active_bindings
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Replay…" not in titles and "Mark a range" not in titles
        await pilot.press("3")
        assert await wait_for(pilot, lambda: app.query_one(LagPane).report is not None)
        assert "x" not in footer_keys(app)
        assert "x" not in app.screen.active_bindings


@pytest.mark.kafka
async def test_replay_and_exact_lag_are_offered_on_a_cluster(kafka_bootstrap, new_topic, produce):
    topic = new_topic(1)
    produce(topic, [{"key": "k", "value": "v", "partition": 0}])
    app = kafka_app(kafka_bootstrap, topics=[topic])
    async with app.run_test(size=(200, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.tail.feed is not None)
        await pilot.pause(0.2)
        assert footer_keys(app).get("R") == "Replay…"
        await pilot.press("3")
        await pilot.pause(0.2)
        assert footer_keys(app).get("x") == "Exact time lag"
