"""A recording (``evtui record``) as an event source: for the console, and for a replay.

:class:`FileSource` is a :class:`~evtui.sources.base.Source` over the file: one
thread reads it, honours the start position (``beginning``, ``end``, ``N``,
``-N``, a time; see :class:`~evtui.core.recording.Selection`), merges the
partitions in record-time order (:mod:`evtui.core.recording_merge`) and finishes
at the end of the file. :class:`FileSlices` is the ``SliceSource`` of ``evtui
replay --from-file``: one topic of the file, between two positions.
:class:`RecordingPoller` and :class:`RecordingLagPoller` give the console's
overview and lag screens what a file can tell.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from evtui.core.cluster import ClusterSnapshot, TopicInfo
from evtui.core.decode import prepare_events
from evtui.core.event import Event
from evtui.core.lag import LagReport
from evtui.core.positions import BEGINNING, Position, now_ms
from evtui.core.recording import (
    Recording,
    RecordingError,
    RecordingReader,
    Selection,
    inspect_recording,
    select_topics,
)
from evtui.core.recording_merge import MergedReader, PartitionEnd
from evtui.errors import EvtuiError, UsageError
from evtui.sources.base import Batch, BatchQueue, Problem, SourceState, SourceStats

TP = tuple[str, int]
OFFLINE = "offline"
BATCH = 2048  # records handed to the view at once
NO_GROUPS = "a recording has no consumer groups"


def incomplete_note(recording: Recording) -> str | None:
    """What to say about a recording that was interrupted (None when it completed)."""
    trailer = recording.trailer
    if trailer.complete:
        return None
    why = f" ({trailer.note})" if trailer.note else ""
    return (
        f"{recording.path} is incomplete{why}: it holds the {trailer.records:,} records read "
        "before the recording stopped"
    )


class FileSource:
    """The records of some of a recording's topics, from a start position to the file's end.

    ``topics``: names or ``^regex`` among the file's topics (None: all of them).
    """

    lossless = True  # not live: the view waits for it rather than dropping (see Feed)

    def __init__(
        self,
        path: str | Path,
        topics: Sequence[str] | None = None,
        start: Position = BEGINNING,
        *,
        recording: Recording | None = None,
        max_queued_batches: int = 16,
    ) -> None:
        self.path = Path(path)
        self.recording = recording or inspect_recording(self.path)
        self.requested = list(topics) if topics else None
        self.topics = select_topics(self.recording.topics, topics, str(self.path))
        self.start_position = start
        header = self.recording.header
        self.compacted = frozenset(header.compacted) & frozenset(self.topics)
        parts = [p for p in header.partitions if p.topic in self.topics]
        # the ordering checks judge orphans only when the stream starts at the log's start
        self.from_log_start = all(p.start <= p.low for p in parts)
        self.state = SourceState.CONNECTED
        self.stats = SourceStats(partitions=len(parts))
        self._queue = BatchQueue(max_queued_batches)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._problems: list[Problem] = []
        self._lock = threading.Lock()
        note = incomplete_note(self.recording)
        if note is not None:
            self._report("warning", note)

    def reopen(self, start: Position, topics: Sequence[str] | None = None) -> FileSource:
        """A new, unstarted source on the same file from ``start`` (a seek)."""
        return FileSource(
            self.path,
            self.requested if topics is None else topics,
            start,
            recording=self.recording,
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="evtui-file-source", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._read()
            if not self._stop.is_set():
                self.state = SourceState.FINISHED
                self.stats.partitions_done = self.stats.partitions
        except RecordingError as exc:
            self.state = SourceState.FAILED
            self._report("error", str(exc))
        except Exception as exc:  # the thread must never die silently
            self.state = SourceState.FAILED
            self._report("error", f"reading {self.path} failed: {type(exc).__name__}: {exc}")
        finally:
            self._queue.close()

    def _read(self) -> None:
        """The chosen records merged in record-time order across partitions, in batches."""
        counts = self.recording.trailer.counts()
        selects = Selection(self.start_position, None, counts).selects
        partitions = [(t, p) for t in self.topics for p in self.recording.partitions(t)]
        with MergedReader(self.path, counts) as reader:
            merged = reader.events(
                partitions,
                lambda e: selects((e.topic, e.partition), e.offset, e.timestamp),
                ends=True,
            )
            batch = Batch()
            try:
                for event in merged:
                    if isinstance(event, PartitionEnd):
                        batch.ends += ((event.topic, event.partition),)
                        continue
                    batch.append(event)
                    if len(batch) == BATCH:
                        if not self._deliver(batch):
                            return
                        batch = Batch()
            except RecordingError:
                self._deliver(batch)  # what came before the bad line
                raise
            self._deliver(batch)

    def reading(self) -> list[tuple[str, int]]:
        """The partitions this source delivers (the ordering checks wait for each)."""
        return [(t, p) for t in self.topics for p in self.recording.partitions(t)]

    def _deliver(self, batch: Batch) -> bool:
        if self._stop.is_set():
            return False
        if not batch and not batch.ends:
            return True
        self.stats.events += len(batch)
        self.stats.bytes += sum(len(e.value) for e in batch if e.value)
        prepare_events(batch)  # schemas fetched here, in the reader's thread
        return self._queue.put(batch, self._stop)

    def get_batch(self, timeout: float = 0.1) -> list[Event] | None:
        return self._queue.get(timeout)

    def problems(self) -> list[Problem]:
        with self._lock:
            problems, self._problems = self._problems, []
        return problems

    def _report(self, level: str, message: str) -> None:
        with self._lock:
            self._problems.append(Problem(level, message))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


# -- replay --from-file -----------------------------------------------------------------------


def choose_topic(recording: Recording, topic: str | None) -> str:
    """The one topic a replay reads: ``topic``, or the file's only one."""
    topics = recording.topics
    if topic is None:
        if len(topics) == 1:
            return topics[0]
        raise UsageError(
            f"{recording.path} holds {len(topics)} topics ({', '.join(topics) or 'none'}): "
            f"name the one to replay: evtui replay --from-file {recording.path} TOPIC --to ..."
        )
    if topic.startswith("^"):
        raise UsageError(f"replay reads one topic, not a pattern: '{topic}'")
    if topic not in topics:
        raise UsageError(
            f"{recording.path} holds no topic '{topic}'; its topics: {', '.join(topics)}"
        )
    return topic


