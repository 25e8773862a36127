"""The one-line status bar at the top: cluster, connection, rates, window."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from evtui.core.text import plural
from evtui.tui.spans import Piece, fitted

STATE_STYLES = {
    "connected": "bold green",
    "connecting": "bold yellow",
    "reconnecting": "bold yellow",
    "auth failed": "bold red",
    "cannot connect": "bold red",
    "failed": "bold red",
    "finished": "bold blue",
}


@dataclass
class HeaderState:
    cluster: str = "-"
    cluster_id: str | None = None
    brokers: int | None = None
    connection: str = "connecting"
    rate: float = 0.0
    kept: int = 0
    evicted: int = 0
    sampled_out: int = 0
    paused: bool = False
    violations: int = 0  # ordering violations of warning level found so far


def number(n: float) -> str:
    return f"{n:,.0f}"


def render_header(state: HeaderState, width: int | None = None) -> Text:
    """The header's pieces by priority: a narrow terminal drops the least important first;
    the state, the violations badge and a pause are always there."""
    style = STATE_STYLES.get(state.connection.split(":", 1)[0], "bold")
    pieces: list[tuple[int, Piece]] = [
        (0, Text(" evtui ", style="bold #1c1c1c on #5fafff")),
        (1, (state.cluster, "bold")),
        (4, (f"id {state.cluster_id}", "#8a8a8a") if state.cluster_id else None),
        (3, plural(state.brokers, "broker")
            if state.brokers is not None else None),
        (0, (f"● {state.connection}", style)),
        (2, f"{number(state.rate)} ev/s in"),
        (2, f"kept {number(state.kept)}"),
        (3, (f"evicted {number(state.evicted)}", "#8a8a8a" if not state.evicted else "")),
        (1, (f"sampling: {number(state.sampled_out)} dropped", "bold yellow")
            if state.sampled_out else None),
        (0, Text(f" ⚠ {plural(state.violations, 'violation', shown=number(state.violations))} ",
                 style="bold #ffffff on #af0000") if state.violations else None),
        (0, Text(" PAUSED ", style="bold #1c1c1c on #d7af00") if state.paused else None),
    ]  # fmt: skip
    return fitted(pieces, width if width is not None else 10_000)


class StatusHeader(Static):
    DEFAULT_CSS = """
    StatusHeader { height: 1; background: $panel; }
    """

    shown_state: HeaderState | None = None

    def show(self, state: HeaderState) -> None:
        self.shown_state = state
        # always one line, laid out for the width it has
        self.update(render_header(state, self.content_size.width or None), layout=False)

    def on_resize(self) -> None:
        if self.shown_state is not None:
            self.show(self.shown_state)
