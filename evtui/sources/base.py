"""What every event source offers the pipeline, the CLI and the TUI."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from evtui.core.event import Event

TP = tuple[str, int]


class Batch(list):
    """Events in read order, and the partitions read to their end after them (``ends``).

    A partition at its end is done (a bounded read) or idle for now (a live
    one): whoever judges by record time over every partition read (the
    ordering checks' watermark) need not wait for it until it delivers again.
    Told with the events, so a reader behind the source learns it in order.
    """

    __slots__ = ("ends",)

    def __init__(self, events: Iterable[Event] = (), ends: Iterable[TP] = ()) -> None:
        super().__init__(events)
        self.ends: tuple[TP, ...] = tuple(ends)


def ends_of(batch: list[Event] | None) -> tuple[TP, ...]:
    """The partitions a batch says were read to their end (none for a plain list)."""
    return getattr(batch, "ends", ())


class SourceState(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    AUTH_FAILED = "auth failed"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass
class SourceStats:
    events: int = 0
    bytes: int = 0
    partitions: int = 0
    partitions_done: int = 0


@dataclass(frozen=True)
class Problem:
    """Something the user should see (a warning or a fatal error), one line."""

    level: str  # "warning" | "error"
    message: str


class Source(Protocol):
    state: SourceState
    stats: SourceStats

    def start(self) -> None: ...

    def get_batch(self, timeout: float) -> list[Event] | None:
        """New events ([] when none arrived in time); None once the source is finished."""
        ...

    def problems(self) -> list[Problem]:
        """Problems reported since the last call."""
        ...

    def stop(self) -> None: ...


@dataclass
class BatchQueue:
    """A bounded hand-over of event batches from a source thread to its reader.

    Bounded in batches, so a slow reader applies back-pressure to the source
    instead of letting memory grow.
    """

    max_batches: int = 64
    _queue: queue.Queue = field(init=False)
    _finished: bool = field(init=False, default=False)
    _closed: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self._queue = queue.Queue(maxsize=self.max_batches)

    def put(self, batch: list[Event] | None, stop: threading.Event) -> bool:
        """Hand over a batch (None = end); False if ``stop`` was set while waiting."""
        while not stop.is_set():
            try:
                self._queue.put(batch, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self, timeout: float) -> list[Event] | None:
        if self._finished:
            return None
        try:
            # closed: the end may not be queued (the queue was full), so no waiting for it
            closed = self._closed
            batch = self._queue.get(block=not closed, timeout=None if closed else timeout)
        except queue.Empty:
            if not self._closed:
                return []
            # Closed, maybe while this wait was ending empty: the source puts its last
            # batches before it closes, so they are queued now; only an empty queue
            # seen after the close is the end.
            try:
                batch = self._queue.get_nowait()
            except queue.Empty:
                self._finished = True
                return None
        if batch is None:
            self._finished = True
        return batch

    def close(self) -> None:
        """End the stream without blocking (used when the producer thread is gone)."""
        self._closed = True
        # When full, the reader drains what is queued, then sees the stream closed.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
