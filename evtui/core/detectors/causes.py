"""Effects before their causes (``causal_inversion``) and causes never seen (``orphan``).

On compacted topics a cause may be gone: no orphans once records were removed
(they are counted instead).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from evtui.core.detectors.common import (
    WARNING,
    Compaction,
    Finding,
    KeyState,
    key_text,
    make_finding,
    ref,
)
from evtui.core.detectors.watermark import Watermark
from evtui.core.event import Event

ORPHAN_GRACE_MS = 60_000  # a cause not seen this long (record time) after its effect: orphan


@dataclass
class _Waiting:
    """An effect whose cause has not been seen yet."""

    cause: str
    effect_ref: str
    effect_ms: int
    effect: tuple[str, int, int, str | None]  # topic, partition, offset, key
    kind: tuple[str, str | None] = ("", None)  # the effect's topic and event type


class CausalDetector:
    """Effects produced before their causes, and causes never seen.

    Kinds ``causal_inversion`` and ``orphan``.

    Causes are the causation ids an event names (see ``core.ids``); an event
    is known by its event id. As in the trace engine, an event whose parent
    span (B3, Jaeger) is another event's span (same trace) is that event's
    effect too: only for inversions, since a parent span need not be an event.
    Produced means the record's timestamp. A cause seen after its effect
    settles the wait. One not seen once the :class:`Watermark` over every
    partition read has passed ``grace_ms`` (of record time) after its effect,
    or by :meth:`flush`, is missing. An effect delivered twice is reported once
    (the duplicate is ``duplicate_event``'s).

    A missing cause is an ``orphan`` only when it could be in the topics read:
    when causes of effects of the same kind (topic and event type) have been
    found there. Otherwise the cause most likely lives on a topic not read, and
    the effect is counted as not judged (``outside``). ``strict`` makes every
    missing cause an orphan.
    """

    def __init__(
        self,
        tolerance_ms: int = 0,
        grace_ms: int = ORPHAN_GRACE_MS,
        max_events: int = 1_000_000,
        max_waiting: int = 100_000,
        mid_stream: bool = False,
        compaction: Compaction | None = None,
        strict: bool = False,
    ) -> None:
        self.tolerance_ms = tolerance_ms
        self.grace_ms = grace_ms
        self.mark = Watermark()  # record time over every partition read
        # Kinds of effect (topic, event type) whose causes were found in the topics read:
        # only their missing causes are orphans (unless strict); the rest are counted.
        self.strict = strict
        self.evidence = KeyState(10_000)
        self.outside = 0  # effects not judged: their causes are likely on topics not read
        self._undecided: deque[_Waiting] = deque()  # missing causes waiting for evidence
        # A range that starts mid-stream: an effect within grace_ms of the first record
        # may have its cause just before the range; it is not judged (counted instead).
        self.mid_stream = mid_stream
        self.unjudged = 0
        # Once the cleaner has removed records of a compacted topic read, any cause may
        # have been among them: effects still waiting are not judged (counted instead).
        self.compaction = compaction or Compaction()
        self.compacted_away = 0
        self.forgotten = 0  # effects not judged: events were forgotten at the memory bound
        self._first_ms: int | None = None
        self.known = KeyState(max_events)  # event id -> (record ms, ref)
        self.waiting: OrderedDict[str, list[_Waiting]] = OrderedDict()  # cause id -> effects
        self.max_waiting = max_waiting
        self.dropped = 0  # waits given up at the bound (not reported as orphans)
        self._said = KeyState(max_waiting)  # (effect id or ref, cause) already reported
        # Span parentage (B3, Jaeger: a parent span id), as the trace engine links events:
        # an effect whose parent span is another event's span. Inversions only: a parent
        # span need not be an event (an HTTP request), so a missing one is no orphan.
        self.spans = KeyState(max_events)  # (trace, span) -> (record ms, ref)
        self.span_waiting: OrderedDict[tuple[str, str], list[_Waiting]] = OrderedDict()
        self._inverted = KeyState(max_waiting)  # (cause ref, effect ref) reported

    def offer(self, event: Event) -> list[Finding]:
        if self.compaction.topics:
            self.compaction.see(event)
        ids = event.ids
        here, at = ref(event), event.timestamp
        self.mark.see((event.topic, event.partition), at)
        if self._first_ms is None or at < self._first_ms:
            self._first_ms = at
        found: list[Finding] = []
        if ids.event_id is not None:
            found += self._arrived(ids.event_id, at, here)
        for cause in ids.causation_ids:
            if not self._first((ids.event_id or here, cause)):
                continue  # this effect and cause were looked at (the effect delivered again)
            known = self.known.get(cause)
            if known is None:
                self._wait(cause, here, at, event)
                continue
            self._found_cause((event.topic, ids.event_type))
            if at < known[0] - self.tolerance_ms:
                found += self._inversion(event, here, at, known)
        if ids.trace_id is not None and (ids.span_id or ids.parent_span_id):
            found += self._spans(event, ids.trace_id, here, at)
        return found + self._overdue() if self.waiting else found

    def _spans(self, event: Event, trace: str, here: str, at: int) -> list[Finding]:
        """Span parentage: this event's span may be awaited; its parent span may be known."""
        ids, found = event.ids, []
        if ids.span_id is not None:
            span = (trace, ids.span_id)
            if span not in self.spans:
                self.spans.put(span, (at, here))
            for wait in self.span_waiting.pop(span, ()):
                found += self._late_cause(wait, here, at, f"span {ids.span_id}")
        parent = ids.parent_span_id
        if parent is not None and self._first((ids.event_id or here, f"span {trace} {parent}")):
            known = self.spans.get((trace, parent))
            if known is not None:
                if at < known[0] - self.tolerance_ms:
                    found += self._inversion(event, here, at, known)
            else:
                where = (event.topic, event.partition, event.offset, key_text(event))
                waits = self.span_waiting.setdefault((trace, parent), [])
                waits.append(_Waiting(parent, here, at, where))
                if len(self.span_waiting) > self.max_waiting:
                    self.span_waiting.popitem(last=False)  # not an orphan: just forgotten
                    self.dropped += 1
        return found

    def _first(self, pair: tuple[str, str]) -> bool:
        """True the first time an (effect, cause) pair is seen (bounded memory)."""
        said = self._said
        if pair in said:
            return False
        said.put(pair, True)
        return True

    def _arrived(self, eid: str, at: int, here: str) -> list[Finding]:
        if eid not in self.known:
            self.known.put(eid, (at, here))
        found = []
        for wait in self.waiting.pop(eid, ()):
            self._found_cause(wait.kind)
            found += self._late_cause(wait, here, at, eid)
        return found

    def _found_cause(self, kind: tuple[str, str | None]) -> None:
        if kind not in self.evidence:
            self.evidence.put(kind, True)

    def _late_cause(self, wait: _Waiting, here: str, at: int, name: str) -> list[Finding]:
        """The cause of an effect seen earlier arrived: an inversion if produced after it."""
        if wait.effect_ms >= at - self.tolerance_ms or not self._newly_inverted(
            here, wait.effect_ref
        ):
            return []
        topic, partition, offset, key = wait.effect
        return [
            Finding(
                "causal_inversion", WARNING, topic, partition, offset, key,
                (here, wait.effect_ref),
                expected=f"the effect produced after its cause {name}",
                seen=f"produced {at - wait.effect_ms:,} ms before it",
                explanation="an effect was written before the event that caused it: "
                "clocks that disagree, or a cause re-sent late",
            )
        ]  # fmt: skip

    def _inversion(self, event: Event, here: str, at: int, known: tuple[int, str]) -> list[Finding]:
        cause_ms, cause_ref = known
        if not self._newly_inverted(cause_ref, here):
            return []  # the same pair linked twice (a causation id and a parent span)
        return [
            make_finding(
                "causal_inversion", event, (cause_ref, here),
                expected=f"produced at or after its cause ({cause_ref})",
                seen=f"produced {cause_ms - at:,} ms before it",
                explanation="an effect was written before the event that caused it: clocks "
                "that disagree, or a cause re-sent late",
            )
        ]  # fmt: skip

    def _newly_inverted(self, cause_ref: str, effect_ref: str) -> bool:
        pair = (cause_ref, effect_ref)
        if pair in self._inverted:
            return False
        self._inverted.put(pair, True)
        return True

    def _wait(self, cause: str, here: str, at: int, event: Event) -> None:
        where = (event.topic, event.partition, event.offset, key_text(event))
        kind = (event.topic, event.ids.event_type)
        self.waiting.setdefault(cause, []).append(_Waiting(cause, here, at, where, kind))
        if len(self.waiting) > self.max_waiting:
            self.waiting.popitem(last=False)
            self.dropped += 1

    def _overdue(self) -> list[Finding]:
        now = self.mark.value()
        if now is None:
            return []  # a partition of the range is not read yet: its records may be causes
        found: list[Finding] = []
        while self.waiting:
            cause, waits = next(iter(self.waiting.items()))
            oldest = waits[0].effect_ms if len(waits) == 1 else min(w.effect_ms for w in waits)
            if now - oldest <= self.grace_ms:
                break
            del self.waiting[cause]
            found += self._orphans(waits)
        return found

    def _orphans(self, waits: list[_Waiting], final: bool = False) -> list[Finding]:
        judged = [w for w in waits if not self._near_start(w)]
        self.unjudged += len(waits) - len(judged)
        if judged and self.compaction.removed:
            self.compacted_away += len(judged)
            return []
        if judged and self.known.evicted:  # the cause may be one the bound made us forget
            self.forgotten += len(judged)
            return []
        return [_orphan(w) for w in judged if self._could_be_read(w, final)]

    @property
    def not_read(self) -> int:
        """Effects not judged (so far) because their causes are likely on topics not read."""
        return self.outside + len(self._undecided)

    def _could_be_read(self, wait: _Waiting, final: bool) -> bool:
        """True when the missing cause could be in the topics read (see the class)."""
        if self.strict or wait.kind in self.evidence:
            return True
        if final:
            self.outside += 1
            return False
        self._undecided.append(wait)  # evidence may come later in the read
        if len(self._undecided) > self.max_waiting:
            self._undecided.popleft()
            self.outside += 1
        return False

    def _near_start(self, wait: _Waiting) -> bool:
        first = self._first_ms
        return self.mid_stream and first is not None and wait.effect_ms < first + self.grace_ms

    def flush(self) -> list[Finding]:
        """Every effect still waiting for its cause: orphans (the end of a scan)."""
        found = [f for waits in self.waiting.values() for f in self._orphans(waits, final=True)]
        self.waiting.clear()
        undecided, self._undecided = list(self._undecided), deque()
        found += [_orphan(w) for w in undecided if self._could_be_read(w, final=True)]
        return found

    def carry(self, other: CausalDetector) -> None:
        """Keep what ``other`` learnt (after a restart): partitions, kinds with causes found."""
        self.mark.carry(other.mark)
        for kind in other.evidence:
            self._found_cause(kind)
        self.outside += other.outside + len(other._undecided)


def _orphan(wait: _Waiting) -> Finding:
    topic, partition, offset, key = wait.effect
    return Finding(
        "orphan", WARNING, topic, partition, offset, key, (wait.effect_ref,),
        expected=f"its cause {wait.cause}", seen="never",
        explanation=f"the event names cause {wait.cause}, which was not seen (lost, not "
        "produced, or outside the range read)",
    )  # fmt: skip
