"""Ctrl-C that winds work down instead of raising inside the Kafka client.

confluent-kafka runs Python callbacks (delivery reports, error and log callbacks)
inside its C calls. A ``KeyboardInterrupt`` raised in one of them is not always
handed back: on Python 3.11 the client fetches it unnormalized and may lose it, so
the call returns an error with no exception set (``SystemError``) or the work just
goes on and Ctrl-C seems ignored. While Kafka work runs on the main thread, the
first Ctrl-C therefore only asks it to stop (the work checks at its next step,
outside the client); a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass
class Interrupt:
    """Whether Ctrl-C asked the work to stop."""

    requested: bool = False


@contextlib.contextmanager
def ctrl_c_calls(stop: Callable[[], None]) -> Iterator[Interrupt]:
    """Within the block, the first Ctrl-C calls ``stop`` (which must only set a flag)
    and marks the yielded :class:`Interrupt`; the next one raises KeyboardInterrupt.
    Off the main thread (where no signal arrives) it changes nothing."""
    interrupt = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield interrupt
        return

    def first(signum: int, frame: object) -> None:
        interrupt.requested = True
        stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield interrupt
    finally:
        signal.signal(signal.SIGINT, previous)
