"""``evtui record TOPIC... -o FILE``: a slice of topics into a portable file (and ``evtui open``).

Reads from ``--from`` (default: the beginning) to ``--until`` (default: the end
when the command started), like ``evtui check``, by partition assignment (no
consumer group), and writes every record byte for byte with its position and
timestamp (see :mod:`evtui.core.recording` for the format). The file appears
only once it is complete; Ctrl-C keeps what was read, marked incomplete.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from evtui import __version__
from evtui.core.event import Event
from evtui.core.positions import Position, describe
from evtui.core.recording import Header, PartitionBounds, RecordingWriter, now_iso
from evtui.core.text import plural
from evtui.errors import EvtuiError

if TYPE_CHECKING:
    from evtui.sources.kafka import KafkaSource

PROGRESS_EVERY_S = 0.2


class RecordInterrupted(EvtuiError):
    """Ctrl-C while recording (exit code 130); the file keeps what was read."""

    exit_code = 130


@dataclass
class RecordOptions:
    output: Path
    start: Position
    until: Position
    filter: str | None = None
    force: bool = False


@dataclass
class RecordResult:
    records: int  # written
    read: int  # read (more than written when a filter drops some)
    topics: int
    partitions: int
    bytes: int  # of the file
    seconds: float

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


def make_header(source: KafkaSource, options: RecordOptions, compacted: frozenset[str]) -> Header:
    """What the recording was asked to hold, and each partition's bounds as it began."""
    partitions = [
        PartitionBounds(
            topic=plan.topic, partition=plan.partition, low=plan.low, high=plan.high,
            start=plan.start, stop=plan.stop,
        )
        for _, plan in sorted(source.plans.items())
    ]  # fmt: skip
    return Header(
        created=now_iso(),
        evtui=__version__,
        source=source.config.bootstrap,
        cluster_id=source.cluster_id(),
        topics=list(source.topics),
        start=describe(options.start),
        until=describe(options.until),
        filter=options.filter,
        compacted=sorted(compacted),
        partitions=partitions,
    )


def compacted_of(source: KafkaSource, err: TextIO) -> frozenset[str]:
    """The compacted topics among those read (the offline checks need them), else none."""
    try:
        return source.compacted_topics()
    except EvtuiError as exc:
        print(f"evtui record: note: {exc}", file=err)
        return frozenset()


class _Recorder:
    """Hands each batch read to the writer; says when to stop (an error)."""

    def __init__(
        self,
        source: KafkaSource,
        writer: RecordingWriter,
        matches: Callable[[Event], bool] | None,
        err: TextIO,
    ) -> None:
        self.source, self.writer, self.matches, self.err = source, writer, matches, err
        self.read = 0
        self.error: EvtuiError | None = None
        self.progress = _Progress(err)

    def deliver(self, events: list[Event]) -> bool:
        self.read += len(events)
        kept = events if self.matches is None else [e for e in events if self.matches(e)]
        try:
            self.writer.write(kept)
        except EvtuiError as exc:  # the disk is full, ...: the reading thread must not hide it
            self.error = exc
            return False
        self.progress.show(self.writer.records, self.source)
        return self.take_problems()

    def take_problems(self) -> bool:
        for problem in self.source.problems():
            if problem.level == "error":
                self.error = EvtuiError(problem.message)
                return False
            print(f"evtui record: {problem.level}: {problem.message}", file=self.err)
        return True


def run_record(
    source: KafkaSource, options: RecordOptions, err: TextIO = sys.stderr
) -> RecordResult:
    """Read the slice from ``source`` (opened) into ``options.output``; a one-line summary."""
    matches = None
    if options.filter:
        from evtui.core.filters import Filter

        matches = Filter(options.filter).matches
    header = make_header(source, options, compacted_of(source, err))
    started = time.monotonic()
    with RecordingWriter(options.output, header, overwrite=options.force) as writer:
        recorder = _Recorder(source, writer, matches, err)
        try:
            source.read_inline(recorder.deliver)
            recorder.progress.clear()
            if recorder.error is None:
                recorder.take_problems()
        except KeyboardInterrupt:
            recorder.progress.clear()
            writer.finish(complete=False, note="interrupted (Ctrl-C)")
            raise RecordInterrupted(
                f"interrupted: {options.output} holds the {writer.records:,} records read so far "
                "(marked incomplete)"
            ) from None
        finally:
            source.stop()
        if recorder.error is not None:
            raise recorder.error  # leaving the writer removes the unfinished file
        trailer = writer.finish()
    result = RecordResult(
        records=trailer.records,
        read=recorder.read,
        topics=len(header.topics),
        partitions=len(header.partitions),
        bytes=options.output.stat().st_size,
        seconds=time.monotonic() - started,
    )
    print(summary(result, options), file=err)
    return result


def summary(result: RecordResult, options: RecordOptions) -> str:
    text = (
        f"evtui record: {plural(result.records, 'record')} of {plural(result.topics, 'topic')} "
        f"({plural(result.partitions, 'partition')}) to {options.output}: {result.bytes:,} bytes "
        f"in {result.seconds:.2f} s ({result.rate:,.0f} records/s)"
    )
    if options.filter:
        text += f"; the filter kept {result.records:,} of {result.read:,} read"
    return text


class _Progress:
    """A one-line progress display on stderr when it is a terminal."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.enabled = err.isatty()
        self._last = 0.0
        self._started = time.monotonic()

    def show(self, records: int, source: KafkaSource) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        rate = records / max(now - self._started, 1e-6)
        stats = source.stats
        self.err.write(
            f"\r\x1b[Kevtui record: {records:,} records ({rate:,.0f}/s), "
            f"{stats.partitions_done}/{stats.partitions} partitions done"
        )
        self.err.flush()

    def clear(self) -> None:
        if self.enabled:
            self.err.write("\r\x1b[K")
            self.err.flush()


def run_open(path: str, topics: list[str] | None, start: str | None, window: int | None,
             filter_: str | None) -> None:  # fmt: skip
    """``evtui open FILE``: the console on a recording (checked before the screen opens)."""
    from evtui.application.backends import FileBackend
    from evtui.commands.console import (
        DEFAULT_WINDOW,
        parse_console_options,
        require_terminal,
        run_console,
    )  # fmt: skip
    from evtui.core.positions import BEGINNING
    from evtui.core.recording import inspect_recording, select_topics

    recording = inspect_recording(path)
    options = parse_console_options(topics, start, window, filter_)
    options.topics = select_topics(recording.topics, options.topics or None, path)
    if start is None:
        options.start = BEGINNING
    if window is None:  # the whole file, up to a million records
        options.window = max(DEFAULT_WINDOW, min(recording.records, 1_000_000))
    require_terminal()
    run_console(FileBackend(path, recording=recording), options)
