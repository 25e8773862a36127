"""Planning and running a replay: a slice of a topic copied, resumably, into another topic.

The engine both the CLI (``evtui replay``, :mod:`evtui.commands.replay`) and the
console's replay dialog run: where a replay reads (:class:`SliceSource`), the
guards on its target, the plan (a scan counts what the filter keeps) and the copy
(:class:`Copier`: byte for byte by an idempotent producer, with provenance
headers, at most ``rate`` records/s, the checkpoint kept as acknowledgements come
back, see :mod:`evtui.core.replay`). It prints nothing: the CLI's output, progress
bar and Ctrl-C handling live in :mod:`evtui.commands.replay`.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from evtui.config import ClientConfig
from evtui.core.event import Event
from evtui.core.positions import Position
from evtui.core.replay import (
    PARTITIONINGS,
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    AckTracker,
    Checkpoint,
    PartitionSlice,
    RateLimiter,
    ReplayPlan,
    Selection,
    new_replay_id,
    provenance,
    save_checkpoint,
)
from evtui.core.text import plural
from evtui.errors import EvtuiError, UsageError, check_choice
from evtui.sources.target import Target

CHECKPOINT_EVERY_S = 0.5


class SliceSource(Protocol):
    """Where a replay reads: a topic on a cluster, or a recorded file."""

    name: str  # the cluster's bootstrap, or the file
    topic: str
    cluster_id: str | None

    def slices(self) -> dict[int, tuple[int, int]]:
        """Partition -> (first offset, exclusive stop offset) of the slice."""
        ...

    def read(
        self, bounds: dict[int, tuple[int, int]], deliver: Callable[[list[Event]], bool]
    ) -> None:
        """Records of each partition from its start to its stop, in offset order per partition,
        handed over in batches until ``deliver`` returns False."""
        ...

    def close(self) -> None: ...


class KafkaSlices:
    """A slice of one topic on a cluster, its bounds fixed when it is opened."""

    def __init__(
        self,
        config: ClientConfig,
        topic: str,
        start: Position,
        until: Position,
        partitions: frozenset[int] | None = None,
        timeout: float = 10.0,
    ) -> None:
        from evtui.sources.kafka import KafkaSource, is_pattern

        if is_pattern(topic):
            raise UsageError(f"replay reads one topic, not a pattern: '{topic}'")
        self.config, self.topic, self.timeout = config, topic, timeout
        self.name = config.bootstrap
        probe = KafkaSource(config, [topic], start, until, timeout=timeout).open()
        try:
            self.cluster_id = probe.cluster_id()
            self._bounds: dict[int, tuple[int, int]] = {}
            for (_, partition), plan in sorted(probe.plans.items()):
                if partitions is not None and partition not in partitions:
                    continue
                stop = plan.high if plan.stop is None else min(plan.stop, plan.high)
                self._bounds[partition] = (min(plan.start, stop), stop)
        finally:
            probe.stop()
        if partitions is not None:
            unknown = sorted(partitions - set(self._bounds))
            if unknown:
                raise UsageError(
                    f"invalid --partitions: {topic} has no partition {unknown[0]} "
                    f"(it has {len(probe.plans)})"
                )

    def slices(self) -> dict[int, tuple[int, int]]:
        return dict(self._bounds)

    def read(
        self, bounds: dict[int, tuple[int, int]], deliver: Callable[[list[Event]], bool]
    ) -> None:
        from evtui.core.positions import END
        from evtui.sources.kafka import KafkaSource, PartitionPlan

        plans = [
            PartitionPlan(self.topic, p, start, stop, start, stop)
            for p, (start, stop) in sorted(bounds.items())
            if start < stop
        ]
        if not plans:
            return
        source = KafkaSource(
            self.config, [self.topic], until=END, plans=plans, timeout=self.timeout
        )  # bounded: it ends at each plan's stop
        try:
            source.read_inline(deliver)
            for problem in source.problems():
                if problem.level == "error":
                    raise EvtuiError(problem.message)
        finally:
            source.stop()

    def close(self) -> None:
        pass


# -- the plan ---------------------------------------------------------------------------------


class Words(NamedTuple):
    """How a refusal names the way out: the CLI's options, or the console dialog's fields."""

    create: str
    same_topic: str
    same_partitioning: str
    other_partitioning: str


CLI_WORDS = Words(
    create="add --create-topic to create it",
    same_topic="add --allow-same-topic if that is really wanted",
    same_partitioning="--partitioning same",
    other_partitioning="use --partitioning key or round-robin",
)
DIALOG_WORDS = Words(
    create="tick 'create the topic' to create it",
    same_topic="choose another target topic",
    same_partitioning="partitioning 'same'",
    other_partitioning="choose partitioning key or round-robin",
)


@dataclass
class ReplayRequest:
    """What the user asked for."""

    target_topic: str
    filter: str | None = None
    rate: float | None = None
    partitioning: str = "same"
    keep_timestamps: bool = False
    allow_same_topic: bool = False
    create_topic: bool = False
    format: str = "text"
    words: Words = CLI_WORDS  # how refusals name the options

    def __post_init__(self) -> None:
        check_choice(self.partitioning, PARTITIONINGS, "--partitioning")
        check_choice(self.format, ("text", "json"))


def count_slices(
    source: SliceSource, bounds: dict[int, tuple[int, int]], matches: Callable[[Event], bool]
) -> list[PartitionSlice]:
    """A scan of the slice: per partition, what the filter keeps, with first and last."""
    slices = {p: PartitionSlice(p, start, stop, 0, 0) for p, (start, stop) in bounds.items()}

    def deliver(events: list[Event]) -> bool:
        for event in events:
            s = slices[event.partition]
            s.scanned = (s.scanned or 0) + 1
            if not matches(event):
                continue
            s.records = (s.records or 0) + 1
            if s.first_offset is None:
                s.first_offset, s.first_ms = event.offset, event.timestamp
            s.last_offset, s.last_ms = event.offset, event.timestamp
        return True

    source.read(bounds, deliver)
    return [slices[p] for p in sorted(slices)]


def matcher(expression: str | None) -> Callable[[Event], bool]:
    if not expression:
        return lambda _event: True
    from evtui.core.filters import Filter

    return Filter(expression).matches


# -- the copy ---------------------------------------------------------------------------------


@dataclass
class ReplayReport:
    replay_id: str
    read: int = 0
    filtered_out: int = 0
    already_written: int = 0  # found in the target on resume (written before a crash)
    written: int = 0  # acknowledged by the target
    failed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    error: str | None = None
    remaining: int = 0  # offsets of the slice not copied yet (a resume copies them)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "notes"}
        data["records_per_s"] = round(self.rate, 1)
        data["notes"] = self.notes
        return data


class Copier:
    """Reads the slice and writes it, keeping the checkpoint as acknowledgements come back."""

    def __init__(
        self,
        plan: ReplayPlan,
        checkpoint: Checkpoint,
        tracker: AckTracker,
        producer: object,
        target_partitions: int,
        matches: Callable[[Event], bool],
        progress: Callable[[ReplayReport], None] | None = None,
    ) -> None:
        self.plan, self.checkpoint, self.tracker = plan, checkpoint, tracker
        self.producer = producer
        self.target_partitions = target_partitions
        self.matches = matches
        self.progress = progress
        self.report = ReplayReport(plan.replay_id)
        self.limiter = RateLimiter(plan.rate)
        self._round_robin = 0
        self.stop_requested = False  # set from another thread: stop after this batch
        self._next_save = time.monotonic() + CHECKPOINT_EVERY_S
        self._written_before = checkpoint.written
        # provenance: the replay and the source topic are the same for every record
        self._origin = provenance(plan.replay_id, plan.source_topic, 0, 0)[:2]

    def deliver(self, events: list[Event]) -> bool:
        report, tracker = self.report, self.tracker
        for event in events:
            if self.stop_requested:
                break  # the rest of the batch is not read: the checkpoint stays before it
            partition, offset = event.partition, event.offset
            report.read += 1
            if not self.matches(event):
                report.filtered_out += 1
                tracker.read(partition, offset, written=False)
            elif tracker.already_written(partition, offset):
                report.already_written += 1
                tracker.read(partition, offset, written=False)
            else:
                self._send(event)
            if report.error is not None:
                return False
        self.producer.poll(0)  # type: ignore[attr-defined]
        self._maybe_save()
        if self.stop_requested:
            report.interrupted = True
            return False
        return report.error is None

    def _send(self, event: Event) -> None:
        if self.limiter.rate is not None:
            self._wait(self.limiter.delay())
        partition, offset = event.partition, event.offset
        headers = [*event.headers, *self._origin, (SOURCE_PARTITION, str(partition).encode()),
                   (SOURCE_OFFSET, str(offset).encode())]  # fmt: skip
        args = (self.plan.target_topic, event.value, event.key, self._partition(event))
        kwargs = {
            "on_delivery": functools.partial(self._delivered, partition, offset),
            "timestamp": event.timestamp if self.plan.keep_timestamps else 0,  # 0: now
            "headers": headers,
        }
        self.tracker.read(partition, offset, written=True)
        produce = self.producer.produce  # type: ignore[attr-defined]
        while True:
            try:
                produce(*args, **kwargs)
                return
            except BufferError:  # the producer's queue is full: let it drain
                self.producer.poll(0.05)  # type: ignore[attr-defined]
            except Exception as exc:
                refusal = getattr(self.producer, "refusal", None)
                error = refusal(exc, event.value) if refusal is not None else None
                if error is None:
                    raise
                # not sent: it stays pending, so the checkpoint stays before it
                self.tracker.fail(partition, offset)
                self.report.failed += 1
                if self.report.error is None:
                    self.report.error = f"{event.ref}: {error}"
                return

    def _wait(self, seconds: float) -> None:
        """Wait ``seconds`` serving delivery reports (poll returns early when one arrives)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.producer.poll(left)  # type: ignore[attr-defined]

    def _partition(self, event: Event) -> int:
        how = self.plan.partitioning
        if how == "same":
            return event.partition
        if how == "round-robin":
            self._round_robin = (self._round_robin + 1) % self.target_partitions
            return self._round_robin
        return -1  # by key: the producer's murmur2 partitioner, as the Java client

    def _delivered(self, partition: int, offset: int, err: object, msg: object) -> None:
        if err is None:
            self.tracker.ack(partition, offset, msg.partition(), msg.offset())  # type: ignore[attr-defined]
            self.report.written += 1
            self.report.bytes += len(msg.value() or b"")  # type: ignore[attr-defined]
        else:
            self.tracker.fail(partition, offset)
            self.report.failed += 1
            if self.report.error is None:
                self.report.error = str(err.str())  # type: ignore[attr-defined]

    def _maybe_save(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now >= self._next_save:
            self._next_save = now + CHECKPOINT_EVERY_S
            self.save()
            if self.progress is not None:
                self.progress(self.report)

    def _sync(self) -> Checkpoint:
        """The checkpoint brought up to what the target acknowledged."""
        checkpoint, tracker = self.checkpoint, self.tracker
        checkpoint.next_offsets = {p: tracker.next_offset(int(p)) for p in checkpoint.next_offsets}
        checkpoint.verify_from = {str(p): o for p, o in tracker.verify_from().items()}
        checkpoint.written = self._written_before + self.report.written
        return checkpoint

    def save(self, done: bool = False) -> None:
        checkpoint = self._sync()
        checkpoint.done = done
        save_checkpoint(checkpoint)

    def finish(self, flush_timeout: float) -> None:
        """Wait for what is in flight (at most ``flush_timeout``), then save the checkpoint."""
        left = self.producer.flush(flush_timeout)  # type: ignore[attr-defined]
        self.report.remaining = self._sync().remaining()
        done = left == 0 and self.report.error is None and self.report.remaining == 0
        if left:
            self.report.notes.append(f"{left:,} records were still in flight when evtui stopped")
        self.save(done=done)


def options_of(plan: ReplayPlan, source: SliceSource, target_cluster: str | None) -> dict:
    """What identifies a replay (its checkpoint must match it to be resumed)."""
    return {
        "source": source.name,
        "source_cluster": source.cluster_id,
        "source_topic": plan.source_topic,
        "from_file": getattr(source, "path", None),
        "source_identity": source_identity(source),
        "target": plan.target,
        "target_cluster": target_cluster,
        "target_topic": plan.target_topic,
        "filter": plan.filter,
        "partitioning": plan.partitioning,
        "keep_timestamps": plan.keep_timestamps,
        "rate": plan.rate,  # a resume keeps it unless --rate is given again
    }


def source_identity(source: SliceSource) -> str | None:
    """What tells this source from another of the same name: a recording's header."""
    recording = getattr(source, "recording", None)
    if recording is None:
        return source.cluster_id
    header = recording.header
    records = plural(recording.records, "record")
    return f"recording created {header.created} from {header.source} ({records})"


def new_checkpoint(
    plan: ReplayPlan, options: dict, bounds: dict[int, tuple[int, int]]
) -> Checkpoint:
    return Checkpoint(
        plan.replay_id,
        options,
        stops={str(p): stop for p, (_, stop) in bounds.items()},
        next_offsets={str(p): start for p, (start, _) in bounds.items()},
    )


def check_target(source: SliceSource, target: Target, request: ReplayRequest, top: int) -> None:
    """The guards: not into the source topic, not into a missing topic, enough partitions."""
    words = request.words
    same_cluster = (
        source.cluster_id is not None and source.cluster_id == target.cluster_id
    ) or source.name == target.config.bootstrap
    if same_cluster and source.topic == target.topic and not request.allow_same_topic:
        raise UsageError(
            f"refusing to replay {source.topic} into itself on the same cluster "
            f"({words.same_topic})"
        )
    if target.partitions is None and not request.create_topic:
        raise UsageError(
            f"target topic '{target.topic}' does not exist on {target.config.bootstrap} "
            f"({words.create})"
        )
    have = target.partitions if target.partitions is not None else top
    if request.partitioning == "same" and top > have:
        raise UsageError(
            f"{words.same_partitioning} needs {top} partitions in '{target.topic}', which has "
            f"{have} ({words.other_partitioning})"
        )


def make_plan(
    source: SliceSource,
    target: Target,
    request: ReplayRequest,
    replay_id: str,
    slices: list[PartitionSlice],
) -> ReplayPlan:
    return ReplayPlan(
        replay_id=replay_id,
        source=source.name,
        source_topic=source.topic,
        target=target.config.bootstrap,
        target_topic=target.topic,
        slices=slices,
        partitioning=request.partitioning,
        keep_timestamps=request.keep_timestamps,
        rate=request.rate,
        filter=request.filter,
        target_partitions=target.partitions,
        create_topic=target.partitions is None,
    )


def copy_slice(
    source: SliceSource,
    target: Target,
    plan: ReplayPlan,
    bounds: dict[int, tuple[int, int]],
    matches: Callable[[Event], bool],
    resume: Checkpoint | None,
    on_start: Callable[[Copier], None] | None = None,
    watch: Callable[[Copier], contextlib.AbstractContextManager[object]] | None = None,
) -> ReplayReport:
    """Copy the slice; ``on_start`` gets the copier (to follow its progress, or stop it);
    the copy runs within ``watch(copier)`` when given (the CLI: its progress bar, Ctrl-C)."""
    if target.partitions is None:
        target.create(max(len(bounds), 1))
    assert target.partitions is not None
    options = options_of(plan, source, target.cluster_id)
    checkpoint = resume or new_checkpoint(plan, options, bounds)
    found, looked = ({}, 0)
    if resume is not None:
        since = {int(p): o for p, o in resume.verify_from.items()}
        found, looked = target.find_written(plan.replay_id, since, source.topic)
    tracker = AckTracker({p: start for p, (start, _) in bounds.items()}, target.end_offsets(),
                         found)  # fmt: skip
    producer = target.producer()
    copier = Copier(plan, checkpoint, tracker, producer, target.partitions, matches)
    copier.save()  # resumable from the first record on
    if on_start is not None:
        on_start(copier)
    if resume is not None:
        copier.report.notes.append(
            f"read {looked:,} target records back: {len(found):,} were written before the "
            "interruption and are not written again"
        )
    started = time.monotonic()
    with watch(copier) if watch is not None else contextlib.nullcontext():
        try:
            source.read(bounds, copier.deliver)
        except KeyboardInterrupt:
            copier.report.interrupted = True
        except EvtuiError as exc:
            copier.report.error = copier.report.error or str(exc)
        finally:
            try:
                copier.finish(5.0 if copier.report.error else 30.0)
            except KeyboardInterrupt:
                copier.report.interrupted = True
                copier.save()
    copier.report.seconds = time.monotonic() - started
    if not copier.report.read and not copier.report.error and not copier.report.interrupted:
        copier.report.notes.append("the range holds no records: nothing was written")
    return copier.report


def render_report(report: ReplayReport) -> str:
    lines = [
        f"replay {report.replay_id}: read {report.read:,}, filtered out {report.filtered_out:,}, "
        f"written {report.written:,}, failed {report.failed:,}"
        + (f", already written {report.already_written:,}" if report.already_written else ""),
        f"  {report.bytes:,} bytes of values in {report.seconds:.2f} s "
        f"({report.rate:,.0f} records/s)",
    ]
    lines += [f"  {note}" for note in report.notes]
    return "\n".join(lines)


# -- for the console: a replay within one cluster, chosen on screen -----------------------------


def _open_selection(
    config: ClientConfig, selection: Selection, request: ReplayRequest, timeout: float
) -> tuple[KafkaSlices, Target, dict[int, tuple[int, int]]]:
    """The source slice and the checked target of a replay within one cluster."""
    source = KafkaSlices(
        config, selection.topic, selection.start, selection.until, selection.partitions, timeout
    )
    target = Target(config, request.target_topic, timeout)
    try:
        target.open()
        bounds = source.slices()
        check_target(source, target, request, max(bounds, default=-1) + 1)
    except BaseException:
        target.close()
        raise
    return source, target, bounds


def plan_selection(
    config: ClientConfig, selection: Selection, request: ReplayRequest, timeout: float = 10.0
) -> ReplayPlan:
    """The plan of a slice chosen in the console, counted by a scan (a worker thread)."""
    source, target, bounds = _open_selection(config, selection, request, timeout)
    try:
        slices = count_slices(source, bounds, matcher(request.filter))
        return make_plan(source, target, request, new_replay_id(), slices)
    finally:
        target.close()


def execute_selection(
    config: ClientConfig,
    selection: Selection,
    request: ReplayRequest,
    on_start: Callable[[Copier], None],
    timeout: float = 10.0,
    replay_id: str | None = None,
) -> ReplayReport:
    """Copy a slice chosen in the console (a worker thread); resumable from the CLI.

    ``replay_id``: the id of the plan shown before (the copy carries it), else a new one.
    """
    source, target, bounds = _open_selection(config, selection, request, timeout)
    try:
        slices = [PartitionSlice(p, start, stop) for p, (start, stop) in sorted(bounds.items())]
        plan = make_plan(source, target, request, replay_id or new_replay_id(), slices)
        matches = matcher(request.filter)
        return copy_slice(source, target, plan, bounds, matches, None, on_start)
    finally:
        target.close()
