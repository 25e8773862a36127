"""The recording format: a slice of topics in a portable, streamable file (``evtui record``).

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
an incompatible change. The writer is :mod:`evtui.core.recording_writer`, the
readers :mod:`evtui.core.recording_reader`. Pure: no Kafka, no Textual.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from evtui.errors import EvtuiError

FORMAT = "evtui-recording"
VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
TP = tuple[str, int]

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


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def is_gzip_name(path: str | Path) -> bool:
    return str(path).endswith(".gz")


def os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
