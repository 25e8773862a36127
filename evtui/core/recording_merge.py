"""A recording in record-time order across its partitions (what ``evtui open`` shows).

A recording holds each partition's records in offset order, but the partitions one
after another or interleaved in chunks, as they were fetched. :class:`MergedReader`
presents them merged: a k-way merge of the per-partition streams by (timestamp,
topic, partition), stable, each partition kept in offset order even where its own
timestamps go back (:func:`merge_in_time`).

Memory stays bounded whatever the layout. A scan reads the file once, checks every
line as :class:`~evtui.core.recording.RecordingReader` does (decoding only each
record's topic, partition and offset) and keeps, per partition, where its runs of
consecutive lines lie (three integers per run not yet shown). The merge reads each
partition's records back from those positions, a megabyte at a time, when it needs
them, and the scan goes only as far ahead as the merge needs (each partition's record
count, from the end line, says when it is done). A plain file is read back in place;
a gzip file cannot be read at a position, so the scan copies its decompressed record
lines to an anonymous temporary file (removed when the reader closes), as large as
the decompressed records of the topics read. Pure: no Kafka, no Textual.
"""

from __future__ import annotations

import gzip
import heapq
import os
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import IO

import msgspec

from evtui.core.event import Event
from evtui.core.recording import (
    TP,
    Name,
    NonNegative,
    Record,
    RecordingError,
    RecordingReader,
    event_of,
    follow,
)

SPAN = 1 << 20  # bytes read back at once (runs of one partition closer than this share a read)
TIME_KEY = attrgetter("timestamp", "topic", "partition")


def merge_in_time(streams: Iterable[Iterable[Event]]) -> Iterator[Event]:
    """Per-partition streams (each in offset order) merged by (timestamp, topic, partition).

    Only the streams' heads are compared, so each stream keeps its own order (a record
    whose time goes back stays after its predecessors); the output's times never go
    back where the streams' do not. Ties between streams go by topic, then partition.
    """
    return heapq.merge(*streams, key=TIME_KEY)


@dataclass(frozen=True)
class PartitionEnd:
    """In a merged stream: the partition has no more records (after its last one's time)."""

    timestamp: int
    topic: str
    partition: int


def _ended(stream: Iterable[Event], tp: TP) -> Iterator[Event | PartitionEnd]:
    """``stream``, then its :class:`PartitionEnd` (merged right after its last record)."""
    last = -1
    for event in stream:
        last = event.timestamp
        yield event
    yield PartitionEnd(last, *tp)


class _Where(msgspec.Struct):
    """What the scan decodes of a record line."""

    topic: Name
    partition: NonNegative
    offset: NonNegative


_decode_where = msgspec.json.Decoder(_Where).decode
_decode_wheres = msgspec.json.Decoder(list[_Where]).decode
_decode_record = msgspec.json.Decoder(Record).decode
_decode_records = msgspec.json.Decoder(list[Record]).decode


class _Runs:
    """One partition's runs of consecutive lines not yet read back: (start, end, first line)."""

    def __init__(self) -> None:
        self.starts = array("q")
        self.ends = array("q")
        self.lines = array("q")
        self.head = 0

    def __len__(self) -> int:
        return len(self.starts) - self.head

    def add(self, start: int, end: int, line: int) -> None:
        self.starts.append(start)
        self.ends.append(end)
        self.lines.append(line)

    def take(self, span: int) -> list[tuple[int, int, int]]:
        """The first runs that end within ``span`` bytes of the first's start (at least one)."""
        if self.head > 4096 and self.head * 2 > len(self.starts):
            for column in (self.starts, self.ends, self.lines):
                del column[: self.head]
            self.head = 0
        first = self.head
        limit = self.starts[first] + span
        last = first + 1
        while last < len(self.starts) and self.ends[last] <= limit:
            last += 1
        self.head = last
        return [(self.starts[i], self.ends[i], self.lines[i]) for i in range(first, last)]

    def put_back(self, start: int, end: int, line: int) -> None:
        """The rest of a run that was read only in part: first again."""
        self.head -= 1
        self.starts[self.head], self.ends[self.head], self.lines[self.head] = start, end, line


