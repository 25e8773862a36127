"""The finding kinds: the built-ins' (:data:`KINDS`) and the plugins' detectors
(:class:`PluginDetector`, registered with :func:`set_plugin_detectors`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from evtui.core.detectors.common import Finding
from evtui.core.event import Event

KINDS = (
    "sequence_regression",
    "sequence_duplicate",
    "sequence_gap",
    "event_time_regression",
    "causal_inversion",
    "duplicate_event",
    "orphan",
    "offset_gap",
)


class PluginDetector(Protocol):
    """A detector a plugin adds: its own finding kinds, run beside the built-ins.

    It sees every event in stream order (``offer``) and may report findings at
    the end (``finish``); it keeps its own state bounded. An exception raised on
    an event is a problem of that record, as for the built-ins.
    """

    def offer(self, event: Event) -> Iterable[Finding]: ...

    def finish(self) -> Iterable[Finding]: ...


DetectorFactory = Callable[[], PluginDetector]
_plugin_detectors: tuple[tuple[tuple[str, ...], DetectorFactory], ...] = ()


def set_plugin_detectors(specs: Iterable[tuple[tuple[str, ...], DetectorFactory]]) -> None:
    """The plugins' detectors (their kinds and a factory) every new
    :class:`~evtui.core.ordering.Checker` runs."""
    global _plugin_detectors
    _plugin_detectors = tuple((tuple(kinds), factory) for kinds, factory in specs)


def plugin_detectors() -> tuple[tuple[tuple[str, ...], DetectorFactory], ...]:
    """The plugins' detectors registered last: their kinds and a factory each."""
    return _plugin_detectors


def all_kinds() -> tuple[str, ...]:
    """The built-in finding kinds, then the plugins' (in the order they registered)."""
    extra = [k for kinds, _ in _plugin_detectors for k in kinds if k not in KINDS]
    return KINDS + tuple(dict.fromkeys(extra))


def kind_rank(kind: str) -> int:
    """Where a kind sorts among :func:`all_kinds` (unknown ones last)."""
    kinds = all_kinds()
    return kinds.index(kind) if kind in kinds else len(kinds)
