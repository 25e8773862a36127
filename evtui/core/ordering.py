"""Ordering violations, found as events stream by: the :class:`Checker`, the one entry point.

Pure: no Textual, no confluent-kafka. The checker runs every detector of
:mod:`evtui.core.detectors` (one per module: per-key sequences, duplicates,
event time, causes and orphans, offsets) over one stream, or the same checks in
the extension (``evtui.core.native``) where it is built, with the same
findings; then the plugins' detectors. It keeps the findings of the kinds asked
for.

Sequences are read from the default names (``seq``, ``sequence``,
``version``) on a topic only once the data shows one rises per key
(:class:`SequenceChecks`). Compacted topics (:class:`Compaction`, named by
whoever knows the topics' ``cleanup.policy``) legitimately lose superseded
versions: Kafka's cleaner keeps, per key, its latest version below the cleaned
point and everything after it, so a key's sequence stays contiguous; but a
tombstone there starts the key's sequence over, a read racing the cleaner can
jump over removed versions, and a cause may be gone.

The detectors' names are importable from here too (other modules and plugins
import them from ``evtui.core.ordering``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from evtui.core import native
from evtui.core.detectors.causes import ORPHAN_GRACE_MS as ORPHAN_GRACE_MS
from evtui.core.detectors.causes import CausalDetector as CausalDetector
from evtui.core.detectors.common import INFO as INFO
from evtui.core.detectors.common import WARNING as WARNING
from evtui.core.detectors.common import Compaction as Compaction
from evtui.core.detectors.common import Finding as Finding
from evtui.core.detectors.common import KeyState as KeyState
from evtui.core.detectors.common import field_of as field_of
from evtui.core.detectors.common import key_text as key_text
from evtui.core.detectors.common import parse_ref as parse_ref
from evtui.core.detectors.common import place as place
from evtui.core.detectors.common import ref as ref
from evtui.core.detectors.duplicates import DuplicateDetector as DuplicateDetector
from evtui.core.detectors.duplicates import content_digest
from evtui.core.detectors.event_time import EPOCH_FIRST_S as EPOCH_FIRST_S
from evtui.core.detectors.event_time import EPOCH_LAST_S as EPOCH_LAST_S
from evtui.core.detectors.event_time import EPOCH_UNITS as EPOCH_UNITS
from evtui.core.detectors.event_time import TIME_FIELDS as TIME_FIELDS
from evtui.core.detectors.event_time import TIME_HEADERS as TIME_HEADERS
from evtui.core.detectors.event_time import EventTimeDetector as EventTimeDetector
from evtui.core.detectors.event_time import epoch_ms as epoch_ms
from evtui.core.detectors.event_time import event_time_ms as event_time_ms
from evtui.core.detectors.extension import (
    NativeCauses,
    NativeSequences,
    native_findings,
    sequence_fields,
)
from evtui.core.detectors.kinds import KINDS as KINDS
from evtui.core.detectors.kinds import DetectorFactory as DetectorFactory
from evtui.core.detectors.kinds import PluginDetector as PluginDetector
from evtui.core.detectors.kinds import all_kinds as all_kinds
from evtui.core.detectors.kinds import kind_rank as kind_rank
from evtui.core.detectors.kinds import plugin_detectors
from evtui.core.detectors.kinds import set_plugin_detectors as set_plugin_detectors
from evtui.core.detectors.offsets import OffsetGapDetector as OffsetGapDetector
from evtui.core.detectors.sequence_checks import LEARN_STEPS as LEARN_STEPS
from evtui.core.detectors.sequence_checks import MAX_HELD as MAX_HELD
from evtui.core.detectors.sequence_checks import MIN_RISING as MIN_RISING
from evtui.core.detectors.sequence_checks import SequenceChecks as SequenceChecks
from evtui.core.detectors.sequences import GAP_GRACE as GAP_GRACE
from evtui.core.detectors.sequences import MAX_GAPS as MAX_GAPS
from evtui.core.detectors.sequences import PRODUCER_NAMES as PRODUCER_NAMES
from evtui.core.detectors.sequences import SEQUENCE_LIMIT as SEQUENCE_LIMIT
from evtui.core.detectors.sequences import SEQUENCE_MIN as SEQUENCE_MIN
from evtui.core.detectors.sequences import SEQUENCE_NAMES as SEQUENCE_NAMES
from evtui.core.detectors.sequences import SequenceDetector as SequenceDetector
from evtui.core.detectors.sequences import sequence_of as sequence_of
from evtui.core.detectors.watermark import TP as TP
from evtui.core.detectors.watermark import Watermark as Watermark
from evtui.core.event import Event
from evtui.core.problems import RecordProblems, offer_all


class Checker:
    """Every detector over one stream; keeps the findings of the kinds asked for.

    Whoever reads the stream tells the checker which partitions it covers
    (:meth:`expect`) and when one is read to its end (:meth:`rest`), so that
    orphans are judged on a watermark over all of them (see :class:`Watermark`).
    ``sequence_names`` given by the user are used as given; the defaults are
    judged per topic (:class:`SequenceChecks`).
    """

    def __init__(
        self,
        kinds: tuple[str, ...] | None = None,
        *,
        lateness_ms: int = 1_000,
        tolerance_ms: int = 0,
        max_keys: int = 100_000,
        max_events: int = 1_000_000,
        mid_stream: bool = False,
        sequence_names: tuple[str, ...] = SEQUENCE_NAMES,
        producer_names: tuple[str, ...] = PRODUCER_NAMES,
        compacted: Iterable[str] = (),
        keyless_sequences: bool = False,
        strict_orphans: bool = False,
        learn_sequences: bool | None = None,
    ) -> None:
        known = all_kinds()
        kinds = known if kinds is None else kinds
        unknown = set(kinds) - set(known)
        if unknown:
            raise ValueError(f"unknown kind {sorted(unknown)[0]!r} (kinds: {', '.join(known)})")
        self.kinds = frozenset(kinds)
        self.plugins = [f() for ks, f in plugin_detectors() if self.kinds.intersection(ks)]
        compaction = Compaction(compacted)  # the topics whose cleanup.policy compacts
        learn = sequence_names == SEQUENCE_NAMES if learn_sequences is None else learn_sequences
        self._sequences = SequenceChecks(
            max_keys, sequence_names, producer_names, compaction, learn=learn,
            keyless=keyless_sequences, max_held=MAX_HELD,
        )  # fmt: skip
        self._causes = CausalDetector(
            tolerance_ms, max_events=max_events, max_waiting=min(100_000, max_events),
            mid_stream=mid_stream, compaction=compaction, strict=strict_orphans,
        )  # fmt: skip
        self.duplicates = DuplicateDetector(max_events)
        self.times = EventTimeDetector(lateness_ms, max_keys)
        self.offsets = OffsetGapDetector()
        self.detectors = (self._sequences, self.duplicates, self.times, self._causes, self.offsets)
        # every detector's state in the extension, where built (the same findings)
        groups = [(n,) for n in sequence_names] if learn else [sequence_names]
        self._native = native.checks(
            max_events=max_events, max_keys=max_keys, max_waiting=min(100_000, max_events),
            lateness_ms=lateness_ms, tolerance_ms=tolerance_ms, mid_stream=mid_stream,
            strict=strict_orphans, groups=groups, producers=producer_names, learn=learn,
            keyless=keyless_sequences, max_held=MAX_HELD, compacted=sorted(compaction.topics),
            event_time_ms=event_time_ms, digest=content_digest,
            sequence_fields=sequence_fields(groups, producer_names),
        )  # fmt: skip
        self.findings: list[Finding] = []
        self.scanned = 0

    @property
    def detaches(self) -> bool:
        """The checks run in the extension without the GIL, so reading the next batch in
        another thread overlaps them (see ``commands.trace.scan``)."""
        return self._native is not None

    @property
    def sequences(self) -> SequenceChecks | NativeSequences:
        """The sequence checks (their state in the extension, where it is used)."""
        state = self._native
        return self._sequences if state is None else NativeSequences(state, self._sequences)

    @property
    def causes(self) -> CausalDetector | NativeCauses:
        """The causal detector (its state in the extension, where it is used)."""
        state = self._native
        return self._causes if state is None else NativeCauses(state, self._causes)

    def expect(self, partitions: Iterable[tuple[str, int]]) -> None:
        """The partitions the read covers (each holds orphan judgement back until read)."""
        if self._native is not None:
            self._native.expect(list(partitions))
        else:
            self._causes.mark.expect(partitions)

    def rest(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Partitions read to their end (for now): they no longer hold judgement back."""
        if self._native is not None:
            self._native.rest(list(partitions))
        else:
            self._causes.mark.rest(partitions)

    def carry(self, other: Checker) -> None:
        """Start from what ``other`` learnt of the stream (a live check restarted after a hole)."""
        self.causes.carry(other.causes)
        self.sequences.carry(other.sequences)

    def offer(self, event: Event) -> None:
        if self._native is None:
            self.scanned += 1
            for detector in self.detectors:
                self._keep(detector.offer(event))
            self._offer_plugins(event)
            return
        batch = [event]
        found, failed = self._native.offer_batch(
            batch, native.builtin_chain(), *native.id_rules(batch)
        )
        self.scanned += 1
        self._keep(native_findings(found))
        for _, exc in failed:
            raise exc
        self._offer_plugins(event)

    def _offer_plugins(self, event: Event) -> None:
        for detector in self.plugins:
            self._keep(detector.offer(event))

    def offer_batch(self, batch: list[Event], problems: RecordProblems) -> None:
        """:meth:`offer` every event; one that raises is a problem of that record.

        With the extension, the whole batch goes through every detector in one
        call, in the same order as :meth:`offer` (per event: sequences,
        duplicates, event time, causes, offsets).
        """
        state = self._native
        if state is None:
            offer_all(self.offer, batch, problems)
            return
        if type(batch) is not list:
            batch = list(batch)
        # ids are extracted in the same call (not kept on the events: nothing here reads
        # them again); events whose ids are known already give them
        found, failed = state.offer_batch(batch, native.builtin_chain(), *native.id_rules(batch))
        self.scanned += len(batch)
        self._keep(native_findings(found))
        for index, exc in failed:  # one record's failure, not the run's
            problems.failed(batch[index], exc)
        if self.plugins:  # after the built-ins, as offer does per event
            offer_all(self._offer_plugins, batch, problems)

    def offer_until_failure(
        self,
        batch: list[Event],
        plugin_failed: Callable[[Event, BaseException], object] | None = None,
    ) -> tuple[list[tuple[int, Finding]], int, BaseException | None]:
        """:meth:`offer` events until one raises: the findings kept, each with the index of
        the event it was found at (findings only the end can tell aside), how many events
        were offered (the one that raised included) and what it raised (None: every one).

        With ``plugin_failed``, a plugin's detector raising on an event is that record's
        problem (told to ``plugin_failed``; the other detectors go on), not a failure that
        stops the batch: the built-in detectors then take the batch in one call (with the
        extension) and the plugins each event after them, as :meth:`offer_batch` does.
        """
        kept: list[tuple[int, Finding]] = []
        state = self._native
        if (
            state is not None
            and self.plugins
            and plugin_failed is not None
            and type(self).offer is Checker.offer
        ):
            return self._until_failure_with_plugins(state, batch, plugin_failed)
        if state is None or self.plugins or type(self).offer is not Checker.offer:
            for i, event in enumerate(batch):
                before = len(self.findings)
                try:
                    self.offer(event)
                except Exception as exc:
                    return kept, i + 1, exc
                finally:
                    kept += [(i, f) for f in self.findings[before:]]
            return kept, len(batch), None
        return self._native_until_failure(state, batch)

    def _native_until_failure(
        self, state: Any, batch: list[Event]
    ) -> tuple[list[tuple[int, Finding]], int, BaseException | None]:
        """The built-in detectors (in the extension) over ``batch`` until one raises."""
        kept: list[tuple[int, Finding]] = []
        found, failed = state.offer_batch(
            batch, native.builtin_chain(), *native.id_rules(batch), stop=True
        )
        done, exc = (failed[0][0] + 1, failed[0][1]) if failed else (len(batch), None)
        self.scanned += done
        for index, finding in zip((f[0] for f in found), native_findings(found), strict=True):
            if finding.kind in self.kinds:
                self.findings.append(finding)
                kept.append((index, finding))
        return kept, done, exc

    def _until_failure_with_plugins(
        self,
        state: Any,
        batch: list[Event],
        plugin_failed: Callable[[Event, BaseException], object],
    ) -> tuple[list[tuple[int, Finding]], int, BaseException | None]:
        """The built-ins over the batch in one call, then the plugins over each event they
        took (not the one they raised on, as :meth:`offer` skips it); per event, the
        built-ins' findings before the plugins', as :meth:`offer` gives them."""
        start = len(self.findings)
        kept, done, exc = self._native_until_failure(state, batch)
        for index in range(done - 1 if exc is not None else done):
            event = batch[index]
            before = len(self.findings)
            try:
                self._offer_plugins(event)
            except Exception as failure:  # one record's problem, for that plugin alone
                plugin_failed(event, failure)
            kept += [(index, f) for f in self.findings[before:]]
        kept.sort(key=lambda pair: pair[0])  # stable: the built-ins' first, per event
        self.findings[start:] = [finding for _, finding in kept]
        return kept, done, exc

    def _keep(self, found: Iterable[Finding]) -> None:
        for finding in found:
            if finding.kind in self.kinds:
                self.findings.append(finding)

    def finish(self) -> list[Finding]:
        """Every finding, the ones only the end can tell included, in stream order."""
        if self._native is not None:
            self._keep(native_findings(self._native.flush()))
        else:
            self._keep(self._sequences.flush() + self._causes.flush())
        for detector in self.plugins:
            self._keep(detector.finish())
        return self.findings

    def notes(self) -> list[str]:
        """What the bounds made the detectors forget (findings may be missing there)."""
        if self._native is not None:
            n = self._native.counters()
            forgotten = (
                (n["sequences_evicted"], "keys' sequences"),
                (n["ids_evicted"], "event ids (duplicates)"),
                (n["times_evicted"], "keys' event times"),
                (n["known_evicted"], "events as possible causes"),
                (n["dropped"], "effects waiting for their causes"),
                (n["held_over"], "sequence findings held while a field was judged"),
            )
        else:
            forgotten = (
                (self._sequences.keys.evicted, "keys' sequences"),
                (self.duplicates.seen.evicted, "event ids (duplicates)"),
                (self.times.keys.evicted, "keys' event times"),
                (self._causes.known.evicted, "events as possible causes"),
                (self._causes.dropped, "effects waiting for their causes"),
                (self._sequences.held_over, "sequence findings held while a field was judged"),
            )
        return [f"{n:,} {what} forgotten at the memory bound" for n, what in forgotten if n]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.kind] = counts.get(finding.kind, 0) + 1
        return dict(sorted(counts.items()))
