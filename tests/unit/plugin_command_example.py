"""A plugin command for tests/unit/test_plugin_commands.py (a typer function)."""

import typer


def hello(name: str, shout: bool = typer.Option(False, "--shout")) -> None:
    text = f"hello {name}"
    typer.echo(text.upper() if shout else text)
