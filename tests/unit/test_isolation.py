"""The suite never writes into the user's real state or config directories."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from evtui.core.replay import checkpoint_path
from evtui.paths import state_dir
from evtui.tui.screens.detail import export_dir


def _inside_temp(path: Path) -> bool:
    return path.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())


def test_state_is_written_under_this_runs_own_folder() -> None:
    home = Path.home().resolve()
    for path in (state_dir(), checkpoint_path("r1"), export_dir()):
        assert _inside_temp(path), path
        assert not path.resolve().is_relative_to(home / ".local"), path


def test_evtui_processes_started_by_tests_inherit_it() -> None:
    code = "from evtui.core.replay import checkpoint_path; print(checkpoint_path('r1'))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    assert _inside_temp(Path(done.stdout.strip()))


def test_the_state_dir_can_be_chosen(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("EVTUI_STATE_DIR", str(tmp_path / "s"))
    assert checkpoint_path("abc") == tmp_path / "s" / "replays" / "abc.json"
    assert export_dir() == tmp_path / "s" / "events"
