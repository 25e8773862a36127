"""Helpers every command uses: its connection, the plugins, and common option checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from evtui.application.connection import Connection
from evtui.core.text import visible
from evtui.errors import UsageError

if TYPE_CHECKING:
    from evtui.core.positions import Position


RESULT_COMMANDS: list[str] = []  # check, trace or flow running: their exit code 1 is a result


def result_command(name: str) -> None:
    RESULT_COMMANDS.append(name)


def command_connection(
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


def duration_s(text: str, option: str) -> float:
    from evtui.core.positions import parse_duration_ms

    ms = parse_duration_ms(text)
    if ms is None:
        raise UsageError(f"invalid {option} '{text}': expected a duration such as 30s or 5m")
    return ms / 1000
