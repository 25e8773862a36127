"""What the console reads its data through: :class:`Backend` and its :class:`Poller`.

Each backend gives the app the same two things: a cluster poller (the overview and
the header) and ``open_tail(topics, start)``, which returns a started source. The
backends themselves (a Kafka cluster, the in-process demo simulator, a recording)
are built by the application layer, :mod:`evtui.application.backends`; their names
stay importable from here.
"""

from __future__ import annotations

from typing import Protocol

from evtui.application.backends import DemoBackend as DemoBackend
from evtui.application.backends import FileBackend as FileBackend
from evtui.application.backends import KafkaBackend as KafkaBackend
from evtui.core.positions import Position
from evtui.sources.base import Source


class Poller(Protocol):
    state: object
    last_error: str | None

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def latest(self) -> object: ...
    def problems(self) -> list[str]: ...


class Backend(Protocol):
    name: str
    default_topics: list[str]
    cluster_hints: bool  # True: an evtui command on the same cluster can read what this reads

    def make_poller(self) -> Poller: ...
    def make_lag_poller(self) -> Poller: ...
    def open_tail(self, topics: list[str], start: Position) -> Source: ...
    def close(self) -> None: ...
