"""``evtui trace``: one transaction's events across topics, as a causal graph."""

from __future__ import annotations

from typing import Annotated

import typer

from evtui.application.connection import Connection
from evtui.cli.common import (
    load_plugins_for,
    open_topics,
    result_command,
    since_or_from,
    with_connection,
)
from evtui.cli.options import InternalOpt


@with_connection()
def trace(
    wanted: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="A correlation id (or trace id, in any form, or event id), or its first 8+ "
            "characters.",
        ),
    ],
    topics: Annotated[
        list[str] | None,
        typer.Argument(help="Topics to search (names or ^regex); default: all but internal."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", "-s", help="Search from this long ago: 15m, 2h, 1d [1h]."),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", "-o", help="Search from a position instead: beginning, N, -N, ISO time."
        ),
    ] = None,
    until: Annotated[
        str,
        typer.Option("--until", "-u", help="Search up to: end (when the search starts), a time."),
    ] = "end",
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            "-F",
            help="tree, json, dot, mermaid, or a format a plugin adds (evtui plugins lists them).",
        ),
    ] = "tree",
    max_scan: Annotated[
        int | None, typer.Option("--max-scan", min=1, help="Stop after scanning N events.")
    ] = None,
    max_events: Annotated[
        int, typer.Option("--max-events", min=1, help="Keep at most N events of the trace.")
    ] = 100_000,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Scan in N processes (default: one per core from 200,000 records on).",
        ),
    ] = None,
    include_internal: InternalOpt = False,
    *,
    conn: Connection,
) -> None:
    """Find a transaction's events across topics and print its causal graph (exit 1: none)."""
    result_command("trace")
    from evtui.commands.trace import TraceOptions, check_format, check_id, run_trace
    from evtui.core.positions import parse_end

    wanted = check_id(wanted)
    start = since_or_from(since, from_, "1h")
    end = parse_end(until, option="--until")
    load_plugins_for(conn)  # before checking --format: plugins add formats
    options = TraceOptions(wanted, check_format(format_), max_scan, max_events, jobs)
    source, where = open_topics(
        conn.client_config(), topics, start, end, timeout=conn.wait,
        include_internal=include_internal,
    )  # fmt: skip
    run_trace(source, options, where, start)


def register(app: typer.Typer) -> None:
    app.command()(trace)
