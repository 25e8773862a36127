"""``with_connection``: the connection options stand where a command takes ``conn``, and the
command is given their ``Connection`` over the root's."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.main import get_command
from typer.testing import CliRunner

from evtui.application.connection import Connection
from evtui.cli.common import with_connection

CONNECTION = ["bootstrap", "cluster", "x", "config", "timeout", "schema_registry"]


def option_names(command) -> list[str]:
    return [p.name for p in command.params if p.name != "help"]


def test_every_command_lists_the_connection_options_where_it_takes_conn():
    from evtui.cli import app

    root = get_command(app)
    assert option_names(root)[:6] == CONNECTION
    for name in ("tail", "trace", "check", "flow", "schemas", "record", "replay", "demo"):
        assert option_names(root.commands[name])[-6:] == CONNECTION, name
    assert option_names(root.commands["lag"])[-5:] == CONNECTION[:5]  # no --schema-registry


def test_the_command_gets_its_options_over_the_roots():
    app = typer.Typer()
    seen: list[Connection] = []

    @app.callback()
    @with_connection()
    def root(ctx: typer.Context, conn: Connection) -> None:
        ctx.obj = conn

    @app.command()
    @with_connection(registry=False)
    def run(
        name: Annotated[str, typer.Argument()],
        loud: Annotated[bool, typer.Option("--loud")] = False,
        *,
        conn: Connection,
    ) -> None:
        seen.append(conn)
        typer.echo(f"{name} {loud}")

    args = ["-b", "root:1", "-X", "a=1", "--timeout", "3", "run", "x", "--loud", "-X", "b=2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "x True"
    assert seen == [Connection("root:1", None, ["a=1", "b=2"], None, 3.0, None)]
    assert "--schema-registry" not in CliRunner().invoke(app, ["run", "--help"]).output
