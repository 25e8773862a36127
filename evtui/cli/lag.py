"""``evtui lag``: consumer lag per group and partition, with health and exit thresholds."""

from __future__ import annotations

from typing import Annotated

import typer

from evtui.application.connection import Connection
from evtui.cli.common import duration_s, with_connection


@with_connection(registry=False)
def lag(
    group: Annotated[
        str | None,
        typer.Option("--group", "-g", help="A group name, or a regex (searched) of names."),
    ] = None,
    format_: Annotated[
        str, typer.Option("--format", "-F", help="table or json.", show_default=True)
    ] = "table",
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="A report per poll until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.5, help="Seconds between polls (--watch).")
    ] = 5.0,
    window: Annotated[
        str, typer.Option("--window", help="How far back health is judged (e.g. 5m).")
    ] = "5m",
    fail_on_lag: Annotated[
        int | None,
        typer.Option("--fail-on-lag", min=0, help="Exit 2 when a group's lag is above N."),
    ] = None,
    fail_on_time: Annotated[
        str | None,
        typer.Option("--fail-on-time", help="Exit 2 when a group's time lag is above this."),
    ] = None,
    exact: Annotated[
        bool,
        typer.Option("--exact", help="Time lag from the record at each committed offset."),
    ] = False,
    *,
    conn: Connection,
) -> None:
    """Consumer lag per group and partition, in offsets and seconds, with health."""
    from evtui.commands.lag import LagOptions, check_format, run_lag

    options = LagOptions(
        groups=group,
        format=check_format(format_),
        watch=watch,
        interval_s=interval,
        window_s=duration_s(window, "--window"),
        fail_on_lag=fail_on_lag,
        fail_on_time_s=None if fail_on_time is None else duration_s(fail_on_time, "--fail-on-time"),
        exact=exact,
    )
    options.timeout_s = conn.wait
    run_lag(conn.client_config(), options)


def register(app: typer.Typer) -> None:
    app.command()(lag)
