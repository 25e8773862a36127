"""``evtui tail``: print the events of topics, as text or JSON, live or in a range."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from evtui.application.connection import Connection
from evtui.cli.common import check_text_or_json, load_plugins_for, with_connection
from evtui.cli.options import InternalOpt


@with_connection()
def tail(
    topics: Annotated[
        list[str],
        typer.Argument(help="Topics to read; a name starting with ^ is a regular expression."),
    ],
    from_: Annotated[
        str,
        typer.Option(
            "--from",
            "-o",
            help="Start: beginning, end, N, -N (last N), s@<ms>, ISO time, or duration ago (15m).",
        ),
    ] = "end",
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            "-u",
            help="Stop at: end (the end when the command starts), N (last offset), e@<ms>, "
            "ISO time, or a duration ago.",
        ),
    ] = None,
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter", "-f", help="A CEL expression, e.g. 'value.type == \"OrderPlaced\"'."
        ),
    ] = None,
    format_: Annotated[str, typer.Option("--format", "-F", help="text or json.")] = "text",
    raw: Annotated[
        bool,
        typer.Option(
            "--raw", help="json: key, value and header values as base64 of the exact bytes."
        ),
    ] = False,
    headers: Annotated[bool, typer.Option("--headers", "-H", help="text: show headers.")] = False,
    max_events: Annotated[
        int | None, typer.Option("--max-events", "-n", min=1, help="Stop after N events.")
    ] = None,
    refresh_interval: Annotated[
        float,
        typer.Option(
            "--refresh-interval",
            min=0.1,
            help="Seconds between looks for new partitions and matching topics.",
        ),
    ] = 5.0,
    include_internal: InternalOpt = False,
    *,
    conn: Connection,
) -> None:
    """Print events from TOPICS to stdout (read-only: no consumer group is joined).

    A bounded range that holds nothing (--from past the end, or no record before --until)
    says so in one line on stderr and exits 0; an --until before --from exits 2.
    """
    from evtui.commands.tail import TailOptions, check_range, range_note, run_tail
    from evtui.core.filters import Filter
    from evtui.core.positions import parse_end, parse_position
    from evtui.sources.kafka import KafkaSource

    check_text_or_json(format_)
    start = parse_position(from_, option="--from")
    end = parse_end(until, option="--until") if until is not None else None
    check_range(start, end)
    flt = Filter(filter_) if filter_ is not None else None
    load_plugins_for(conn)
    source = KafkaSource(
        conn.client_config(),
        topics,
        start,
        end,
        timeout=conn.wait,
        refresh_interval=refresh_interval,
        include_internal=include_internal,
    )
    source.open()
    note = range_note(start, end, list(source.plans.values()))
    if note is not None:
        print(f"evtui: {note}", file=sys.stderr, flush=True)
    options = TailOptions(
        format=format_, raw=raw, headers=headers, max_events=max_events, filter=flt
    )
    run_tail(source, options)


def register(app: typer.Typer) -> None:
    app.command()(tail)
