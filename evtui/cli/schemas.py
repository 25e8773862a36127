"""``evtui schemas``: which registry schemas each topic was written with."""

from __future__ import annotations

from typing import Annotated

import typer

from evtui.application.connection import Connection
from evtui.cli.common import load_plugins_for, open_topics, since_or_from, with_connection
from evtui.cli.options import InternalOpt, ReadFromOpt, ReadUntilOpt


@with_connection()
def schemas(
    topics: Annotated[list[str], typer.Argument(help="Topics to read (names or ^regex).")],
    since: Annotated[
        str | None,
        typer.Option("--since", "-s", help="Read from this long ago: 15m, 2h, 1d [1h]."),
    ] = None,
    from_: ReadFromOpt = None,
    until: ReadUntilOpt = "end",
    format_: Annotated[str, typer.Option("--format", "-F", help="text or json.")] = "text",
    include_internal: InternalOpt = False,
    *,
    conn: Connection,
) -> None:
    """Which registry schemas (subject, version, id) each topic was written with, when, by whom."""
    from evtui.commands.schemas import check_format, run_schemas
    from evtui.core.positions import parse_end

    fmt = check_format(format_)
    start = since_or_from(since, from_, "1h")
    end = parse_end(until, option="--until")
    load_plugins_for(conn)
    from evtui.plugins import active_registry

    source, where = open_topics(
        conn.client_config(), topics, start, end, timeout=conn.wait,
        include_internal=include_internal,
    )  # fmt: skip
    run_schemas(source, fmt, where, start, active_registry().reads_registry())


def register(app: typer.Typer) -> None:
    app.command()(schemas)
