"""``evtui check``: ordering violations (sequence gaps, duplicates, orphans...) in a range."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from evtui.application.connection import Connection
from evtui.cli.common import duration_s, load_plugins_for, result_command, with_connection
from evtui.cli.options import InternalOpt, SliceFromOpt, SliceUntilOpt
from evtui.core.text import plural
from evtui.errors import EvtuiError

# batches (and their size) read ahead of the checks, and what librdkafka fetches ahead (its
# default: 64 MiB): the checks are slower than the fetching, so more ahead is only memory
# (bench/ingest's memory goal: 1M keys' state in 400 MiB)
CHECK_QUEUE, CHECK_BATCH = 2, 2_000
CHECK_PREFETCH = {"queued.max.messages.kbytes": "8192"}


@with_connection()
def check(
    topics: Annotated[list[str], typer.Argument(help="Topics (names or ^regex).")],
    from_: SliceFromOpt = "beginning",
    until: SliceUntilOpt = "end",
    rules: Annotated[
        str | None, typer.Option("--rules", help="Kinds to report, comma-separated (default: all).")
    ] = None,
    lateness: Annotated[
        str, typer.Option("--lateness", help="Event time may go back this much per key.")
    ] = "1s",
    tolerance: Annotated[
        str | None, typer.Option("--tolerance", help="Clock tolerance for causes (default 0).")
    ] = None,
    seq_field: Annotated[
        str | None,
        typer.Option(
            "--seq-field",
            help="Sequence number: header names or JSON paths, comma-separated "
            "(default: seq,sequence,version).",
        ),
    ] = None,
    producer_field: Annotated[
        str | None,
        typer.Option(
            "--producer-field",
            help="Sequences are per producer named here: headers or JSON paths "
            "(default: producer-id,producer_id,producerId; '' for none).",
        ),
    ] = None,
    max_keys: Annotated[
        int, typer.Option("--max-keys", min=1, help="Keys whose sequence and time are kept.")
    ] = 100_000,
    max_events: Annotated[
        int, typer.Option("--max-events", min=1, help="Event ids kept (duplicates, causes).")
    ] = 1_000_000,
    keyless_seq: Annotated[
        bool,
        typer.Option(
            "--keyless-seq",
            help="Check the sequences of keyless records too, per partition (keyless records "
            "are spread over partitions in no order, so by default they are no sequence).",
        ),
    ] = False,
    strict_orphans: Annotated[
        bool,
        typer.Option(
            "--strict-orphans",
            help="Every missing cause is an orphan, even of a kind whose causes are never in "
            "the topics read (by default those are counted as not judged).",
        ),
    ] = False,
    format_: Annotated[str, typer.Option("--format", "-F", help="text or json.")] = "text",
    include_internal: InternalOpt = False,
    *,
    conn: Connection,
) -> None:
    """Ordering violations in a range of topics (exit 1 when a warning is found)."""
    result_command("check")
    from evtui.commands.check import (
        CheckOptions,
        check_format,
        parse_names,
        parse_rules,
        run_check,
    )  # fmt: skip
    from evtui.core.ordering import PRODUCER_NAMES, SEQUENCE_NAMES
    from evtui.core.positions import parse_end, parse_position
    from evtui.sources.kafka import KafkaSource

    load_plugins_for(conn)  # first: --rules may name the plugins' finding kinds
    options = CheckOptions(
        parse_rules(rules),
        check_format(format_),
        int(duration_s(lateness, "--lateness") * 1000),
        0 if tolerance is None else int(duration_s(tolerance, "--tolerance") * 1000),
        parse_names(seq_field, "--seq-field", SEQUENCE_NAMES),
        parse_names(producer_field, "--producer-field", PRODUCER_NAMES),
        max_keys,
        max_events,
        keyless_seq,
        strict_orphans,
    )
    start = parse_position(from_, option="--from")
    end = parse_end(until, option="--until")
    client = conn.client_config()
    for name, value in CHECK_PREFETCH.items():  # unless the user set them
        client.properties.setdefault(name, value)
    source = KafkaSource(
        client, topics, start, end, timeout=conn.wait,
        include_internal=include_internal, max_queued_batches=CHECK_QUEUE,
        batch_size=CHECK_BATCH,
    )  # fmt: skip
    source.open()
    try:
        compacted = source.compacted_topics()
    except EvtuiError as exc:  # read as if none were: compaction may look like loss
        print(f"evtui check: note: {exc}", file=sys.stderr)
        compacted = frozenset()
    run_check(source, options, plural(len(source.topics), "topic"), start, compacted=compacted)


def register(app: typer.Typer) -> None:
    app.command()(check)
