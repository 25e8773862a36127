"""The headless commands, each one a function the typer CLI wires up."""
