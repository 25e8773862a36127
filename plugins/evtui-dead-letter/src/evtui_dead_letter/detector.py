"""The ``dead_letter`` finding: a record that reached a dead-letter topic.

One finding per dead-letter record, at that record, with its original's ref
when the headers name it (see :mod:`.conventions`). A record whose headers
follow a convention is a dead letter on any topic (Connect's and Spring's DLQ
topics may be named anything); a record on a topic named like a dead-letter
topic without such headers is one too, its original unknown. Nothing is kept
between records but a counter: each record is judged on itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

from evtui.core.event import Event
from evtui.core.ordering import WARNING, Finding, key_text

from .conventions import Link, is_dead_letter_topic, read_link

KIND = "dead_letter"
KNOWN = "Spring Kafka kafka_dlt-*, Kafka Connect __connect.errors.*, SmallRye dead-letter-*"


class DeadLetterDetector:
    """evtui's ``PluginDetector``: ``offer`` each event, ``finish`` at the end."""

    def __init__(self) -> None:
        self.reported = 0

    def offer(self, event: Event) -> list[Finding]:
        topic = event.topic
        link = read_link(topic, event.headers)
        if link is None and not is_dead_letter_topic(topic):
            return []
        self.reported += 1
        return [_finding(event, link)]

    def finish(self) -> list[Finding]:
        return []  # every finding was reported at its record


def _finding(event: Event, link: Link | None) -> Finding:
    here = f"{event.topic}/{event.partition}/{event.offset}"
    if link is None:
        return Finding(
            KIND, WARNING, event.topic, event.partition, event.offset, key_text(event), (here,),
            expected="records processed without reaching a dead-letter topic",
            seen=f"a record on dead-letter topic {event.topic}, original unknown",
            explanation=(
                f"{event.topic} is named as a dead-letter topic, but this record carries no "
                f"header linking it to its original ({KNOWN}): the original is unknown."
            ),
        )  # fmt: skip
    failure = _failure(link)
    by = f" ({link.via})" if link.via else ""
    original = link.ref
    if original is None:
        return Finding(
            KIND, WARNING, event.topic, event.partition, event.offset, key_text(event), (here,),
            expected="records processed without reaching a dead-letter topic",
            seen=f"dead-lettered by {link.source}{by}{failure}; link unreadable",
            explanation=(
                f"{link.source} sent this record to {event.topic}{failure}, but its link to the "
                f"original is unreadable: {link.unreadable}."
            ),
        )  # fmt: skip
    when = ""
    if link.timestamp is not None:
        try:
            stamp = datetime.fromtimestamp(link.timestamp / 1000, UTC)
            when = f" (written {stamp.isoformat(timespec='milliseconds').replace('+00:00', 'Z')})"
        except (OverflowError, OSError, ValueError):
            when = ""
    return Finding(
        KIND, WARNING, event.topic, event.partition, event.offset, key_text(event),
        (here, original),
        expected=f"{original} processed",
        seen=f"dead-lettered by {link.source}{by}{failure}",
        explanation=(
            f"The record at {original}{when} failed and {link.source}{by} sent it to "
            f"{event.topic}{failure}. Fix the cause, then replay it from {here}."
        ),
    )  # fmt: skip


def _failure(link: Link) -> str:
    if link.exception and link.message:
        return f": {link.exception}: {link.message}"
    if link.exception or link.message:
        return f": {link.exception or link.message}"
    return ""
