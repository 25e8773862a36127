"""Writing a recording: :class:`RecordingWriter` (``evtui record``).

Lines as :mod:`evtui.core.recording_format` specifies, compressed and written in
a thread of their own, into ``FILE.tmp`` renamed when done (an interrupted or
failed recording never leaves a file that looks whole).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import queue
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import msgspec

from evtui.core.event import Event, TimestampType
from evtui.core.recording_format import (
    FORMAT,
    TP,
    Header,
    PartitionSummary,
    Record,
    RecordingError,
    Trailer,
    is_gzip_name,
    os_reason,
)
from evtui.errors import UsageError

_TS_LABELS = tuple(t.label for t in TimestampType)  # index = the librdkafka value
_GZIP_LEVEL = 3  # 2.5x faster than 6 for 6% more bytes (bench/record)

_encode = msgspec.json.Encoder().encode


class _Tally:
    """Per partition: records, first and last offset and time (for the end line)."""

    def __init__(self) -> None:
        self.parts: dict[TP, list[int]] = {}
        self.records = 0

    def add(self, event: Event) -> None:
        tp = (event.topic, event.partition)
        part = self.parts.get(tp)
        if part is None:
            self.parts[tp] = [1, event.offset, event.offset, event.timestamp, event.timestamp]
        else:
            part[0] += 1
            part[2], part[4] = event.offset, event.timestamp
        self.records += 1

    def summaries(self, known: Sequence[TP] = ()) -> list[PartitionSummary]:
        """Every partition seen or ``known`` (those without records say 0), sorted."""
        found = []
        for topic, partition in sorted({*self.parts, *known}):
            part = self.parts.get((topic, partition))
            if part is None:
                found.append(PartitionSummary(topic=topic, partition=partition))
                continue
            count, first, last, first_ms, last_ms = part
            found.append(
                PartitionSummary(
                    topic=topic, partition=partition, records=count, first_offset=first,
                    last_offset=last, first_timestamp=first_ms, last_timestamp=last_ms,
                )
            )  # fmt: skip
        return found


def record_line(event: Event) -> bytes:
    """One record as its line (without the newline)."""
    return _encode(
        Record(
            event.topic,
            event.partition,
            event.offset,
            event.timestamp,
            _TS_LABELS[event.timestamp_type],
            event.key,
            event.value,
            event.headers,
        )
    )


class _Spool:
    """Writes chunks to a stream in its own thread (compression overlaps reading Kafka).

    Bounded: a slow disk holds the reader back. A write error is kept and
    raised by the next :meth:`put` or by :meth:`close`.
    """

    def __init__(self, out: IO[bytes], max_chunks: int = 8) -> None:
        self.out = out
        self.error: OSError | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(max_chunks)
        self._thread = threading.Thread(target=self._run, name="evtui-recording", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self.out.write(chunk)
                except OSError as exc:
                    self.error = exc

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(chunk)

    def close(self) -> None:
        """Wait until everything is written; raises the write error if there was one."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


class RecordingWriter:
    """Writes a recording to ``path`` through ``path.tmp``, renamed by :meth:`finish`.

    ``overwrite`` False refuses an existing file (a typo must not replace an
    earlier recording). Use as a context manager: leaving it without
    :meth:`finish` (an error) removes the temporary file.
    """

    def __init__(self, path: str | Path, header: Header, *, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.header = header
        self.temporary = self.path.with_name(self.path.name + ".tmp")
        check_output(self.path, overwrite)
        self._tally = _Tally()
        self._raw: IO[bytes] | None = None
        self._out: IO[bytes] | None = None
        self._spool: _Spool | None = None
        try:
            self._raw = self.temporary.open("wb")
            self._out = self._raw
            if is_gzip_name(self.path):
                self._out = gzip.GzipFile(
                    filename="", mode="wb", fileobj=self._raw, compresslevel=_GZIP_LEVEL, mtime=0
                )
            self._out.write(_encode(header) + b"\n")
        except OSError as exc:
            self.abort()
            raise RecordingError(f"cannot write {self.temporary}: {os_reason(exc)}") from None
        self._spool = _Spool(self._out)

    @property
    def records(self) -> int:
        return self._tally.records

    def write(self, events: Sequence[Event]) -> None:
        """Append records (each partition's in offset order)."""
        if not events:
            return
        assert self._spool is not None
        add = self._tally.add
        lines = []
        for event in events:
            lines.append(record_line(event))
            add(event)
        lines.append(b"")
        try:
            self._spool.put(b"\n".join(lines))
        except OSError as exc:
            raise RecordingError(f"cannot write {self.temporary}: {os_reason(exc)}") from None

    def finish(self, *, complete: bool = True, note: str | None = None) -> Trailer:
        """Write the end line, flush to disk and rename to ``path``; the end line written.

        ``complete`` False: the recording was interrupted; the file says so.
        """
        known = [(p.topic, p.partition) for p in self.header.partitions]
        trailer = Trailer(
            end=FORMAT,
            records=self._tally.records,
            complete=complete,
            note=note,
            partitions=self._tally.summaries(known),
        )
        assert self._spool is not None
        try:
            self._spool.put(_encode(trailer) + b"\n")
            self._spool.close()
            self._close()
            self.temporary.replace(self.path)
        except OSError as exc:
            self.abort()
            raise RecordingError(f"cannot write {self.path}: {os_reason(exc)}") from None
        return trailer

    def _close(self) -> None:
        out, raw, self._out, self._raw, self._spool = self._out, self._raw, None, None, None
        if out is not None and out is not raw:
            out.close()  # the gzip trailer; leaves ``raw`` open
        if raw is not None:
            raw.flush()
            os.fsync(raw.fileno())
            raw.close()

    def abort(self) -> None:
        """Close and remove the temporary file (nothing is left behind)."""
        spool, self._spool = self._spool, None
        if spool is not None:
            with contextlib.suppress(OSError):
                spool.close()
        out, raw, self._out, self._raw = self._out, self._raw, None, None
        for stream in (out, raw):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError, EOFError):
                    stream.close()
        with contextlib.suppress(OSError):
            self.temporary.unlink()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._out is not None:  # not finished: an error, or Ctrl-C the caller did not keep
            self.abort()


def check_output(path: Path, overwrite: bool) -> None:
    """Raises :class:`UsageError` when ``path`` cannot or should not be written."""
    if path.is_dir():
        raise UsageError(f"-o {path}: is a directory")
    if path.exists() and not overwrite:
        raise UsageError(f"-o {path}: the file exists (add --force to replace it)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"-o {path}: no such directory {parent}")
