"""Reading a recording: :class:`RecordingReader` checks every line as it reads.

Also :func:`inspect_recording` (the header and end line only, without decoding
the records) and :func:`read_events` (a whole recording in memory). Readers
ignore fields they do not know; a new ``version`` is refused. The console's
reader of a time range, merged across partitions, is :mod:`evtui.core.recording_merge`.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import msgspec

from evtui.core.event import Event, TimestampType
from evtui.core.recording_format import (
    FORMAT,
    GZIP_MAGIC,
    TP,
    VERSION,
    Header,
    Record,
    RecordingError,
    Trailer,
    os_reason,
)

_TS_TYPES = {t.label: t for t in TimestampType}
_READ_HINT = 1 << 20  # bytes of lines read at once

_decode_record = msgspec.json.Decoder(Record).decode
_decode_trailer = msgspec.json.Decoder(Trailer).decode
_decode_header = msgspec.json.Decoder(Header).decode
_decode_any = msgspec.json.Decoder().decode


def _open_bytes(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip."""
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise RecordingError(f"cannot open {path}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"cannot open {path}: it is a directory") from None
    except OSError as exc:
        raise RecordingError(f"cannot open {path}: {os_reason(exc)}") from None
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
            raise RecordingError(f"cannot read {self.path}: {os_reason(exc)}") from None

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
