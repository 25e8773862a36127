"""Helpers every command uses: its connection, the plugins, and common option checks."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from evtui.application.connection import Connection
from evtui.cli.options import CONNECTION_OPTIONS
from evtui.core.text import plural, visible
from evtui.errors import UsageError

if TYPE_CHECKING:
    from evtui.config import ClientConfig
    from evtui.core.positions import Position
    from evtui.sources.kafka import KafkaSource

Command = Callable[..., None]


RESULT_COMMANDS: list[str] = []  # check, trace or flow running: their exit code 1 is a result


def result_command(name: str) -> None:
    RESULT_COMMANDS.append(name)


def with_connection(*, registry: bool = True) -> Callable[[Command], Command]:
    """Put the connection options where the command has its ``conn`` parameter and call it
    with the ``Connection`` they give over the root's (``ctx.obj``).

    ``registry=False`` leaves out ``--schema-registry``. A command without a ``ctx``
    parameter is given one for typer to fill.
    """
    options = CONNECTION_OPTIONS if registry else CONNECTION_OPTIONS[:-1]

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        takes_ctx = "ctx" in signature.parameters
        parameters = _options_for_conn(signature, options, takes_ctx)

        @functools.wraps(command)
        def run(**given: Any) -> None:
            ctx = given["ctx"] if takes_ctx else given.pop("ctx")
            values = [given.pop(name) for name, _ in options]
            command(**given, conn=_connection(ctx, *values))

        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        run.__annotations__["return"] = signature.return_annotation
        return run

    return decorate


def _options_for_conn(
    signature: inspect.Signature, options: tuple[tuple[str, object], ...], takes_ctx: bool
) -> list[inspect.Parameter]:
    """The parameters of ``signature`` with ``options`` in place of ``conn``."""
    parameters = list(signature.parameters.values())
    at = list(signature.parameters).index("conn")
    kind = parameters[at].kind
    added = [inspect.Parameter(name, kind, default=None, annotation=a) for name, a in options]
    if not takes_ctx:
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        parameters.insert(0, inspect.Parameter("ctx", kind, annotation=typer.Context))
        at += 1
    return [*parameters[:at], *added, *parameters[at + 1 :]]


def _connection(
    ctx: typer.Context,
    bootstrap: str | None,
    cluster: str | None,
    x: list[str] | None,
    config: str | None,
    timeout: float | None,
    schema_registry: str | None = None,
) -> Connection:
    """The command's connection options over the root's (``ctx.obj``)."""
    base = ctx.obj if isinstance(ctx.obj, Connection) else Connection()
    given = Connection(bootstrap, cluster, list(x or []), config, timeout, schema_registry)
    return base.merged(given)


def load_plugins_for(conn: Connection) -> None:
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


def check_text_or_json(value: str) -> None:
    if value not in ("text", "json"):
        raise UsageError(f"invalid --format '{value}': expected text or json")


def since_or_from(since: str | None, from_: str | None, default: str) -> Position:
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


def open_topics(
    client: ClientConfig,
    topics: list[str] | None,
    start: Position,
    end: Position,
    *,
    timeout: float,
    include_internal: bool,
) -> tuple[KafkaSource, str]:
    """A source opened on ``topics`` (none: all but internal ones), and what it reads in
    words: ``3 topics``, or the names given when none matched."""
    from evtui.sources.kafka import KafkaSource

    names = list(topics or ["^"])
    source = KafkaSource(
        client, names, start, end, timeout=timeout, include_internal=include_internal
    )
    source.open()
    return source, plural(len(source.topics), "topic") if source.topics else ", ".join(names)


def duration_s(text: str, option: str) -> float:
    from evtui.core.positions import parse_duration_ms

    ms = parse_duration_ms(text)
    if ms is None:
        raise UsageError(f"invalid {option} '{text}': expected a duration such as 30s or 5m")
    return ms / 1000
