"""Recordings: a slice of topics in a portable, streamable file (``evtui record``/``open``).

The format (version 1) is JSON Lines, UTF-8, one object per line, gzip-compressed
when the file name ends in ``.gz`` (readers also recognise gzip by its magic bytes):

1. the header: ``{"format": "evtui-recording", "version": 1, "created": ISO time,
   "evtui": version, "source": bootstrap, "cluster_id", "topics": [...], "from",
   "until", "filter", "compacted": [topics], "partitions": [{"topic", "partition",
   "low", "high", "start", "stop"}]}`` (what was asked for and each partition's
   watermarks and bounds when the recording started);
2. one line per record, in the order read (each partition in offset order), the
   shape of ``evtui tail --format json --raw``: ``{"topic", "partition", "offset",
   "timestamp", "timestamp_type": "CreateTime"|"LogAppendTime"|"NotAvailable",
   "key", "value", "headers": [[name, value], ...]}`` where key, value and header
   values are base64 of the exact bytes, or null; headers keep their order and
   repeated names;
3. the end line: ``{"end": "evtui-recording", "records": N, "complete": true,
   "note": null, "partitions": [{"topic", "partition", "records", "first_offset",
   "last_offset", "first_timestamp", "last_timestamp"}]}``. A file without it was
   cut short; ``complete`` is false when the recording was interrupted (the file
   holds what was read until then).

The writer writes ``FILE.tmp`` and renames it when done, so an interrupted or
failed recording never leaves a file that looks whole. Readers ignore fields
they do not know (later minor additions stay readable); a new ``version`` means
an incompatible change. Pure: no Kafka, no Textual.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import queue
import re
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Literal

import msgspec

from evtui.core.event import Event, TimestampType
from evtui.core.positions import Kind, Position
from evtui.errors import EvtuiError, UsageError

FORMAT = "evtui-recording"
VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
TP = tuple[str, int]

_TS_LABELS = tuple(t.label for t in TimestampType)  # index = the librdkafka value
_TS_TYPES = {t.label: t for t in TimestampType}
_READ_HINT = 1 << 20  # bytes of lines read at once
_GZIP_LEVEL = 3  # 2.5x faster than 6 for 6% more bytes (bench/record)

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Name = Annotated[str, msgspec.Meta(min_length=1)]
HeaderList = tuple[tuple[str, bytes | None], ...]


class RecordingError(EvtuiError):
    """A file that is not a readable recording (the message names the file and line)."""


class PartitionBounds(msgspec.Struct, kw_only=True):
    """One partition as the recording began: watermarks, and where reading started and stops."""

    topic: Name
    partition: NonNegative
    low: int
    high: int
    start: int
    stop: int | None = None  # exclusive; None: a time bound, or no bound


class Header(msgspec.Struct, kw_only=True):
    """The first line of a recording."""

    format: str = FORMAT
    version: int = VERSION
    created: str = ""
    evtui: str = ""
    source: str | None = None
    cluster_id: str | None = None
    topics: list[Name] = []
    start: str = msgspec.field(name="from", default="beginning")
    until: str | None = "end"
    filter: str | None = None
    compacted: list[str] = []
    partitions: list[PartitionBounds] = []


class Record(msgspec.Struct):
    """One record line (the field order is the order written)."""

    topic: Name
    partition: NonNegative
    offset: NonNegative
    timestamp: int
    timestamp_type: Literal["NotAvailable", "CreateTime", "LogAppendTime"]
    key: bytes | None
    value: bytes | None
    headers: HeaderList = ()


class PartitionSummary(msgspec.Struct, kw_only=True):
    """What the file holds of one partition."""

    topic: Name
    partition: NonNegative
    records: NonNegative = 0
    first_offset: int | None = None
    last_offset: int | None = None
    first_timestamp: int | None = None
    last_timestamp: int | None = None


class Trailer(msgspec.Struct, kw_only=True):
    """The last line: how many records the file holds, and whether the recording completed."""

    end: Literal["evtui-recording"]
    records: NonNegative
    complete: bool = True
    note: str | None = None
    partitions: list[PartitionSummary] = []

    def counts(self) -> dict[TP, int]:
        return {(p.topic, p.partition): p.records for p in self.partitions}


_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(Record).decode
_decode_trailer = msgspec.json.Decoder(Trailer).decode
_decode_header = msgspec.json.Decoder(Header).decode
_decode_any = msgspec.json.Decoder().decode


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def is_gzip_name(path: str | Path) -> bool:
    return str(path).endswith(".gz")


# -- writing ----------------------------------------------------------------------------------


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
            raise RecordingError(f"cannot write {self.temporary}: {_os_reason(exc)}") from None
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
            raise RecordingError(f"cannot write {self.temporary}: {_os_reason(exc)}") from None

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
            raise RecordingError(f"cannot write {self.path}: {_os_reason(exc)}") from None
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


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


# -- reading ----------------------------------------------------------------------------------


def _open_bytes(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip."""
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise RecordingError(f"cannot open {path}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"cannot open {path}: it is a directory") from None
    except OSError as exc:
        raise RecordingError(f"cannot open {path}: {_os_reason(exc)}") from None
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(filename="", mode="rb", fileobj=raw)  # type: ignore[return-value]
    return raw


def _close_stream(stream: IO[bytes]) -> None:
    inner = getattr(stream, "fileobj", None)
    with contextlib.suppress(OSError, EOFError):
        stream.close()
    if inner is not None:
        inner.close()


@dataclass
class Recording:
    """A recording's header and end line (see :func:`inspect_recording`)."""

    path: Path
    header: Header
    trailer: Trailer

    @property
    def topics(self) -> list[str]:
        return list(self.header.topics)

    @property
    def records(self) -> int:
        return self.trailer.records

    def partitions(self, topic: str) -> list[int]:
        """The partitions of ``topic`` the recording covered (with records or not)."""
        found = {p.partition for p in self.header.partitions if p.topic == topic}
        found |= {p.partition for p in self.trailer.partitions if p.topic == topic}
        return sorted(found)


def follow(last: dict[TP, int], counts: dict[TP, int], tp: TP, offset: int) -> str | None:
    """Count a partition's next record; what is wrong when its offset does not follow."""
    before = last.get(tp)
    if before is not None and offset <= before:
        return f"{tp[0]}[{tp[1]}] offset {offset} does not follow offset {before}"
    last[tp] = offset
    counts[tp] = counts.get(tp, 0) + 1
    return None


class RecordingReader:
    """Reads and checks a recording line by line; every problem is a :class:`RecordingError`.

    ``header`` is read when it is made; :meth:`batches` reads the records and,
    at the end, the end line (``trailer``), checking that it is there, that it
    counts what the file holds and that each partition's offsets increase.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stream = _open_bytes(self.path)
        self.line = 0  # the number of the last line read
        self.trailer: Trailer | None = None
        try:
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise

    def _fail(self, what: str, line: int | None = None) -> RecordingError:
        return RecordingError(f"{self.path}: line {line or self.line}: {what}")

    def _lines(self) -> list[bytes]:
        try:
            return self._stream.readlines(_READ_HINT)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            text = str(exc).rstrip(".") or type(exc).__name__
            raise RecordingError(
                f"{self.path} is truncated or corrupt after line {self.line} (gzip: {text})"
            ) from None
        except OSError as exc:
            raise RecordingError(f"cannot read {self.path}: {_os_reason(exc)}") from None

    def _read_header(self) -> Header:
        try:
            first = self._stream.readline(1 << 24)
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError):
            first = b"\0"
        self.line = 1
        not_one = f"{self.path} is not an evtui recording"
        if not first:
            raise RecordingError(f"{not_one}: the file is empty")
        try:
            data = _decode_any(first)
        except msgspec.DecodeError:
            raise RecordingError(f"{not_one} (its first line is not its header)") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RecordingError(f"{not_one} (its first line is not its header)")
        version = data.get("version")
        if version != VERSION:
            raise RecordingError(
                f"{self.path} is an evtui recording of version {version!r}; this evtui reads "
                f"version {VERSION} (a newer evtui may read it)"
            )
        if not first.endswith(b"\n"):
            raise RecordingError(f"{self.path} is truncated: it ends in its header")
        try:
            return _decode_header(first)
        except msgspec.DecodeError as exc:
            raise self._fail(f"invalid header: {exc}") from None

    def batches(self) -> Iterator[list[Event]]:
        """The records in batches (about a megabyte of lines each), checked as read."""
        last: dict[TP, int] = {}
        counts: dict[TP, int] = {}
        while True:
            lines = self._lines()
            if not lines:
                raise RecordingError(
                    f"{self.path} is truncated: it ends after line {self.line} without its "
                    "end line (was the recording cut short?)"
                )
            events: list[Event] = []
            try:
                self._take(lines, events, last, counts)
            except RecordingError:
                if events:
                    yield events  # what came before the bad line
                raise
            if events:
                yield events
            if self.trailer is not None and not self._more():
                self._check_counts(counts)
                return

    def _take(
        self, lines: list[bytes], events: list[Event], last: dict[TP, int], counts: dict[TP, int]
    ) -> None:
        """Check ``lines`` and append their records to ``events``."""
        append = events.append
        for raw in lines:
            self.line += 1
            if self.trailer is not None:
                raise self._fail("data after the end line")
            record = self._record(raw)
            if record is None:
                continue
            tp = (record.topic, record.partition)
            disorder = follow(last, counts, tp, record.offset)
            if disorder is not None:
                raise self._fail(disorder)
            append(event_of(record))

    def _more(self) -> bool:
        """Whether anything follows the end line (read ahead; an error if so)."""
        rest = self._lines()
        if rest:
            self.line += 1
            raise self._fail("data after the end line")
        return False

    def _record(self, raw: bytes) -> Record | None:
        """The record on this line; None for the end line (kept in ``trailer``)."""
        if not raw.endswith(b"\n"):
            raise RecordingError(
                f"{self.path} is truncated: line {self.line} is cut short (no end line)"
            )
        try:
            return _decode_record(raw)
        except msgspec.DecodeError as exc:
            problem = exc
        try:
            self.trailer = _decode_trailer(raw)
            return None
        except msgspec.DecodeError as exc:
            if _is_end_line(raw):
                raise self._fail(f"invalid end line: {exc}") from None
        if not raw.strip():
            raise self._fail("empty line")
        raise self._fail(f"not a record: {problem}")

    def _check_counts(self, counts: dict[TP, int]) -> None:
        trailer = self.trailer
        assert trailer is not None
        held = sum(counts.values())
        if trailer.records != held:
            raise self._fail(
                f"the end line counts {trailer.records:,} records, the file holds {held:,} "
                "(was the file edited?)"
            )
        for part in trailer.partitions:
            have = counts.get((part.topic, part.partition), 0)
            if part.records != have:
                raise self._fail(
                    f"the end line counts {part.records:,} records of "
                    f"{part.topic}[{part.partition}], the file holds {have:,}"
                )

    def close(self) -> None:
        _close_stream(self._stream)

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def event_of(record: Record) -> Event:
    """The :class:`Event` of a record line."""
    return Event(
        record.topic, record.partition, record.offset, record.timestamp,
        _TS_TYPES[record.timestamp_type], record.key, record.value, record.headers,
    )  # fmt: skip


def _is_end_line(raw: bytes) -> bool:
    try:
        data = _decode_any(raw)
    except msgspec.DecodeError:
        return False
    return isinstance(data, dict) and "end" in data


def read_events(path: str | Path) -> tuple[Header, list[Event], Trailer]:
    """A whole recording in memory (for tests and small files)."""
    with RecordingReader(path) as reader:
        events = [e for batch in reader.batches() for e in batch]
        assert reader.trailer is not None
        return reader.header, events, reader.trailer


def inspect_recording(path: str | Path) -> Recording:
    """Header and end line, without decoding the records.

    A plain file is read from both ends; a gzip file is decompressed once (it
    cannot be read backwards). Raises :class:`RecordingError` when either line
    is missing or invalid. Records are checked by :class:`RecordingReader`.
    """
    with RecordingReader(path) as reader:
        stream = reader._stream
        if isinstance(stream, gzip.GzipFile):
            last, lines = _last_line_streamed(reader)
        else:
            last, lines = _last_line_seeked(stream), None
        header = reader.header
    path = Path(path)
    if not last.endswith(b"\n"):
        raise RecordingError(
            f"{path} is truncated: its last line is cut short (no end line; was the recording "
            "cut short?)"
        )
    where = f"line {lines}" if lines else "its last line"
    try:
        trailer = _decode_trailer(last)
    except msgspec.DecodeError:
        if _is_end_line(last):
            raise RecordingError(f"{path}: {where}: invalid end line") from None
        raise RecordingError(
            f"{path} is truncated: {where} is not its end line (was the recording cut short?)"
        ) from None
    return Recording(path, header, trailer)


def _last_line_seeked(stream: IO[bytes]) -> bytes:
    end = stream.seek(0, os.SEEK_END)
    size = 4096
    while True:
        start = max(0, end - size)
        stream.seek(start)
        tail = stream.read(end - start)
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0 or start == 0:
            return tail[cut + 1 :]
        size *= 4


def _last_line_streamed(reader: RecordingReader) -> tuple[bytes, int]:
    last = b""
    while lines := reader._lines():
        reader.line += len(lines)
        last = lines[-1]
    return last, reader.line


# -- choosing records: positions on a file ----------------------------------------------------


class Selection:
    """Which records of each partition a start position and an end bound select.

    Kafka's rules, on the records the file holds (read in offset order):
    ``beginning`` from the first; ``end`` none; ``N`` from offset N; ``-N`` the
    last N records (``counts``: each partition's records in the file); a time
    from the first record at or after it, and everything after. The end bound:
    ``end`` the end of the file, ``N`` up to offset N (inclusive), a time before
    the first record at or after it (exclusive).
    """

    def __init__(
        self, start: Position, until: Position | None = None, counts: dict[TP, int] | None = None
    ) -> None:
        self.start = start
        self.until = until
        self.counts = counts or {}
        self._seen: dict[TP, int] = {}  # records looked at per partition
        self._started: set[TP] = set()
        self._stopped: set[TP] = set()

    def selects(self, tp: TP, offset: int, timestamp: int) -> bool:
        index = self._seen.get(tp, 0)
        self._seen[tp] = index + 1
        if tp in self._stopped:
            return False
        if self._past_until(offset, timestamp):
            self._stopped.add(tp)
            return False
        if tp in self._started:
            return True
        if self._starts(tp, index, offset, timestamp):
            self._started.add(tp)
            return True
        return False

    def stopped(self, tp: TP) -> bool:
        return tp in self._stopped

    def _starts(self, tp: TP, index: int, offset: int, timestamp: int) -> bool:
        kind, value = self.start.kind, self.start.value
        if kind is Kind.BEGINNING:
            return True
        if kind is Kind.END:
            return False
        if kind is Kind.OFFSET:
            return offset >= value
        if kind is Kind.TAIL:
            return index >= self.counts.get(tp, 0) - value
        return timestamp >= value

    def _past_until(self, offset: int, timestamp: int) -> bool:
        until = self.until
        if until is None or until.kind is Kind.END:
            return False
        if until.kind is Kind.OFFSET:
            return offset > until.value
        return timestamp >= until.value


def select_topics(
    available: Sequence[str], requested: Sequence[str] | None, where: str
) -> list[str]:
    """Topics by name or ``^regex`` among ``available``; None (or none) = all."""
    if not requested:
        return list(available)
    chosen: list[str] = []
    for name in requested:
        if name.startswith("^"):
            try:
                pattern = re.compile(name)
            except re.error as exc:
                raise UsageError(f"invalid topic pattern '{name}': {exc}") from None
            chosen += [t for t in available if pattern.search(t)]
        elif name in available:
            chosen.append(name)
        else:
            raise UsageError(
                f"{where} holds no topic '{name}'; its topics: {', '.join(available) or 'none'}"
            )
    if not chosen:
        raise UsageError(f"no topic of {where} matches {', '.join(requested)}")
    return list(dict.fromkeys(chosen))
