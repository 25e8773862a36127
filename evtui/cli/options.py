"""The options several commands share (connection, topic selection, read range, console).

A command declares its own options in its module; one used by more than one command is
declared here once, so its flags and help text are the same everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
# flow and schemas: a read back from --since, or --from a position
ReadFromOpt = Annotated[
    str | None,
    typer.Option("--from", "-o", help="Read from a position instead: beginning, N, -N, time."),
]
ReadUntilOpt = Annotated[
    str, typer.Option("--until", "-u", help="Read up to: end (when the read starts), a time.")
]
# check and record: a slice, from the beginning to the end by default
SliceFromOpt = Annotated[
    str, typer.Option("--from", help="Where to start (beginning, end, N, -N, a time).")
]
SliceUntilOpt = Annotated[
    str, typer.Option("--until", help="Where to stop (default: the end when it starts).")
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", min=0.1, help="Seconds to wait for the cluster to answer [10]."),
]

# the connection options, in the order --help lists them (``common.with_connection``)
CONNECTION_OPTIONS: tuple[tuple[str, object], ...] = (
    ("bootstrap", BootstrapOpt),
    ("cluster", ClusterOpt),
    ("x", XOpt),
    ("config", ConfigOpt),
    ("timeout", TimeoutOpt),
    ("schema_registry", SchemaRegistryOpt),
)


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
