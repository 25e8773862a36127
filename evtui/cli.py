"""The ``evtui`` command line: a typer app that wires sources, core and views."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evtui import __version__
from evtui.application.connection import Connection
from evtui.core.text import plural, visible
from evtui.errors import EvtuiError, OutputClosed, UsageError

if TYPE_CHECKING:
    from evtui.core.lag import LagReport
    from evtui.core.positions import Position

app = typer.Typer(
    name="evtui",
    help="A terminal console for watching and debugging event-driven systems on Kafka.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


BootstrapOpt = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        "-b",
        envvar="EVTUI_BOOTSTRAP_SERVERS",
        help="Kafka bootstrap servers, HOST:PORT[,HOST:PORT...].",
    ),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster", "-c", envvar="EVTUI_CLUSTER", help="A cluster profile from the config file."
    ),
]
XOpt = Annotated[
    list[str] | None,
    typer.Option("-X", help="A librdkafka property key=value (repeatable), as in kcat."),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", help="Config file (default: $EVTUI_CONFIG or the user config dir)."),
]
InternalOpt = Annotated[
    bool, typer.Option("--internal", help="Let patterns match internal topics (__*).")
]
SchemaRegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--schema-registry",
        envvar="EVTUI_SCHEMA_REGISTRY_URL",
        help="Schema Registry URL (Confluent API; Apicurio: .../apis/ccompat/v7) to decode "
        "Avro, Protobuf and JSON Schema values (needs the evtui-schema-registry plugin).",
    ),
]
ReadFromOpt = Annotated[
    str | None,
    typer.Option("--from", "-o", help="Read from a position instead: beginning, N, -N, time."),
]
ReadUntilOpt = Annotated[
    str, typer.Option("--until", "-u", help="Read up to: end (when the read starts), a time.")
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", min=0.1, help="Seconds to wait for the cluster to answer [10]."),
]


TopicsOpt = Annotated[
    list[str] | None,
    typer.Option("--topic", "-t", help="Console: topics to tail at start (names or ^regex)."),
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from", help="Console: where the tail starts (beginning, end, N, -N, time) [-100]."
    ),
]
WindowOpt = Annotated[
    int | None, typer.Option("--window", help="Console: events kept for scrolling [200000].")
]
FilterOpt = Annotated[
    str | None, typer.Option("--filter", help="Console: a CEL filter applied to the tail.")
]
DeclaredOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--declared",
        help="Console: a declared flow (AsyncAPI 2/3 or evtui YAML/TOML) the flow tab "
        "compares with (repeatable).",
    ),
]


_RESULT_COMMAND: list[str] = []  # check, trace or flow running: their exit code 1 is a result


def _result_command(name: str) -> None:
    _RESULT_COMMAND.append(name)


def _connection(
    ctx: typer.Context,
    bootstrap: str | None,
    cluster: str | None,
    x: list[str] | None,
    config: str | None,
    timeout: float | None,
    schema_registry: str | None = None,
) -> Connection:
    base = ctx.obj if isinstance(ctx.obj, Connection) else Connection()
    given = Connection(bootstrap, cluster, list(x or []), config, timeout, schema_registry)
    return base.merged(given)


def _load_plugins(conn: Connection) -> None:
    """Load every plugin (a broken one is a warning) and the config file's identity rules."""
    from evtui.config import install_id_rules
    from evtui.plugins import Settings, load_plugins

    settings = Settings(schema_registry=conn.registry_settings())
    registry = load_plugins(settings=settings)
    for warning in registry.warnings:
        typer.echo(f"evtui: warning: {visible(warning)}", err=True)
    if settings.schema_registry is not None and not registry.reads_registry():
        typer.echo(
            "evtui: warning: a schema registry is given but no plugin decodes through it "
            "(install evtui-schema-registry); registry payloads are shown as bytes",
            err=True,
        )
    install_id_rules(conn.config, [rule for rule, _ in registry.id_rules])


def _check_format(value: str) -> None:
    if value not in ("text", "json"):
        raise UsageError(f"invalid --format '{value}': expected text or json")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evtui {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    schema_registry: SchemaRegistryOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log client activity to stderr.")
    ] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
    topic: TopicsOpt = None,
    from_: FromOpt = None,
    window: WindowOpt = None,
    filter_: FilterOpt = None,
    declared: DeclaredOpt = None,
) -> None:
    """Watch and debug event-driven systems on Kafka.

    Without a command, opens the console on the cluster: evtui -b HOST:PORT [-t TOPIC].
    """
    ctx.obj = Connection(bootstrap, cluster, list(x or []), config, timeout, schema_registry)
    if verbose:
        _enable_client_logging()
    if ctx.invoked_subcommand is None:
        _console(ctx.obj, topic, from_, window, filter_, declared)


