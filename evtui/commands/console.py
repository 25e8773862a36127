"""``evtui`` and ``evtui demo`` in a terminal: the Textual console."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from evtui.core.filters import Filter
from evtui.core.flow_declared import Declared, load
from evtui.core.positions import Position, parse_position
from evtui.errors import UsageError

DEFAULT_WINDOW = 200_000
MAX_WINDOW = 20_000_000


@dataclass
class ConsoleOptions:
    topics: list[str] = field(default_factory=list)
    start: Position = field(default_factory=lambda: parse_position("-100"))
    window: int = DEFAULT_WINDOW
    filter: str | None = None
    declared: Declared | None = None  # a declared flow the flow tab compares with


def parse_console_options(
    topics: list[str] | None,
    start: str | None,
    window: int | None,
    filter_: str | None,
    declared: list[Path] | None = None,
) -> ConsoleOptions:
    if window is not None and not 1_000 <= window <= MAX_WINDOW:
        raise UsageError(f"invalid --window {window}: expected 1000 to {MAX_WINDOW:,} events")
    if filter_:
        Filter(filter_)  # an invalid expression is a usage error before the screen opens
    options = ConsoleOptions(
        topics=[t for item in topics or [] for t in item.split(",") if t.strip()],
        window=window or DEFAULT_WINDOW,
        filter=filter_,
        declared=load_declared(declared),
    )
    if start is not None:
        options.start = parse_position(start)
    return options


def load_declared(paths: list[Path] | None) -> Declared | None:
    """The declared flow (a bad file is a usage error before the screen opens)."""
    return load(paths) if paths else None


def require_terminal() -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "the console needs a terminal; for scripts use a subcommand "
            "such as 'evtui tail' (see evtui --help)"
        )


def run_console(backend: object, options: ConsoleOptions) -> None:
    """The console until it ends; the terminal is given back however the process ends."""
    from evtui.commands.terminal_guard import guard_terminal

    with guard_terminal():
        _run_app(backend, options)


def _run_app(backend: object, options: ConsoleOptions) -> None:
    from evtui.tui.app import EvtuiApp

    app = EvtuiApp(
        backend,  # type: ignore[arg-type]
        topics=options.topics,
        start=options.start,
        capacity=options.window,
        filter_expression=options.filter,
        declared=options.declared,
    )
    try:
        app.run()
    finally:
        backend.close()  # type: ignore[attr-defined]