class FileSlices:
    """One topic of a recording between two positions: where ``evtui replay --from-file`` reads.

    The whole file is read (and checked) when the slices are first asked for,
    so a corrupt file stops a replay before anything is written.
    """

    cluster_id: str | None = None  # a file is not a cluster

    def __init__(
        self,
        path: str | Path,
        start: Position = BEGINNING,
        until: Position | None = None,
        partitions: frozenset[int] | None = None,
        topic: str | None = None,
    ) -> None:
        self.name = str(path)
        self.path = str(Path(path).resolve())  # what a checkpoint keeps, to resume from anywhere
        self.recording = inspect_recording(path)
        self.topic = choose_topic(self.recording, topic)
        self.start, self.until = start, until
        known = self.recording.partitions(self.topic)
        if partitions is not None:
            unknown = sorted(partitions - set(known))
            if unknown:
                raise UsageError(
                    f"invalid --partitions: {self.topic} has no partition {unknown[0]} in "
                    f"{self.name} (it has {', '.join(map(str, known)) or 'none'})"
                )
        self.partitions = sorted(partitions) if partitions is not None else known
        self._bounds: dict[int, tuple[int, int]] | None = None
        note = incomplete_note(self.recording)
        if note is not None:
            print(f"evtui replay: note: {note}", file=sys.stderr)

    def slices(self) -> dict[int, tuple[int, int]]:
        """Partition -> (first offset, exclusive stop) of the records chosen; ``(0, 0)``: none."""
        if self._bounds is None:
            self._bounds = self._find_bounds()
        return dict(self._bounds)

    def _find_bounds(self) -> dict[int, tuple[int, int]]:
        found: dict[int, list[int]] = {}
        chosen = frozenset(self.partitions)
        counts = self.recording.trailer.counts()
        selection = Selection(self.start, self.until, counts)
        with RecordingReader(self.path) as reader:
            for batch in reader.batches():
                for e in batch:
                    if e.topic != self.topic or e.partition not in chosen:
                        continue
                    if selection.selects((e.topic, e.partition), e.offset, e.timestamp):
                        span = found.setdefault(e.partition, [e.offset, e.offset])
                        span[1] = e.offset
        bounds = {p: (0, 0) for p in self.partitions}
        bounds.update({p: (first, last + 1) for p, (first, last) in found.items()})
        return bounds

    def read(
        self, bounds: dict[int, tuple[int, int]], deliver: Callable[[list[Event]], bool]
    ) -> None:
        """Each partition's records from its start to its stop, in offset order, in batches."""
        open_ = {p for p, (start, stop) in bounds.items() if start < stop}
        if not open_:
            return
        topic = self.topic
        try:
            with RecordingReader(self.path) as reader:
                for batch in reader.batches():
                    out = []
                    for e in batch:
                        if e.topic != topic or e.partition not in open_:
                            continue
                        start, stop = bounds[e.partition]
                        if e.offset >= stop - 1:
                            open_.discard(e.partition)  # its last record: done with it
                        if start <= e.offset < stop:
                            out.append(e)
                    if out and not deliver(out):
                        return
                    if not open_:
                        return
        except RecordingError as exc:
            raise EvtuiError(str(exc)) from None

    def close(self) -> None:
        pass