def _console(
    conn: Connection,
    topics: list[str] | None,
    start: str | None,
    window: int | None,
    filter_: str | None,
    declared: list[Path] | None = None,
) -> None:
    from evtui.commands.console import parse_console_options, require_terminal, run_console
    from evtui.tui.backend import KafkaBackend

    if not (conn.bootstrap or conn.cluster or conn.x_options):
        raise UsageError(
            "no cluster given: use --bootstrap-servers HOST:PORT or --cluster NAME "
            "(or try 'evtui demo')"
        )
    options = parse_console_options(topics, start, window, filter_, declared)
    config = conn.client_config()
    require_terminal()
    _load_plugins(conn)
    run_console(KafkaBackend(config, timeout=conn.wait), options)


def _since_or_from(since: str | None, from_: str | None, default: str) -> Position:
    """Where a search starts: ``--from`` a position, or ``--since`` a duration ago."""
    from evtui.core.positions import parse_duration_ms, parse_position

    if since is not None and from_ is not None:
        raise UsageError("give --since or --from, not both")
    if from_ is not None:
        return parse_position(from_, option="--from")
    since_ms = parse_duration_ms(since or default)
    if not since_ms:
        raise UsageError(f"invalid --since '{since}': expected a duration such as 15m or 2h")
    return parse_position(f"{since_ms}ms", option="--since")


def _enable_client_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("evtui: %(name)s: %(message)s"))
    logger = logging.getLogger("evtui")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


@app.command()
def tail(
    ctx: typer.Context,
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
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    schema_registry: SchemaRegistryOpt = None,
) -> None:
    """Print events from TOPICS to stdout (read-only: no consumer group is joined).

    A bounded range that holds nothing (--from past the end, or no record before --until)
    says so in one line on stderr and exits 0; an --until before --from exits 2.
    """
    from evtui.commands.tail import TailOptions, check_range, range_note, run_tail
    from evtui.core.filters import Filter
    from evtui.core.positions import parse_end, parse_position
    from evtui.sources.kafka import KafkaSource

    _check_format(format_)
    start = parse_position(from_, option="--from")
    end = parse_end(until, option="--until") if until is not None else None
    check_range(start, end)
    flt = Filter(filter_) if filter_ is not None else None
    conn = _connection(ctx, bootstrap, cluster, x, config, timeout, schema_registry)
    _load_plugins(conn)
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


@app.command()
def trace(
    ctx: typer.Context,
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
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    schema_registry: SchemaRegistryOpt = None,
) -> None:
    """Find a transaction's events across topics and print its causal graph (exit 1: none)."""
    _result_command("trace")
    from evtui.commands.trace import TraceOptions, check_format, check_id, run_trace
    from evtui.core.positions import parse_end
    from evtui.sources.kafka import KafkaSource

    wanted = check_id(wanted)
    start = _since_or_from(since, from_, "1h")
    end = parse_end(until, option="--until")
    conn = _connection(ctx, bootstrap, cluster, x, config, timeout, schema_registry)
    _load_plugins(conn)  # before checking --format: plugins add formats
    options = TraceOptions(wanted, check_format(format_), max_scan, max_events, jobs)
    names = list(topics or ["^"])
    source = KafkaSource(
        conn.client_config(),
        names,
        start,
        end,
        timeout=conn.wait,
        include_internal=include_internal,
    )
    source.open()
    where = plural(len(source.topics), "topic") if source.topics else ", ".join(names)
    run_trace(source, options, where, start)


