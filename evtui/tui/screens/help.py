"""Every key binding, by where it works, plus the filter and seek syntax."""

from __future__ import annotations

from functools import lru_cache

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from evtui.core.filters import NAMES

FILTER_HELP = f"""\
Filter (e): a CEL expression over each event, as in `evtui tail --filter`.
  names: {", ".join(NAMES)}
  e.g. value.type == "OrderPlaced" && value.total > 100
       key.startsWith("c-")      "traceparent" in headers      correlation_id == "abc"
Search (/): plain text in the key, value, header values or topic; lowercase text ignores case.
Seek (s): beginning, end, N (offset), -N (last N per partition), s@<epoch ms>,
  an ISO time (2026-11-27T10:00:00Z) or a duration ago (15m, 2h).
Follow: the tail follows the newest event until you move up; End or G follows again."""


LAG_HELP = """\
Lag (3): offset lag = end - committed (none without a committed offset). Time lag is
  estimated from each partition's end offsets over time (est; extrap when older than what
  was seen); x reads the exact one: the age of the record at the committed offset.
  Health is judged over a window of samples (5 minutes; the past is rebuilt from the
  commit records in __consumer_offsets when the cluster lets evtui read them);
  a group's status is its worst partition's (the order below, best first). A group without
  members makes no progress: stopped with lag, idle without (unless it commits progress
  itself, as a consumer that assigns its partitions does). ETA: lag / (consume rate -
  produce rate); - when it does not catch up, makes no progress, or a lag is unknown.
  TREND: the total lag at each poll, scaled to the number after it; · = lag unknown.
  A narrow terminal hides MEMBERS, then STATE, then TREND (said below the tables)."""


VIOLATIONS_HELP = """\
Violations (4): every ordering check over the events the tail reads (as `evtui check`):
  sequence_regression / _duplicate / _gap (per key, from seq, sequence or version),
  event_time_regression (beyond 1 s), causal_inversion (an effect produced before its
  cause), duplicate_event (one id at two offsets), orphan (a cause never seen in 60 s),
  offset_gap (info). Events the tail drops or skips are not checked (counted): the
  checks start again after each hole, so a hole is never a gap."""


def lag_rules_table() -> Table:
    from evtui.core.lag import RULES

    table = Table(show_edge=False, box=None, padding=(0, 2), header_style="bold")
    table.add_column("STATUS", style="bold", no_wrap=True)
    table.add_column("WHEN")
    for name, rule in RULES:
        table.add_row(name, rule)
    return table


def key_label(keys: str) -> str:
    return ", ".join(k.replace("slash", "/").replace("question_mark", "?") for k in keys.split(","))


Rows = tuple[tuple[str, str, str], ...]


def binding_rows(sections: list[tuple[str, list[BindingType]]]) -> Rows:
    """(where, keys, action) for each binding; where only on a section's first row."""
    rows = []
    for where, bindings in sections:
        for binding in bindings:
            if isinstance(binding, Binding):
                keys, description = binding.key, binding.description
            else:
                keys, description = binding[0], binding[2] if len(binding) > 2 else binding[1]
            rows.append((where, key_label(keys), description))
            where = ""
    return tuple(rows)


def bindings_table(rows: Rows) -> Table:
    table = Table(show_edge=False, box=None, padding=(0, 2), header_style="bold")
    table.add_column("WHERE", style="bold cyan", no_wrap=True)
    table.add_column("KEYS", style="bold", no_wrap=True)
    table.add_column("ACTION")
    for row in rows:
        table.add_row(*row)
    return table


class Rendered:
    """A Rich renderable rendered once per width and options, then replayed.

    The help is the same every time it opens, and Rich's tables take ~20 ms to render it;
    Textual renders a Static's content more than once to lay it out (bench/soak: opening
    the help was a 100-130 ms stall of the console's loop).
    """

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._key: tuple[object, ...] | None = None
        self._lines: list[list[Segment]] = []
        self._measured: dict[tuple[int, int], Measurement] = {}

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        key = (options.max_width, options.min_width)  # measuring the tables is half the cost
        measured = self._measured.get(key)
        if measured is None:
            measured = self._measured[key] = Measurement.get(console, options, self.renderable)
        return measured

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        key = (options.max_width, options.min_width, options.height, options.justify,
               options.overflow, options.no_wrap, options.highlight, options.markup)  # fmt: skip
        if key != self._key:
            self._lines = console.render_lines(self.renderable, options, pad=False)
            self._key = key
        newline = Segment.line()
        for line in self._lines:
            yield from line
            yield newline


@lru_cache(maxsize=4)
def help_content(rows: Rows) -> Rendered:
    """What the help screen shows for these bindings (rendered once per width)."""
    return Rendered(
        Group(
            Text("evtui keys (Escape closes)", style="bold underline"),
            bindings_table(rows),
            Text(""),
            Text(FILTER_HELP),
            Text(""),
            Text(LAG_HELP),
            lag_rules_table(),
            Text(""),
            Text(VIOLATIONS_HELP),
        )
    )


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]
    # Opaque: a translucent modal re-renders the whole console beneath it, dimmed,
    # every time the tail below changes (bench/soak: 150-220 ms stalls while it was open).
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll {
        width: 90%; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_content(binding_rows(self.sections)))
