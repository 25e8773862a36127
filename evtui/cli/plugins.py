"""``evtui plugins`` lists the plugins; each plugin's own commands (entry point group
``evtui.commands``) become ``evtui`` commands, imported only when one runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from evtui.cli.common import check_text_or_json
from evtui.cli.options import ConfigOpt
from evtui.errors import EvtuiError


def plugins(
    format_: Annotated[str, typer.Option("--format", "-F", help="text or json.")] = "text",
    config: ConfigOpt = None,
) -> None:
    """List the plugins installed, whether each is enabled and loaded, and what it adds.

    A plugin that fails to load is listed as failed with the reason (exit 0: evtui runs
    without it). EVTUI_DISABLE_PLUGINS=name,... switches plugins off.
    """
    from evtui.commands.plugins_cli import run_plugins

    check_text_or_json(format_)
    run_plugins(format_, config)


def register(app: typer.Typer) -> None:
    app.command()(plugins)


def add_plugin_commands(app: typer.Typer) -> None:
    """Each ``evtui.commands`` entry point as a command, imported only when it runs."""
    from evtui.plugins import list_commands

    taken = {command_name(c) for c in app.registered_commands}  # evtui's own come first
    for info in list_commands():
        if info.name in taken or not info.name.isidentifier():
            continue
        app.command(
            info.name,
            help=f"(plugin {info.dist or info.origin})",
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
            add_help_option=False,
        )(_plugin_command(info.name))


def command_name(command: typer.models.CommandInfo) -> str | None:
    """The name ``command`` answers to: typer names a command after its function unless
    it is given one (``name`` stays None until then)."""
    if command.name or command.callback is None:
        return command.name
    return typer.main.get_command_name(command.callback.__name__)


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
