"""A status line that lays the screen out again only when its height changes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class StatusLine(Static):
    """A ``Static`` of ``height: auto`` updated on timers: a new text of as many lines as the
    last one is repainted in place. Laying out the whole screen (every tab's widgets, tens
    of milliseconds) for each update would hold up the keys typed meanwhile."""

    def __init__(self, content: str | Text = "", *, id: str | None = None) -> None:
        super().__init__(content, id=id, markup=False)  # what it shows quotes data
        self._lines: tuple[int, int] | None = None  # (width, lines) of the last text

    def show(self, content: str | Text) -> None:
        width = self.content_size.width
        if width <= 0:  # not laid out yet: the layout that sizes it reads this text then
            self.update(content, layout=False)
            self._lines = None
            return
        text = content if isinstance(content, Text) else Text(content)
        lines = (width, len(text.wrap(self.app.console, width)))
        self.update(content, layout=lines != self._lines)
        self._lines = lines
