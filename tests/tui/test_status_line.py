"""StatusLine: repainted in place while its height stays, laid out when it changes."""

from __future__ import annotations

from textual.app import App, ComposeResult

from evtui.tui.widgets.status import StatusLine


class One(App):
    def compose(self) -> ComposeResult:
        yield StatusLine("first", id="status")


async def test_a_status_line_grows_and_shrinks_with_its_text():
    app = One()
    async with app.run_test(size=(40, 10)) as pilot:
        status = app.query_one(StatusLine)
        await pilot.pause()
        assert status.size.height == 1
        status.show("two words\nand a second line\nand a third")
        await pilot.pause()
        assert status.size.height == 3
        assert "a third" in str(status.render())
        status.show("x " * 30)  # one text wrapped to two lines at 40 columns
        await pilot.pause()
        assert status.size.height == 2
        status.show("short again")
        await pilot.pause()
        assert status.size.height == 1 and str(status.render()) == "short again"