# -- the console's overview and lag screens ---------------------------------------------------


class RecordingPoller:
    """The overview of a recording: its topics, partitions, records and offsets (no groups).

    A topic's END is the sum over its partitions of the offset after the last
    record recorded, MESSAGES the records the file holds.
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.state = OFFLINE
        self.last_error: str | None = None
        self.polls = 0
        self._snapshot: ClusterSnapshot | None = None

    def start(self) -> None:
        self._snapshot = snapshot_of(self.recording)
        self.polls = 1

    def stop(self) -> None:
        pass

    def latest(self) -> ClusterSnapshot | None:
        return self._snapshot

    def problems(self) -> list[str]:
        return []


def snapshot_of(recording: Recording) -> ClusterSnapshot:
    """A :class:`ClusterSnapshot` of what the file holds."""
    records: dict[str, int] = {}
    ends: dict[str, int] = {}
    partitions: dict[str, set[int]] = {t: set(recording.partitions(t)) for t in recording.topics}
    for part in recording.trailer.partitions:
        records[part.topic] = records.get(part.topic, 0) + part.records
        end = 0 if part.last_offset is None else part.last_offset + 1
        ends[part.topic] = ends.get(part.topic, 0) + end
        partitions.setdefault(part.topic, set()).add(part.partition)
    topics = tuple(
        TopicInfo(
            topic,
            len(partitions[topic]),
            ends.get(topic, 0) - records.get(topic, 0),  # so that MESSAGES is the records held
            ends.get(topic, 0),
            internal=topic.startswith("__"),
            rate=0.0,  # a file does not grow
        )
        for topic in sorted(partitions)
    )
    header = recording.header
    return ClusterSnapshot(header.cluster_id, None, None, topics, (), now_ms())


class RecordingLagPoller:
    """The lag screen on a recording: no consumer groups, and it says why."""

    def __init__(self) -> None:
        self.state = OFFLINE
        self.last_error: str | None = None
        self._report = LagReport([], now_ms(), [NO_GROUPS])

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def latest(self) -> LagReport:
        return self._report

    def problems(self) -> list[str]:
        return []
