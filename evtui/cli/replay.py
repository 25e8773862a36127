"""``evtui replay``: plan a slice of a topic (or a recording) and copy it into a topic."""

from __future__ import annotations

from typing import Annotated

import typer

from evtui.application.connection import Connection
from evtui.cli.common import load_plugins_for, with_connection


@with_connection()
def replay(
    topic: Annotated[
        str | None,
        typer.Argument(help="The source topic (with --from-file: one of the file's topics)."),
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="The target topic.")] = None,
    from_: Annotated[
        str, typer.Option("--from", help="Start: beginning, end, N, -N, a time.")
    ] = "beginning",
    until: Annotated[
        str, typer.Option("--until", help="Stop (default: the end when the plan is made).")
    ] = "end",
    partitions: Annotated[
        str | None, typer.Option("--partitions", help="Source partitions, e.g. 0,2-4.")
    ] = None,
    filter_: Annotated[
        str | None, typer.Option("--filter", "-f", help="Copy only what this CEL filter keeps.")
    ] = None,
    target_cluster: Annotated[
        str | None, typer.Option("--target-cluster", help="The target's cluster profile.")
    ] = None,
    target_bootstrap: Annotated[
        str | None,
        typer.Option("--target-bootstrap-servers", help="The target's bootstrap servers."),
    ] = None,
    target_x: Annotated[
        list[str] | None,
        typer.Option("--target-x", help="A librdkafka property for the target (repeatable)."),
    ] = None,
    rate: Annotated[str | None, typer.Option("--rate", help="At most N records/s.")] = None,
    partitioning: Annotated[
        str, typer.Option("--partitioning", help="same, key or round-robin.")
    ] = "same",
    keep_timestamps: Annotated[
        bool, typer.Option("--keep-timestamps", help="Keep each record's timestamp.")
    ] = False,
    execute: Annotated[
        bool, typer.Option("--execute", help="Write (without it only the plan is printed).")
    ] = False,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue the replay with this id.")
    ] = None,
    allow_same_topic: Annotated[
        bool, typer.Option("--allow-same-topic", help="Allow writing into the source topic.")
    ] = False,
    create_topic: Annotated[
        bool, typer.Option("--create-topic", help="Create a missing target topic.")
    ] = False,
    from_file: Annotated[
        str | None, typer.Option("--from-file", help="Replay a file made by evtui record.")
    ] = None,
    format_: Annotated[str, typer.Option("--format", "-F", help="text or json.")] = "text",
    *,
    conn: Connection,
) -> None:
    """Plan a slice of a topic and, with --execute, copy it into another topic (resumable)."""
    from evtui.commands.replay_cli import ReplayArgs, replay_command

    args = ReplayArgs(
        topic=topic, to=to, start=from_, until=until, partitions=partitions, filter=filter_,
        target_cluster=target_cluster, target_bootstrap=target_bootstrap,
        target_x=list(target_x or []), rate=rate, partitioning=partitioning,
        keep_timestamps=keep_timestamps, execute=execute, resume=resume,
        allow_same_topic=allow_same_topic, create_topic=create_topic, from_file=from_file,
        format=format_,
    )  # fmt: skip
    load_plugins_for(conn)  # decoders and id rules for --filter, from a file too
    replay_command(args, conn)


def register(app: typer.Typer) -> None:
    app.command()(replay)
