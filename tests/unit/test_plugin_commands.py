"""Plugin commands (group evtui.commands) and ``evtui plugins``: listed without importing,
imported when run, arguments passed through; a broken one is one error line."""

from __future__ import annotations

import io
import json
import sys
from importlib.metadata import EntryPoint

import pytest
from typer.testing import CliRunner

from evtui import plugins as registry_module


@pytest.fixture
def fake_commands(monkeypatch):
    eps = [
        EntryPoint("hello", "tests.unit.plugin_command_example:hello", "evtui.commands"),
        EntryPoint("broken", "tests.unit.no_such_module:app", "evtui.commands"),
        EntryPoint("tail", "tests.unit.plugin_command_example:hello", "evtui.commands"),
    ]
    real = registry_module.entry_points

    def fake(group: str):
        return eps if group == "evtui.commands" else real(group=group)

    monkeypatch.setattr(registry_module, "entry_points", fake)
    sys.modules.pop("tests.unit.plugin_command_example", None)
    from evtui import cli

    before = list(cli.app.registered_commands)
    cli._add_plugin_commands()
    assert "tests.unit.plugin_command_example" not in sys.modules  # listed, not imported
    yield cli
    cli.app.registered_commands[:] = before


def test_a_plugin_command_runs_with_its_arguments(fake_commands):
    result = CliRunner().invoke(fake_commands.app, ["hello", "world", "--shout"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "HELLO WORLD"


def test_a_plugin_command_never_takes_the_name_of_an_evtui_command(fake_commands):
    """typer names most commands after their function (``name`` None until then): a plugin's
    ``tail`` was registered as a second ``tail`` beside evtui's."""
    from typer.main import get_command

    names = [c.name for c in fake_commands.app.registered_commands if c.name]
    assert "tail" not in names and "hello" in names
    tail = get_command(fake_commands.app).commands["tail"]
    assert not (tail.help or "").startswith("(plugin")  # evtui's own tail, with its options
    assert "--from" in [option for p in tail.params for option in getattr(p, "opts", [])]


def test_a_plugin_command_that_does_not_import_is_one_error(fake_commands):
    result = CliRunner().invoke(fake_commands.app, ["broken"])
    assert result.exit_code != 0
    assert "plugin command broken failed to load" in str(result.exception)


def test_evtui_plugins_lists_status_and_contributions(tmp_path, monkeypatch):
    from evtui.commands.plugins_cli import run_plugins

    (tmp_path / "bad.py").write_text("raise ValueError('no good')\n")
    monkeypatch.setenv("EVTUI_PLUGIN_PATH", str(tmp_path))
    out = io.StringIO()
    try:
        run_plugins("json", out=out)
    finally:
        monkeypatch.delenv("EVTUI_PLUGIN_PATH")
        registry_module.load_plugins(files=False)
    rows = {r["name"]: r for r in json.loads(out.getvalue())["plugins"]}
    assert rows["builtin"]["status"] == "loaded"
    assert "decoder json" in rows["builtin"]["adds"]
    assert rows["bad"]["status"] == "failed" and "no good" in rows["bad"]["reason"]
