"""evtui plugin: ``dead_letter`` findings, each linked to the record that failed.

Registered through the ``evtui.plugins`` entry point like any third-party
plugin (it is the template for them: see ``plugins/README.md``). It adds one
detector with one finding kind of its own, ``dead_letter``: a record that
reached a dead-letter topic, with the original record's ref when its headers
name it (Spring Kafka, Kafka Connect, SmallRye Reactive Messaging, Karafka).
"""

from __future__ import annotations

from typing import Any

from .conventions import Link, read_link
from .detector import KIND, DeadLetterDetector

__all__ = ["KIND", "DeadLetterDetector", "Link", "read_link", "register"]
__version__ = "0.1.0"


def register(registry: Any) -> None:
    """Called once by evtui with its registry; a new detector per check run."""
    registry.add_detector((KIND,), DeadLetterDetector)
