"""The ``evtui`` command line: a typer app whose commands parse and check their options,
connect, and hand over to ``evtui.commands`` (which does the work).

- ``root``: the app, its root options, and the console when no command is given.
- ``options``: options several commands share; ``common``: helpers they share
  (``with_connection`` gives a command the connection options and their ``Connection``).
- one module per command (or group of commands), each with ``register(app)``: a new
  command goes in a module of its own, registered in the list below.
- ``plugins``: ``evtui plugins`` and the plugins' own commands.
- ``runner``: ``main``, the process around the app (error lines, exit codes).

Start-up stays light (``evtui --help`` imports neither textual nor confluent_kafka nor
networkx): a command imports what it runs inside its function.
"""

from __future__ import annotations

from evtui.cli import (
    check,
    demo,
    flow,
    lag,
    plugins,
    record,
    replay,
    schemas,
    tail,
    trace,
)
from evtui.cli.plugins import add_plugin_commands
from evtui.cli.root import app
from evtui.cli.runner import main

__all__ = ["app", "main"]

# in the order ``evtui --help`` lists them
for _module in (tail, trace, check, flow, schemas, record, replay, lag, demo, plugins):
    _module.register(app)


def _add_plugin_commands() -> None:
    """The installed plugins' commands (tests add fake ones again)."""
    add_plugin_commands(app)


_add_plugin_commands()