@app.command()
def check(
    ctx: typer.Context,
    topics: Annotated[list[str], typer.Argument(help="Topics (names or ^regex).")],
    from_: Annotated[
        str, typer.Option("--from", help="Where to start (beginning, end, N, -N, a time).")
    ] = "beginning",
    until: Annotated[
        str, typer.Option("--until", help="Where to stop (default: the end when it starts).")
    ] = "end",
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
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    schema_registry: SchemaRegistryOpt = None,
) -> None:
    """Ordering violations in a range of topics (exit 1 when a warning is found)."""
    _result_command("check")
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

    conn = _connection(ctx, bootstrap, cluster, x, config, timeout, schema_registry)
    _load_plugins(conn)  # first: --rules may name the plugins' finding kinds
    options = CheckOptions(
        parse_rules(rules),
        check_format(format_),
        int(_duration_s(lateness, "--lateness") * 1000),
        0 if tolerance is None else int(_duration_s(tolerance, "--tolerance") * 1000),
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


@app.command()
def flow(
    ctx: typer.Context,
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
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    schema_registry: SchemaRegistryOpt = None,
) -> None:
    """Who writes which topic, who reads it, what feeds what: the flow graph (exit 1: no event)."""
    _result_command("flow")
    from evtui.commands.flow import FlowOptions, check_format, run_flow
    from evtui.core.positions import parse_end
    from evtui.sources.kafka import KafkaSource

    options = FlowOptions(check_format(format_), tuple(declared or ()))
    if options.declared:
        from evtui.core.flow_declared import load

        load(options.declared)  # a bad declaration is a usage error before connecting
    start = _since_or_from(since, from_, "5m")
    end = parse_end(until, option="--until")
    conn = _connection(ctx, bootstrap, cluster, x, config, timeout, schema_registry)
    _load_plugins(conn)
    client = conn.client_config()
    names = list(topics or ["^"])
    source = KafkaSource(
        client, names, start, end, timeout=conn.wait, include_internal=include_internal
    )
    source.open()
    where = plural(len(source.topics), "topic") if source.topics else ", ".join(names)

    def read_groups() -> LagReport:
        from evtui.sources.lag import LagPoller

        poller = LagPoller(client, timeout=conn.wait)
        try:
            return poller.poll_now()
        finally:
            poller.stop()

    run_flow(source, options, where, start, None if no_groups else read_groups)


@app.command()
def schemas(
    ctx: typer.Context,
    topics: Annotated[list[str], typer.Argument(help="Topics to read (names or ^regex).")],
    since: Annotated[
        str | None,
        typer.Option("--since", "-s", help="Read from this long ago: 15m, 2h, 1d [1h]."),
    ] = None,
    from_: ReadFromOpt = None,
    until: ReadUntilOpt = "end",
    format_: Annotated[str, typer.Option("--format", "-F", help="text or json.")] = "text",
    include_internal: InternalOpt = False,
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    schema_registry: SchemaRegistryOpt = None,
) -> None:
    """Which registry schemas (subject, version, id) each topic was written with, when, by whom."""
    from evtui.commands.schemas import check_format, run_schemas
    from evtui.core.positions import parse_end
    from evtui.sources.kafka import KafkaSource

    fmt = check_format(format_)
    start = _since_or_from(since, from_, "1h")
    end = parse_end(until, option="--until")
    conn = _connection(ctx, bootstrap, cluster, x, config, timeout, schema_registry)
    _load_plugins(conn)
    from evtui.plugins import active_registry

    source = KafkaSource(
        conn.client_config(), topics, start, end, timeout=conn.wait,
        include_internal=include_internal,
    )  # fmt: skip
    source.open()
    where = plural(len(source.topics), "topic") if source.topics else ", ".join(topics)
    run_schemas(source, fmt, where, start, active_registry().reads_registry())


# batches (and their size) read ahead of the checks, and what librdkafka fetches ahead (its
# default: 64 MiB): the checks are slower than the fetching, so more ahead is only memory
# (bench/ingest's memory goal: 1M keys' state in 400 MiB)
CHECK_QUEUE, CHECK_BATCH = 2, 2_000
CHECK_PREFETCH = {"queued.max.messages.kbytes": "8192"}


@app.command()
def record(
    ctx: typer.Context,
    topics: Annotated[list[str], typer.Argument(help="Topics (names or ^regex).")],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="The file to write (JSON Lines; gzip when it ends in .gz)."
        ),
    ],
    from_: Annotated[
        str, typer.Option("--from", help="Where to start (beginning, end, N, -N, a time).")
    ] = "beginning",
    until: Annotated[
        str, typer.Option("--until", help="Where to stop (default: the end when it starts).")
    ] = "end",
    filter_: Annotated[
        str | None, typer.Option("--filter", "-f", help="Record only what this CEL filter keeps.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    include_internal: InternalOpt = False,
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    schema_registry: SchemaRegistryOpt = None,
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
    conn = _connection(ctx, bootstrap, cluster, x, config, timeout, schema_registry)
    _load_plugins(conn)
    source = KafkaSource(
        conn.client_config(), topics, options.start, options.until, timeout=conn.wait,
        include_internal=include_internal,
    )  # fmt: skip
    source.open()
    run_record(source, options)


@app.command("open")
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

    _load_plugins(Connection(config=config, schema_registry=schema_registry))
    run_open(file, topic, from_, window, filter_)


@app.command()
def replay(
    ctx: typer.Context,
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
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    schema_registry: SchemaRegistryOpt = None,
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
    conn = _connection(ctx, bootstrap, cluster, x, config, timeout, schema_registry)
    _load_plugins(conn)  # decoders and id rules for --filter, from a file too
    replay_command(args, conn)


@app.command()
def lag(
    ctx: typer.Context,
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
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Consumer lag per group and partition, in offsets and seconds, with health."""
    from evtui.commands.lag import LagOptions, check_format, run_lag

    options = LagOptions(
        groups=group,
        format=check_format(format_),
        watch=watch,
        interval_s=interval,
        window_s=_duration_s(window, "--window"),
        fail_on_lag=fail_on_lag,
        fail_on_time_s=None
        if fail_on_time is None
        else _duration_s(fail_on_time, "--fail-on-time"),
        exact=exact,
    )
    conn = _connection(ctx, bootstrap, cluster, x, config, timeout)
    options.timeout_s = conn.wait
    run_lag(conn.client_config(), options)


def _duration_s(text: str, option: str) -> float:
    from evtui.core.positions import parse_duration_ms

    ms = parse_duration_ms(text)
    if ms is None:
        raise UsageError(f"invalid {option} '{text}': expected a duration such as 30s or 5m")
    return ms / 1000


@app.command()
def demo(
    ctx: typer.Context,
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
    bootstrap: BootstrapOpt = None,
    cluster: ClusterOpt = None,
    x: XOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    schema_registry: SchemaRegistryOpt = None,
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
    _check_format(format_)
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
    conn = _connection(ctx, bootstrap, cluster, x, config, timeout, schema_registry)
    _load_plugins(conn)
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


@app.command()
def plugins(
    format_: Annotated[str, typer.Option("--format", "-F", help="text or json.")] = "text",
    config: ConfigOpt = None,
) -> None:
    """List the plugins installed, whether each is enabled and loaded, and what it adds.

    A plugin that fails to load is listed as failed with the reason (exit 0: evtui runs
    without it). EVTUI_DISABLE_PLUGINS=name,... switches plugins off.
    """
    from evtui.commands.plugins_cli import run_plugins

    _check_format(format_)
    run_plugins(format_, config)


def _add_plugin_commands() -> None:
    """Each ``evtui.commands`` entry point as a command, imported only when it runs."""
    from evtui.plugins import list_commands

    taken = {c.name for c in app.registered_commands}
    for info in list_commands():
        if info.name in taken or not info.name.isidentifier():
            continue
        app.command(
            info.name,
            help=f"(plugin {info.dist or info.origin})",
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
            add_help_option=False,
        )(_plugin_command(info.name))


def _plugin_command(name: str) -> Callable[[typer.Context], None]:
    def run(ctx: typer.Context) -> None:
        from evtui.plugins import load_command

        try:
            target = load_command(name)
        except Exception as exc:
            raise EvtuiError(f"plugin command {name} failed to load: {exc}") from None
        if not isinstance(target, typer.Typer):
            single = typer.Typer(add_completion=False)
            single.command(name)(target)
            target = single
        command = typer.main.get_command(target)
        command.main(args=list(ctx.args), prog_name=f"evtui {name}", standalone_mode=False)

    return run


_add_plugin_commands()


def main() -> None:
    """Console entry point: readable one-line errors, never a traceback."""
    from evtui.runtime import tune_gc

    tune_gc()
    signal.signal(signal.SIGTERM, _terminated)
    _RESULT_COMMAND.clear()  # (main may run more than once in a process: tests)
    try:
        code = app(standalone_mode=False)  # typer returns 130 for Ctrl-C here
    except EvtuiError as exc:
        _fail(str(exc), _exit_code(exc))
    except KeyboardInterrupt:
        _quiet_exit(130)
    except (BrokenPipeError, OutputClosed):
        _quiet_exit(0)
    except typer.Abort:
        _quiet_exit(1)
    except Exception as exc:
        if _is_usage_error(exc):
            _fail(f"{exc.format_message()} (see --help)", exc.exit_code)
        if os.environ.get("EVTUI_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set EVTUI_DEBUG=1 for details)", 70)
    else:
        if isinstance(code, int) and code:
            _quiet_exit(code)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM: unwind like Ctrl-C, so sources close their clients, then exit 143."""
    raise SystemExit(128 + signum)


def _exit_code(exc: EvtuiError) -> int:
    """A failure of ``check``, ``trace`` or ``flow`` exits 3: their 1 tells a result."""
    from evtui.errors import RUN_FAILED, Outcome

    if exc.exit_code == 1 and not isinstance(exc, Outcome) and _RESULT_COMMAND:
        return RUN_FAILED
    return exc.exit_code


def _fail(message: str, code: int) -> None:
    print(f"evtui: error: {visible(message)}", file=sys.stderr)
    raise SystemExit(code)


def _quiet_exit(code: int) -> None:
    with contextlib.suppress(BrokenPipeError, ValueError):
        sys.stdout.flush()
    # stdout may be a closed pipe: point it at devnull so exit does not complain
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(code)


def _is_usage_error(exc: Exception) -> bool:
    """typer's own usage errors (bad option values, missing arguments).

    Recognised by interface: typer vendors click in recent versions and uses
    the click package in older ones, so neither module can be imported here.
    """
    return callable(getattr(exc, "format_message", None)) and isinstance(
        getattr(exc, "exit_code", None), int
    )
