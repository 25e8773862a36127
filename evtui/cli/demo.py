"""``evtui demo``: the simulated shop, in the console or printed, in-process or on a cluster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from evtui.application.connection import Connection
from evtui.cli.common import check_text_or_json, load_plugins_for, with_connection
from evtui.cli.options import DeclaredOpt
from evtui.errors import UsageError


@with_connection()
def demo(
    headless: Annotated[
        bool,
        typer.Option(
            "--headless", help="Only generate traffic on the cluster (for load and tests)."
        ),
    ] = False,
    rate: Annotated[float, typer.Option("--rate", help="Events per second.")] = 50.0,
    duration: Annotated[
        str | None,
        typer.Option("--duration", "-d", help="How long to run (20s, 5m); default: until Ctrl-C."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same flows.")] = 0,
    declared: DeclaredOpt = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            help="Namespace of this run's ids and keys (default: a fresh one per run on a "
            "cluster, none in-process; '' for none).",
        ),
    ] = None,
    partitions: Annotated[
        int, typer.Option("--partitions", min=1, max=1000, help="Partitions per topic.")
    ] = 3,
    topic_prefix: Annotated[
        str, typer.Option("--topic-prefix", help="Prefix for the demo's topic names.")
    ] = "",
    group_prefix: Annotated[
        str,
        typer.Option("--group-prefix", help="Prefix for the consumer groups' names on a cluster."),
    ] = "",
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            help="KIND=NAME renames one topic, e.g. orders=shop.orders "
            "(kinds: orders, payments, inventory, shipments, "
            "notifications).",
        ),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="KIND=RATE for out_of_order, duplicate, orphan, cause_after_effect, "
            "time_backwards (repeatable).",
        ),
    ] = None,
    no_faults: Annotated[bool, typer.Option("--no-faults", help="Inject no faults.")] = False,
    stop_group_after: Annotated[
        str | None,
        typer.Option(
            "--stop-group-after",
            help="When notification-service stops consuming (default: half the duration, or 60s).",
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth", help="Write the ground truth (flows, injected faults) as JSON here."
        ),
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option("--format", "-F", help="Print events as text or json instead of the console."),
    ] = None,
    no_tui: Annotated[
        bool,
        typer.Option(
            "--no-tui", help="Print events instead of opening the console (always when piped)."
        ),
    ] = False,
    *,
    conn: Connection,
) -> None:
    """A simulated event-driven shop, in the console (in-process, or produced to a cluster)."""
    from evtui.commands.demo import (
        DemoOptions,
        check_truth_path,
        console_in_process,
        console_on_cluster,
        parse_duration_s,
        parse_faults,
        parse_rate,
        parse_run_id,
        run_in_process,
        run_on_cluster,
        topic_names,
    )
    from evtui.commands.tail import TailOptions

    console = not (headless or no_tui or format_) and sys.stdin.isatty() and sys.stdout.isatty()
    format_ = format_ or "text"
    check_text_or_json(format_)
    options = DemoOptions(
        seed=seed,
        rate=parse_rate(rate),
        duration_s=parse_duration_s(duration, "--duration") if duration else None,
        partitions=partitions,
        topics=topic_names(topic_prefix, list(topic or [])),
        faults=parse_faults(list(fault or []), no_faults),
        truth=truth,
        keep_truth=truth is not None,  # else counts only: memory stays flat however long it runs
        headless=headless,
        stop_group_after_s=(
            parse_duration_s(stop_group_after, "--stop-group-after") if stop_group_after else None
        ),
        group_prefix=group_prefix,
        run_id=None if run_id is None else parse_run_id(run_id),
        declared=tuple(declared or ()),
    )
    check_truth_path(truth)
    if declared:
        from evtui.commands.console import load_declared

        load_declared(declared)  # a bad declaration is a usage error before anything runs
    tail_options = TailOptions(format=format_)
    load_plugins_for(conn)
    options.registry = conn.registry_settings()
    if not (conn.bootstrap or conn.cluster or conn.x_options):
        if headless:
            raise UsageError(
                "--headless generates traffic on a cluster: give --bootstrap-servers or --cluster"
            )
        if console:
            console_in_process(options)
        else:
            run_in_process(options, tail_options)
        return
    if console:
        console_on_cluster(options, conn.client_config(), conn.wait)
    else:
        run_on_cluster(options, conn.client_config(), conn.wait, tail_options)


def register(app: typer.Typer) -> None:
    app.command()(demo)
