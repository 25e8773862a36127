"""``evtui replay``'s options: checked, resolved to a source and a target, then run."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from evtui.commands.replay import (
    ReplayInterrupted,
    ReplayRequest,
    SliceSource,
    finish_report,
    run_replay,
    source_identity,
)
from evtui.core.replay import Checkpoint, load_checkpoint, parse_partitions, parse_rate
from evtui.errors import UsageError
from evtui.sources.target import Target

if TYPE_CHECKING:
    from evtui.application.connection import Connection
    from evtui.config import ClientConfig

__all__ = ["ReplayArgs", "ReplayInterrupted", "replay_command"]


@dataclass
class ReplayArgs:
    topic: str | None = None
    to: str | None = None
    start: str = "beginning"
    until: str = "end"
    partitions: str | None = None
    filter: str | None = None
    target_cluster: str | None = None
    target_bootstrap: str | None = None
    target_x: list[str] = field(default_factory=list)
    rate: str | None = None
    partitioning: str = "same"
    keep_timestamps: bool = False
    execute: bool = False
    resume: str | None = None
    allow_same_topic: bool = False
    create_topic: bool = False
    from_file: str | None = None
    format: str = "text"


def replay_command(args: ReplayArgs, conn: Connection) -> None:
    checkpoint = load_checkpoint(args.resume) if args.resume else None
    if checkpoint is not None:
        args = resumed_args(args, checkpoint)
    request = make_request(args)
    if args.resume and not args.execute:
        raise UsageError("--resume continues a replay: add --execute")
    source = open_source(args, conn)
    target_config = target_client_config(args, conn)
    target = Target(target_config, request.target_topic, conn.wait)
    try:
        if checkpoint is not None:
            check_same_clusters(checkpoint, source, target)
        report = run_replay(source, target, request, execute=args.execute, resume=checkpoint)
    finally:
        target.close()
        source.close()
    if report is not None:
        finish_report(report, request.format, sys.stdout, sys.stderr)


def make_request(args: ReplayArgs) -> ReplayRequest:
    if not args.to:
        raise UsageError("missing --to TOPIC: the topic to write to")
    if args.topic is None and args.from_file is None:
        raise UsageError("missing the source topic (or --from-file FILE, or --resume ID)")
    return ReplayRequest(
        target_topic=args.to,
        filter=args.filter,
        rate=parse_rate(args.rate),
        partitioning=args.partitioning,
        keep_timestamps=args.keep_timestamps,
        allow_same_topic=args.allow_same_topic,
        create_topic=args.create_topic,
        format=args.format,
    )


def resumed_args(args: ReplayArgs, checkpoint: Checkpoint) -> ReplayArgs:
    """The replay's own options from its checkpoint; ones given again must agree."""
    if checkpoint.done:
        raise UsageError(f"replay {checkpoint.replay_id} is complete: nothing to resume")
    options = checkpoint.options
    stored = {
        "topic": options["source_topic"],  # with --from-file: which of the file's topics
        "from_file": options.get("from_file"),
        "to": options["target_topic"],
        "filter": options["filter"],
        "partitioning": options["partitioning"],
        "keep_timestamps": options["keep_timestamps"],
    }
    if args.from_file is not None:  # the checkpoint keeps the file's absolute path
        args.from_file = str(Path(args.from_file).resolve())
    defaults = ReplayArgs()
    for name, value in stored.items():
        given = getattr(args, name)
        if given != getattr(defaults, name) and given != value:
            raise UsageError(
                f"replay {checkpoint.replay_id} was started with {name.replace('_', '-')} "
                f"{value!r}, not {given!r} (leave it out to resume as it was)"
            )
        setattr(args, name, value)
    if args.rate is None and options.get("rate"):
        args.rate = str(options["rate"])
    return args


def open_source(args: ReplayArgs, conn: Connection) -> SliceSource:
    from evtui.core.positions import parse_end, parse_position

    start = parse_position(args.start, option="--from")
    until = parse_end(args.until, option="--until")
    chosen = parse_partitions(args.partitions)
    if args.from_file is not None:
        from evtui.sources.recording import FileSlices

        return FileSlices(args.from_file, start, until, chosen, topic=args.topic)
    from evtui.application.replay import KafkaSlices

    assert args.topic is not None
    return KafkaSlices(conn.client_config(), args.topic, start, until, chosen, conn.wait)


def target_client_config(args: ReplayArgs, conn: Connection) -> ClientConfig:
    """The target cluster: its own options, else the source's cluster."""
    from evtui.config import resolve_client_config

    if args.target_bootstrap or args.target_cluster:
        return resolve_client_config(
            bootstrap=args.target_bootstrap,
            cluster=args.target_cluster,
            x_options=args.target_x,
            config=conn.config,
        )
    if args.target_x:
        raise UsageError("--target-x needs --target-bootstrap-servers or --target-cluster")
    return conn.client_config()


def check_same_clusters(checkpoint: Checkpoint, source: SliceSource, target: Target) -> None:
    """A checkpoint resumes only against the clusters it was made with."""
    target.open()
    options = checkpoint.options

    identity = options.get("source_identity")
    if options.get("from_file") and identity and identity != source_identity(source):
        raise UsageError(
            f"replay {checkpoint.replay_id} was made from another recording at "
            f"{options['from_file']} ({identity})"
        )
    for what, expected, actual in (
        ("source", options.get("source_cluster"), source.cluster_id),
        ("target", options.get("target_cluster"), target.cluster_id),
    ):
        if expected and actual and expected != actual:
            raise UsageError(
                f"replay {checkpoint.replay_id} was made against {what} cluster {expected}, "
                f"not {actual}"
            )
