"""What the console lets go of stays let go: switching tabs and opening dialogs for long."""

from __future__ import annotations

import gc

from textual.widgets._footer import FooterKey

from evtui.tui.widgets.footer import Footer, drop_closed_watchers
from tests.tui.helpers import demo_app, settle


def alive(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is kind)


async def test_the_key_bar_keeps_only_the_keys_it_shows_however_often_it_is_rebuilt():
    """Textual's footer kept every key it ever showed (a watcher each): ~3,000 objects a tab."""
    app = demo_app(seconds=5, topics=["payments"])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        for _ in range(6):
            for key in "12345":
                await pilot.press(key)
                await pilot.pause(0.02)
        await pilot.pause(0.3)
        shown = len(app.query(FooterKey))
        assert shown > 0
        assert alive(FooterKey) == shown
        footer = app.query_one(Footer)
        assert drop_closed_watchers(footer) == 0  # nothing closed is still watching
        assert len(getattr(footer, "__watchers")["compact"]) <= shown  # the palette key has none


def test_dropping_watchers_leaves_the_open_ones_and_tolerates_a_node_without_any():
    class Node:
        def __init__(self, closing: bool = False, closed: bool = False) -> None:
            self._closing, self._closed = closing, closed

    open_, closing, closed = Node(), Node(closing=True), Node(closed=True)
    owner = Node()
    setattr(owner, "__watchers", {"compact": [(open_, 1), (closing, 2), (closed, 3)]})
    assert drop_closed_watchers(owner) == 2
    assert getattr(owner, "__watchers")["compact"] == [(open_, 1)]
    assert drop_closed_watchers(object()) == 0
