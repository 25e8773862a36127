"""The plugin registry: built-in and third-party decoders register the same way.

A plugin is a callable ``register(registry)`` found through the entry-point
group ``evtui.plugins`` (evtui's own built-ins are registered there too), or a
``*.py`` file with a ``register`` function in a plugin directory
(``<user config dir>/evtui/plugins`` and ``$EVTUI_PLUGIN_PATH``). Listing
plugins imports nothing; a plugin that fails to load is reported as a warning
and evtui goes on without it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from evtui.core.decode import Decoder, DecoderChain, set_active_chain
from evtui.paths import config_dir

GROUP = "evtui.plugins"
BUILTIN = "builtin"


@dataclass
class Registry:
    """What plugins add to: decoders (ordered by priority, lower first)."""

    _decoders: list[tuple[int, int, Decoder]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)

    def add_decoder(self, decoder: Decoder, priority: int = 100) -> None:
        """Add a decoder; built-ins use 100-400, so 50 runs before all of them."""
        self._decoders.append((priority, len(self._decoders), decoder))

    @property
    def decoders(self) -> list[Decoder]:
        return [d for _, _, d in sorted(self._decoders, key=lambda x: (x[0], x[1]))]

    def chain(self) -> DecoderChain:
        return DecoderChain(self.decoders)


@dataclass(frozen=True)
class PluginInfo:
    name: str
    origin: str  # "entry point <value>" or a file path


def plugin_dirs() -> list[Path]:
    dirs = [config_dir() / "plugins"]
    extra = os.environ.get("EVTUI_PLUGIN_PATH")
    if extra:
        dirs += [Path(p).expanduser() for p in extra.split(os.pathsep) if p]
    return dirs


def _entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=GROUP), key=lambda ep: (ep.name != BUILTIN, ep.name))


def _plugin_files() -> Iterator[Path]:
    for folder in plugin_dirs():
        if folder.is_dir():
            yield from sorted(folder.glob("*.py"))


def list_plugins() -> list[PluginInfo]:
    """Every plugin evtui would load, without importing any of them."""
    found = [PluginInfo(ep.name, f"entry point {ep.value}") for ep in _entry_points()]
    if BUILTIN not in {info.name for info in found}:
        found.insert(0, PluginInfo(BUILTIN, "evtui.builtins:register (source tree)"))
    found += [PluginInfo(path.stem, str(path)) for path in _plugin_files()]
    return found


def _load_file(path: Path) -> Callable[[Registry], None]:
    spec = importlib.util.spec_from_file_location(f"evtui_user_plugin_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    register = getattr(module, "register", None)
    if not callable(register):
        raise ImportError("it has no register(registry) function")
    return register


def load_plugins(*, files: bool = True) -> Registry:
    """Load every plugin into a new registry and make its decoders the active chain."""
    registry = Registry()
    sources: list[tuple[str, Callable[[], Callable[[Registry], None]]]] = [
        (ep.name, ep.load) for ep in _entry_points()
    ]
    if BUILTIN not in {name for name, _ in sources}:
        # Running from a source tree that was never installed: same function, found directly.
        from evtui import builtins

        sources.insert(0, (BUILTIN, lambda: builtins.register))
    if files:
        sources += [(str(p), lambda p=p: _load_file(p)) for p in _plugin_files()]
    for name, load in sources:
        try:
            load()(registry)
            registry.loaded.append(name)
        except Exception as exc:  # a broken plugin must not stop evtui
            registry.warnings.append(f"plugin {name} not loaded: {type(exc).__name__}: {exc}")
    set_active_chain(registry.decoders)
    return registry
