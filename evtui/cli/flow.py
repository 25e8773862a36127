"""``evtui flow``: who writes and reads which topic, and what feeds what."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evtui.application.connection import Connection
from evtui.cli.common import (
    load_plugins_for,
    open_topics,
    result_command,
    since_or_from,
    with_connection,
)
from evtui.cli.options import InternalOpt, ReadFromOpt, ReadUntilOpt

if TYPE_CHECKING:
    from evtui.core.lag import LagReport


@with_connection()
def flow(
    topics: Annotated[
        list[str] | None,
        typer.Argument(help="Topics to read (names or ^regex); default: all but internal."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", "-s", help="Read from this long ago: 15m, 2h, 1d [5m]."),
    ] = None,
    from_: ReadFromOpt = None,
    until: ReadUntilOpt = "end",
    format_: Annotated[
        str, typer.Option("--format", "-F", help="text, json, dot or mermaid.")
    ] = "text",
    no_groups: Annotated[
        bool, typer.Option("--no-groups", help="Do not read the consumer groups.")
    ] = False,
    declared: Annotated[
        list[Path] | None,
        typer.Option(
            "--declared",
            help="Compare with a declared flow: an AsyncAPI 2/3 document or an evtui YAML/TOML "
            "of services (repeatable; exit 1 on a difference).",
        ),
    ] = None,
    include_internal: InternalOpt = False,
    *,
    conn: Connection,
) -> None:
    """Who writes which topic, who reads it, what feeds what: the flow graph (exit 1: no event)."""
    result_command("flow")
    from evtui.commands.flow import FlowOptions, check_format, run_flow
    from evtui.core.positions import parse_end

    options = FlowOptions(check_format(format_), tuple(declared or ()))
    if options.declared:
        from evtui.core.flow_declared import load

        load(options.declared)  # a bad declaration is a usage error before connecting
    start = since_or_from(since, from_, "5m")
    end = parse_end(until, option="--until")
    load_plugins_for(conn)
    client = conn.client_config()
    source, where = open_topics(
        client, topics, start, end, timeout=conn.wait, include_internal=include_internal
    )

    def read_groups() -> LagReport:
        from evtui.sources.lag import LagPoller

        poller = LagPoller(client, timeout=conn.wait)
        try:
            return poller.poll_now()
        finally:
            poller.stop()

    run_flow(source, options, where, start, None if no_groups else read_groups)


def register(app: typer.Typer) -> None:
    app.command()(flow)
