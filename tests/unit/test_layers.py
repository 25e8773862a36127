"""The package's layering, read from its own import statements (nothing is imported).

Bottom to top: ``core`` (pure) -> ``sources`` -> ``application`` -> ``commands`` / ``cli`` and
``tui``. The CLI and the TUI never import each other; ``commands/console.py`` (the console
launcher) is the one bridge. Imports under ``TYPE_CHECKING`` and inside functions count too: a
circle a type checker or a late import walks is still a circle for the reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "evtui"
BRIDGE = "evtui.commands.console"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, module: str, known: set[str]) -> set[str]:
    """The package's modules ``path`` imports (``from evtui.x import y`` names ``evtui.x.y``
    when that is a module, else ``evtui.x``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def import_graph() -> nx.DiGraph:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(paths)
    for module, path in paths.items():
        graph.add_edges_from((module, target) for target in imported(path, module, set(paths)))
    return graph


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return import_graph()


def in_layer(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def test_the_reader_finds_imports_in_every_form(tmp_path):
    source = (
        "from __future__ import annotations\n"
        "import evtui.core.event\n"
        "from evtui.core import decode\n"
        "from . import text\n"
        "from .ids import Ids\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from evtui.sources.base import Source\n"
        "def late():\n    from evtui.tui.app import EvtuiApp\n"
    )
    path = tmp_path / "x.py"
    path.write_text(source)
    known = {"evtui.core.event", "evtui.core.decode", "evtui.core.text", "evtui.core.ids",
             "evtui.core", "evtui.sources.base", "evtui.tui.app", "evtui"}  # fmt: skip
    assert imported(path, "evtui.core.x", known) == {
        "evtui.core.event", "evtui.core.decode", "evtui.core.text", "evtui.core.ids",
        "evtui.core", "evtui.sources.base", "evtui.tui.app",
    }  # fmt: skip


def test_no_module_imports_itself_round_a_circle(graph):
    circles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert circles == []


def test_the_core_imports_only_the_core(graph):
    outside = {
        (module, target)
        for module, target in graph.edges
        if in_layer(module, "evtui.core")
        and not in_layer(target, "evtui.core")
        and target not in {"evtui", "evtui.errors", "evtui.paths", "evtui._native"}  # leaves
    }
    assert outside == set()


@pytest.mark.parametrize(
    ("layer", "above"),
    [
        ("evtui.sources", ("evtui.application", "evtui.commands", "evtui.cli", "evtui.tui")),
        ("evtui.application", ("evtui.commands", "evtui.cli", "evtui.tui")),
        ("evtui.tui", ("evtui.commands", "evtui.cli")),
    ],
)
def test_no_layer_reaches_up(graph, layer, above):
    up = {
        (module, target)
        for module, target in graph.edges
        if in_layer(module, layer) and any(in_layer(target, a) for a in above)
    }
    assert up == set()


def test_only_the_console_launcher_bridges_the_cli_to_the_tui(graph):
    bridges = {
        module
        for module, target in graph.edges
        if (in_layer(module, "evtui.commands") or in_layer(module, "evtui.cli"))
        and in_layer(target, "evtui.tui")
    }
    assert bridges <= {BRIDGE}
