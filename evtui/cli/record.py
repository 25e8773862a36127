"""Recordings: ``evtui record`` writes a slice of topics to a file, ``evtui open`` opens
one in the console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evtui.application.connection import Connection
from evtui.cli.common import load_plugins_for, with_connection
from evtui.cli.options import (
    ConfigOpt,
    InternalOpt,
    SchemaRegistryOpt,
    SliceFromOpt,
    SliceUntilOpt,
)


@with_connection()
def record(
    topics: Annotated[list[str], typer.Argument(help="Topics (names or ^regex).")],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="The file to write (JSON Lines; gzip when it ends in .gz)."
        ),
    ],
    from_: SliceFromOpt = "beginning",
    until: SliceUntilOpt = "end",
    filter_: Annotated[
        str | None, typer.Option("--filter", "-f", help="Record only what this CEL filter keeps.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    include_internal: InternalOpt = False,
    *,
    conn: Connection,
) -> None:
    """Record a slice of topics to a file: keys, values, headers, timestamps and offsets."""
    from evtui.commands.record import RecordOptions, run_record
    from evtui.core.filters import Filter
    from evtui.core.positions import parse_end, parse_position
    from evtui.core.recording import check_output
    from evtui.sources.kafka import KafkaSource

    options = RecordOptions(
        output, parse_position(from_, option="--from"), parse_end(until, option="--until"),
        filter_, force,
    )  # fmt: skip
    if filter_:
        Filter(filter_)  # an invalid expression is a usage error before connecting
    check_output(output, force)
    load_plugins_for(conn)
    source = KafkaSource(
        conn.client_config(), topics, options.start, options.until, timeout=conn.wait,
        include_internal=include_internal,
    )  # fmt: skip
    source.open()
    run_record(source, options)


def open_(
    file: Annotated[str, typer.Argument(metavar="FILE", help="A file made by evtui record.")],
    topic: Annotated[
        list[str] | None,
        typer.Option("--topic", "-t", help="Topics to tail (names or ^regex; default: all)."),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Where the tail starts (beginning, N, -N, a time)."),
    ] = None,
    window: Annotated[
        int | None, typer.Option("--window", help="Events kept (default: all, up to 1,000,000).")
    ] = None,
    filter_: Annotated[
        str | None, typer.Option("--filter", help="A CEL filter applied to the tail.")
    ] = None,
    config: ConfigOpt = None,
    schema_registry: SchemaRegistryOpt = None,
) -> None:
    """Open the console on a recording: tail, detail, traces and violations, offline."""
    from evtui.commands.record import run_open

    load_plugins_for(Connection(config=config, schema_registry=schema_registry))
    run_open(file, topic, from_, window, filter_)


def register(app: typer.Typer) -> None:
    app.command()(record)
    app.command("open")(open_)
