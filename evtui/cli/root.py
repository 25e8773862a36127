"""The ``evtui`` app and its root options; without a command, the console on a cluster.

The root options (connection, ``--verbose``, the console's) are kept in ``ctx.obj`` as a
``Connection`` that each command merges with its own connection options.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from evtui import __version__
from evtui.application.connection import Connection
from evtui.cli.common import load_plugins_for, with_connection
from evtui.cli.options import DeclaredOpt, FilterOpt, FromOpt, TopicsOpt, WindowOpt
from evtui.errors import UsageError

app = typer.Typer(
    name="evtui",
    help="A terminal console for watching and debugging event-driven systems on Kafka.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evtui {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
@with_connection()
def root(
    ctx: typer.Context,
    conn: Connection,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log client activity to stderr.")
    ] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
    topic: TopicsOpt = None,
    from_: FromOpt = None,
    window: WindowOpt = None,
    filter_: FilterOpt = None,
    declared: DeclaredOpt = None,
) -> None:
    """Watch and debug event-driven systems on Kafka.

    Without a command, opens the console on the cluster: evtui -b HOST:PORT [-t TOPIC].
    """
    ctx.obj = conn
    if verbose:
        _enable_client_logging()
    if ctx.invoked_subcommand is None:
        _console(ctx.obj, topic, from_, window, filter_, declared)


def _console(
    conn: Connection,
    topics: list[str] | None,
    start: str | None,
    window: int | None,
    filter_: str | None,
    declared: list[Path] | None = None,
) -> None:
    from evtui.application.backends import KafkaBackend
    from evtui.commands.console import parse_console_options, require_terminal, run_console

    if not (conn.bootstrap or conn.cluster or conn.x_options):
        raise UsageError(
            "no cluster given: use --bootstrap-servers HOST:PORT or --cluster NAME "
            "(or try 'evtui demo')"
        )
    options = parse_console_options(topics, start, window, filter_, declared)
    config = conn.client_config()
    require_terminal()
    load_plugins_for(conn)
    run_console(KafkaBackend(config, timeout=conn.wait), options)


def _enable_client_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("evtui: %(name)s: %(message)s"))
    logger = logging.getLogger("evtui")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
