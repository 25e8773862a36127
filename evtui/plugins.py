"""The plugin registry: built-in and third-party contributions register the same way.

A plugin is a callable ``register(registry)`` found through the entry-point
group ``evtui.plugins`` (evtui's own built-ins are registered there too), or a
``*.py`` file with a ``register`` function in a plugin directory
(``<user config dir>/evtui/plugins`` and ``$EVTUI_PLUGIN_PATH``). It may add:

- decoders (:meth:`Registry.add_decoder`), tried in priority order;
- identity rules (:meth:`Registry.add_id_rule`), e.g. where a service's name is;
- detectors with finding kinds of their own (:meth:`Registry.add_detector`), run
  by ``evtui check`` and the console's violations screen;
- exporters (:meth:`Registry.add_exporter`): extra ``--format`` values of a command.

Commands come through a second group, ``evtui.commands`` (name = a typer app or
function), so that ``evtui --help`` lists them without importing them.

Finding plugins imports nothing (entry points are metadata); a plugin that fails
to load, or adds something invalid, is one warning and evtui goes on without it.
``$EVTUI_DISABLE_PLUGINS`` (names, comma-separated) switches plugins off.

Why not pluggy: every contribution here is an object put into a typed slot
(a decoder with a priority, a detector with its kinds, a format of a command),
checked when it is added; no hook is ever called on many implementations
and its results combined, which is what pluggy's hook specs are for. The
registry keeps that one call and tells the plugin at once what it got wrong.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evtui.core.decode import Decoder, DecoderChain, set_active_chain
from evtui.core.ids import IdRule
from evtui.core.ordering import KINDS, DetectorFactory, set_plugin_detectors
from evtui.paths import config_dir

if TYPE_CHECKING:
    from evtui.config import SchemaRegistrySettings

GROUP = "evtui.plugins"
COMMANDS = "evtui.commands"
BUILTIN = "builtin"
# The built-ins' entry point as pyproject declares it, kept as data: a source tree whose
# distribution metadata was never installed loads it by name, like any plugin's.
BUILTIN_ENTRY_POINT = EntryPoint(BUILTIN, "evtui.builtins:register", GROUP)
# the commands whose --format a plugin may extend, with their built-in formats (so far the
# trace: its result is one graph; tail, check and flow stream or summarise in their own way)
BUILTIN_FORMATS = {"trace": ("tree", "json", "dot", "mermaid")}


@dataclass(frozen=True)
class Settings:
    """What a plugin may need to know of the command that loads it."""

    schema_registry: SchemaRegistrySettings | None = None


@dataclass(frozen=True)
class Exporter:
    """An extra ``--format`` of a command: ``write(result, out)`` writes it."""

    name: str
    command: str
    write: Callable[..., None]
    help: str
    plugin: str


@dataclass(frozen=True)
class DetectorSpec:
    kinds: tuple[str, ...]
    factory: DetectorFactory
    plugin: str


@dataclass
class Registry:
    """What plugins add to (see the module's doc)."""

    settings: Settings = field(default_factory=Settings)
    _decoders: list[tuple[int, int, Decoder, str]] = field(default_factory=list)
    id_rules: list[tuple[IdRule, str]] = field(default_factory=list)
    detectors: list[DetectorSpec] = field(default_factory=list)
    exporters: dict[tuple[str, str], Exporter] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    current: str = BUILTIN  # the plugin registering now (recorded with what it adds)

    def add_decoder(self, decoder: Decoder, priority: int = 100) -> None:
        """Add a decoder; built-ins use 100-400, so 50 runs before all of them."""
        if not isinstance(getattr(decoder, "name", None), str) or not callable(
            getattr(decoder, "decode", None)
        ):
            raise TypeError("a decoder needs a name (str) and a decode(data, headers) method")
        self._decoders.append((priority, len(self._decoders), decoder, self.current))

    @property
    def decoders(self) -> list[Decoder]:
        return [d for _, _, d, _ in sorted(self._decoders, key=lambda x: (x[0], x[1]))]

    def decoders_of(self, plugin: str) -> list[str]:
        return [d.name for _, _, d, p in self._decoders if p == plugin]

    def reads_registry(self) -> bool:
        """True when a decoder reads registry payloads (``wire_format_only`` ones do)."""
        return any(getattr(d, "wire_format_only", False) is True for d in self.decoders)

    def chain(self) -> DecoderChain:
        return DecoderChain(self.decoders)

    def add_id_rule(self, rule: IdRule) -> None:
        """An identity rule, applied like the config file's (they come after these)."""
        if not isinstance(rule, IdRule):
            raise TypeError("add_id_rule takes an evtui.core.ids.IdRule")
        self.id_rules.append((rule, self.current))

    def add_detector(self, kinds: tuple[str, ...], factory: DetectorFactory) -> None:
        """A detector reporting findings of ``kinds`` (names of its own, not the built-ins')."""
        kinds = tuple(kinds)
        if not kinds or not all(isinstance(k, str) and k.isidentifier() for k in kinds):
            raise ValueError("a detector's kinds are names like 'dead_letter'")
        taken = set(KINDS) | {k for spec in self.detectors for k in spec.kinds}
        clash = [k for k in kinds if k in taken]
        if clash:
            raise ValueError(f"finding kind '{clash[0]}' is taken")
        if not callable(factory):
            raise TypeError("add_detector takes a factory: a callable returning a detector")
        self.detectors.append(DetectorSpec(kinds, factory, self.current))

    def add_exporter(
        self, name: str, command: str, write: Callable[..., None], help: str = ""
    ) -> None:
        """``evtui COMMAND --format NAME`` calls ``write(result, out)`` (see each command)."""
        if command not in BUILTIN_FORMATS:
            raise ValueError(f"exporters are for {', '.join(BUILTIN_FORMATS)}, not '{command}'")
        if name in BUILTIN_FORMATS[command] or (command, name) in self.exporters:
            raise ValueError(f"format '{name}' of evtui {command} is taken")
        if not callable(write):
            raise TypeError("add_exporter takes a write(result, out) function")
        self.exporters[(command, name)] = Exporter(name, command, write, help, self.current)

    def formats(self, command: str) -> tuple[str, ...]:
        """The ``--format`` values of ``command``: the built-ins, then the plugins'."""
        extra = tuple(name for (cmd, name) in self.exporters if cmd == command)
        return BUILTIN_FORMATS[command] + extra

    def exporter(self, command: str, name: str) -> Exporter | None:
        return self.exporters.get((command, name))

    def contributions(self, plugin: str) -> list[str]:
        """What ``plugin`` added, as short texts (for ``evtui plugins``)."""
        out = [f"decoder {name}" for name in self.decoders_of(plugin)]
        out += [f"id rule {r.field}" for r, p in self.id_rules if p == plugin]
        out += [f"detector {', '.join(s.kinds)}" for s in self.detectors if s.plugin == plugin]
        out += [
            f"format {e.command} --format {e.name}"
            for e in self.exporters.values()
            if e.plugin == plugin
        ]
        return out


@dataclass(frozen=True)
class PluginInfo:
    name: str
    origin: str  # "entry point <value>" or a file path
    dist: str | None = None  # the distribution that installs it, with its version


def plugin_dirs() -> list[Path]:
    dirs = [config_dir() / "plugins"]
    extra = os.environ.get("EVTUI_PLUGIN_PATH")
    if extra:
        dirs += [Path(p).expanduser() for p in extra.split(os.pathsep) if p]
    return dirs


def disabled_names() -> set[str]:
    return {n.strip() for n in os.environ.get("EVTUI_DISABLE_PLUGINS", "").split(",") if n.strip()}


def _entry_points(group: str = GROUP) -> list[EntryPoint]:
    return sorted(entry_points(group=group), key=lambda ep: (ep.name != BUILTIN, ep.name))


def _plugin_entry_points() -> list[EntryPoint]:
    """The plugin group's entry points, the built-ins' first (declared here when missing)."""
    found = _entry_points()
    if BUILTIN not in {ep.name for ep in found}:
        found.insert(0, BUILTIN_ENTRY_POINT)
    return found


def _dist_of(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return None if dist is None else f"{dist.name} {dist.version}"


def _plugin_files() -> Iterator[Path]:
    for folder in plugin_dirs():
        if folder.is_dir():
            yield from sorted(folder.glob("*.py"))


def list_plugins() -> list[PluginInfo]:
    """Every plugin evtui would load, without importing any of them."""
    found = [_entry_point_info(ep) for ep in _plugin_entry_points()]
    found += [PluginInfo(path.stem, str(path)) for path in _plugin_files()]
    return found


def _entry_point_info(ep: EntryPoint) -> PluginInfo:
    if ep is BUILTIN_ENTRY_POINT:  # not installed: found in the source tree
        return PluginInfo(ep.name, f"{ep.value} (source tree)")
    return PluginInfo(ep.name, f"entry point {ep.value}", _dist_of(ep))


def list_commands() -> list[PluginInfo]:
    """Plugin commands (group ``evtui.commands``), without importing them."""
    return [
        PluginInfo(ep.name, f"entry point {ep.value}", _dist_of(ep))
        for ep in _entry_points(COMMANDS)
    ]


def load_command(name: str) -> Any:
    """The typer app or function a plugin command names (imported now)."""
    for ep in _entry_points(COMMANDS):
        if ep.name == name:
            return ep.load()
    raise LookupError(name)


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


_loaded: Registry | None = None


def active_registry() -> Registry:
    """The registry the last :func:`load_plugins` made (the built-ins alone before one)."""
    global _loaded
    if _loaded is None:
        _loaded = Registry()
        BUILTIN_ENTRY_POINT.load()(_loaded)
    return _loaded


def load_plugins(*, files: bool = True, settings: Settings | None = None) -> Registry:
    """Load every plugin into a new registry and make what they add the active one."""
    global _loaded
    registry = Registry(settings=settings or Settings())
    sources: list[tuple[str, Callable[[], Callable[[Registry], None]]]] = [
        (ep.name, ep.load) for ep in _plugin_entry_points()
    ]
    if files:
        sources += [(str(p), lambda p=p: _load_file(p)) for p in _plugin_files()]
    off = disabled_names()
    for name, load in sources:
        if name in off and name != BUILTIN:
            registry.disabled.append(name)
            continue
        _load_one(registry, name, load)
    set_active_chain(registry.decoders)
    set_plugin_detectors((spec.kinds, spec.factory) for spec in registry.detectors)
    _loaded = registry
    return registry


def _load_one(
    registry: Registry, name: str, load: Callable[[], Callable[[Registry], None]]
) -> None:
    """Run one plugin's register; on failure, undo what it added and warn."""
    before = (
        len(registry._decoders),
        len(registry.id_rules),
        len(registry.detectors),
        dict(registry.exporters),
    )
    registry.current = name
    try:
        load()(registry)
        registry.loaded.append(name)
    except Exception as exc:  # a broken plugin must not stop evtui
        del registry._decoders[before[0] :]
        del registry.id_rules[before[1] :]
        del registry.detectors[before[2] :]
        registry.exporters = before[3]
        reason = f"{type(exc).__name__}: {exc}"
        registry.failed[name] = reason
        registry.warnings.append(f"plugin {name} not loaded: {reason}")
    finally:
        registry.current = BUILTIN