class MergedReader(RecordingReader):
    """Reads and checks a recording like its base class, yielding records in time order.

    ``counts``: each partition's records according to the end line
    (:meth:`Trailer.counts`), which tells the scan when a partition is done. Errors
    are :class:`RecordingError`: a line the scan finds bad ends the stream once
    every record before it was yielded; a record that fails to decode when it is
    read back ends it at once.
    """

    def __init__(self, path: str | Path, counts: dict[TP, int] | None = None) -> None:
        super().__init__(path)
        self.expected = dict(counts or {})
        self.error: RecordingError | None = None
        self._runs: dict[TP, _Runs] = {}  # of the partitions asked for
        self._offsets: dict[TP, int] = {}
        self._counts: dict[TP, int] = {}
        self._last: TP | None = None  # the partition of the last line scanned, if asked for
        self._done = False
        self._spool: IO[bytes] | None = None
        if isinstance(self._stream, gzip.GzipFile):
            try:
                # anonymous (no name on disk); closed by close()
                self._spool = tempfile.TemporaryFile(prefix="evtui-open-")  # noqa: SIM115
            except OSError as exc:
                self.close()
                raise RecordingError(f"cannot read {self.path}: no temporary file: {exc}") from None
            self._pos, self._fd = 0, self._spool.fileno()
        else:
            self._pos, self._fd = self._stream.tell(), self._stream.fileno()

    # -- the merged stream --------------------------------------------------------------------

    def events(
        self,
        partitions: Iterable[TP],
        keep: Callable[[Event], bool] | None = None,
        ends: bool = False,
    ) -> Iterator[Event]:
        """The records of ``partitions`` merged in time order.

        ``keep`` chooses among each partition's records (it sees them in offset order).
        ``ends``: a :class:`PartitionEnd` follows each partition's last record.
        """
        wanted = list(dict.fromkeys(partitions))
        for tp in wanted:
            self._runs.setdefault(tp, _Runs())
        streams: list[Iterable] = [self._partition(tp) for tp in wanted]
        if keep is not None:
            streams = [filter(keep, stream) for stream in streams]
        if ends:
            streams = [_ended(stream, tp) for stream, tp in zip(streams, wanted, strict=True)]
        yield from merge_in_time(streams)
        while not self._done:  # the rest of the file is checked all the same
            self._advance()
        if self.error is not None:
            raise self.error

    def _partition(self, tp: TP) -> Iterator[Event]:
        runs = self._runs[tp]
        while True:
            while not runs and not self._finished(tp):
                self._advance()
            if not runs:
                return
            taken = runs.take(SPAN)
            start, stop, line = taken[0]
            if stop - start > SPAN:  # a long run: its first megabyte of lines, then the rest
                yield from self._read_part(runs, start, stop, line)
                continue
            data = os.pread(self._fd, taken[-1][1] - start, start)
            for run_start, run_stop, run_line in taken:
                yield from self._decode(data[run_start - start : run_stop - start], run_line)

    def _finished(self, tp: TP) -> bool:
        expected = self.expected.get(tp)
        return self._done or (expected is not None and self._counts.get(tp, 0) >= expected)

    def _read_part(self, runs: _Runs, start: int, stop: int, line: int) -> Iterator[Event]:
        data = os.pread(self._fd, SPAN, start)
        cut = data.rfind(b"\n") + 1
        if cut == 0:  # one line longer than SPAN
            cut = self._line_end(start + len(data)) - start
            data = os.pread(self._fd, cut, start)
        data = data[:cut]
        if start + cut < stop:
            runs.put_back(start + cut, stop, line + data.count(b"\n"))
        yield from self._decode(data, line)

    def _line_end(self, at: int) -> int:
        while chunk := os.pread(self._fd, SPAN, at):
            cut = chunk.find(b"\n")
            if cut >= 0:
                return at + cut + 1
            at += len(chunk)
        raise self._fail("a record line read back is cut short (was the file changed?)")

    def _decode(self, data: bytes, first_line: int) -> Iterator[Event]:
        """The records of whole lines read back: one decoding call, else line by line."""
        lines = data.split(b"\n")[:-1]
        try:
            records = _decode_records(b"[" + b",".join(lines) + b"]")
        except msgspec.DecodeError:
            records = []
        if len(records) == len(lines):
            yield from map(event_of, records)
            return
        for number, raw in enumerate(lines, first_line):
            try:
                yield event_of(_decode_record(raw))
            except msgspec.DecodeError as exc:
                raise self._fail(f"not a record: {exc}", number) from None

    # -- the scan -----------------------------------------------------------------------------

    def _advance(self) -> None:
        """Scan the next chunk of lines; a bad one ends the scan (kept in ``error``)."""
        if self._done:
            return
        try:
            lines = self._lines()
            if not lines:
                raise RecordingError(
                    f"{self.path} is truncated: it ends after line {self.line} without its "
                    "end line (was the recording cut short?)"
                )
            self._index(lines)
            if self.trailer is not None and not self._more():
                self._check_counts(self._counts)
                self._done = True
        except RecordingError as exc:
            self.error, self._done = exc, True

    def _index(self, lines: list[bytes]) -> None:
        """Note where each line's records lie; the lines before a bad one count."""
        wheres, error = self._wheres(lines)
        spooled: list[bytes] = []
        try:
            self._index_wheres(lines, wheres, spooled)
        finally:
            if spooled and self._spool is not None:
                self._spool.write(b"".join(spooled))
                self._spool.flush()
        if error is not None:
            raise error

    def _wheres(self, lines: list[bytes]) -> tuple[list[_Where | None], RecordingError | None]:
        """Each line's topic, partition and offset (None: the end line), up to a bad line.

        One decoding call for the chunk; line by line (naming the bad line) when it fails.
        """
        if lines[-1].endswith(b"\n"):
            try:
                wheres: list[_Where | None] = _decode_wheres(b"[" + b",".join(lines) + b"]")
                if len(wheres) == len(lines):  # (else a line held two values)
                    return wheres, None
            except msgspec.DecodeError:
                pass
        wheres, base = [], self.line
        try:
            for number, raw in enumerate(lines, base + 1):
                self.line = number
                if wheres and wheres[-1] is None:
                    raise self._fail("data after the end line")
                wheres.append(self._where(raw))
        except RecordingError as exc:
            return wheres, exc
        finally:
            self.line = base
        return wheres, None

    def _index_wheres(
        self, lines: list[bytes], wheres: list[_Where | None], spooled: list[bytes]
    ) -> None:
        spool = self._spool is not None
        offsets, counts, all_runs = self._offsets, self._counts, self._runs
        for raw, where in zip(lines, wheres, strict=False):
            self.line += 1
            if where is None:  # the end line
                continue
            tp = (where.topic, where.partition)
            disorder = follow(offsets, counts, tp, where.offset)
            if disorder is not None:
                raise self._fail(disorder)
            runs = all_runs.get(tp)
            if runs is None:  # a partition not asked for: only checked
                if not spool:
                    self._pos += len(raw)
                self._last = None
                continue
            start = self._pos
            self._pos += len(raw)
            if spool:
                spooled.append(raw)
            if self._last == tp and len(runs):
                runs.ends[-1] = self._pos
            else:
                runs.add(start, self._pos, self.line)
            self._last = tp

    def _where(self, raw: bytes) -> _Where | None:
        """Topic, partition and offset of a record line; None for the end line."""
        if raw.endswith(b"\n"):
            try:
                return _decode_where(raw)
            except msgspec.DecodeError:
                pass
        record = self._record(raw)  # the end line, or the error that names the line
        return None if record is None else _Where(record.topic, record.partition, record.offset)

    def close(self) -> None:
        super().close()
        spool, self._spool = getattr(self, "_spool", None), None
        if spool is not None:
            spool.close()
