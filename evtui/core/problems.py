"""Records whose per-record work failed: counted and named, never the end of a run.

A scan (``evtui check``, ``evtui trace``, a trace worker) offers each record to
its detectors inside :func:`offer_all` and with :func:`~evtui.core.event.problems_reported_to`
pointing at a :class:`RecordProblems`: a value that does not decode (invalid JSON,
JSON nested deeper than :data:`~evtui.core.decode.MAX_DEPTH`), ids that could not
be read, or a detector that raised on one record becomes a problem of that
record (topic, partition, offset and a one-line reason), and the scan goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from evtui.core.event import describe_error
from evtui.core.native import fill_ids
from evtui.core.text import visible

if TYPE_CHECKING:
    from evtui.core.event import Event

KEEP = 20  # records named in a report (JSON); the count covers them all
SHOWN = 5  # records named on stderr

Problem = tuple[str, int, int, str]  # topic, partition, offset, reason


class RecordProblems:
    """How many records had a problem, and the first :data:`KEEP` of them with a reason.

    A record reported twice in a row (its value read by two detectors) counts once.
    """

    def __init__(self) -> None:
        self.count = 0
        self.by_topic: dict[str, int] = {}  # what ``add`` counted, per topic
        self.first: list[Problem] = []
        self._last: tuple[str, int, int] | None = None
        self._lock = threading.Lock()  # a scan's reader thread reports too (headers lost)

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, event: Event, reason: str) -> None:
        """``event`` had a problem (the sink of ``problems_reported_to``)."""
        where = (event.topic, event.partition, event.offset)
        with self._lock:
            if where == self._last:
                return
            self._last = where
            self.count += 1
            self.by_topic[event.topic] = self.by_topic.get(event.topic, 0) + 1
            if len(self.first) < KEEP:
                self.first.append((*where, " ".join(reason.split())[:200]))

    def failed(self, event: Event, exc: BaseException) -> None:
        """Work on ``event`` raised ``exc``."""
        self.add(event, describe_error(exc))

    def merge(self, count: int, first: Iterable[Problem]) -> None:
        """Add another scan's problems (a trace worker's ``(count, first)``)."""
        self.count += count
        room = KEEP - len(self.first)
        if room > 0:
            self.first.extend(list(first)[:room])

    def lines(self, verb: str) -> list[str]:
        """``N records could not be VERB: t/0/5: reason``, then one line per further record."""
        if not self.count:
            return []
        named = [f"{t}/{p}/{o}: {visible(reason)}" for t, p, o, reason in self.first[:SHOWN]]
        records = "1 record" if self.count == 1 else f"{self.count:,} records"
        more = self.count - len(named)
        head = f"{records} could not be {verb}" + (f" ({more:,} more not named)" if more else "")
        return [f"{head}: {named[0]}", *(f"  also {line}" for line in named[1:])]

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "records": [
                {"ref": f"{t}/{p}/{o}", "topic": t, "partition": p, "offset": o, "reason": r}
                for t, p, o, r in self.first
            ],
        }


def offer_all(
    offer: Callable[[Event], object], batch: Iterable[Event], problems: RecordProblems
) -> None:
    """``offer`` each event; one that raises is a problem of that record, and the rest go on.

    A list's ids are extracted first, in one native call where the extension can
    (:func:`evtui.core.native.fill_ids`): the detectors and collectors read them next.
    """
    if type(batch) is list:
        fill_ids(batch)
    events = iter(batch)
    while True:
        try:
            for event in events:
                offer(event)
            return
        except Exception as exc:  # one record's failure, not the run's
            problems.failed(event, exc)
