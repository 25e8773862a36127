"""The one-line status bar at the top: cluster, connection, rates, window."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

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


def render_header(state: HeaderState) -> Text:
    text = Text()
    text.append(" evtui ", style="bold #1c1c1c on #5fafff")
    text.append(f" {state.cluster}", style="bold")
    if state.cluster_id:
        text.append(f"  id {state.cluster_id}", style="#8a8a8a")
    if state.brokers is not None:
        text.append(f"  {state.brokers} broker{'s' if state.brokers != 1 else ''}")
    style = STATE_STYLES.get(state.connection.split(":", 1)[0], "bold")
    text.append("  ● ", style=style)
    text.append(state.connection, style=style)
    text.append(f"  {number(state.rate)} ev/s in")
    text.append(f"  kept {number(state.kept)}")
    text.append(f"  evicted {number(state.evicted)}", style="#8a8a8a" if not state.evicted else "")
    if state.sampled_out:
        text.append(f"  sampling: {number(state.sampled_out)} dropped", style="bold yellow")
    if state.violations:
        plural = "s" if state.violations != 1 else ""
        text.append(
            f"  ⚠ {number(state.violations)} violation{plural}", style="bold #ffffff on #af0000"
        )
    if state.paused:
        text.append("  PAUSED", style="bold #1c1c1c on #d7af00")
    return text


class StatusHeader(Static):
    DEFAULT_CSS = """
    StatusHeader { height: 1; background: $panel; }
    """

    def show(self, state: HeaderState) -> None:
        self.update(render_header(state), layout=False)  # always one line
