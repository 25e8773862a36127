"""Recordings: a slice of topics in a portable, streamable file (``evtui record``/``open``).

The public face of recordings; each part lives in its own module:

* :mod:`evtui.core.recording_format`: the file format (JSON Lines: a header, one
  line per record, an end line) and its lines as structs;
* :mod:`evtui.core.recording_writer`: :class:`RecordingWriter` (``evtui record``);
* :mod:`evtui.core.recording_reader`: :class:`RecordingReader`, which checks every
  line, :func:`inspect_recording` (header and end line) and :func:`read_events`;
* :mod:`evtui.core.recording_select`: which topics and records a start position
  and an end bound choose of a file (:class:`Selection`, :func:`select_topics`);
* :mod:`evtui.core.recording_merge`: the console's reader of a time range, merged
  across partitions (built on the reader).

Import from here (except the merge, imported from its module). Pure: no Kafka, no Textual.
"""

from __future__ import annotations

from evtui.core.recording_format import (
    FORMAT,
    GZIP_MAGIC,
    TP,
    VERSION,
    Header,
    HeaderList,
    Name,
    NonNegative,
    PartitionBounds,
    PartitionSummary,
    Record,
    RecordingError,
    Trailer,
    is_gzip_name,
    now_iso,
)
from evtui.core.recording_reader import (
    Recording,
    RecordingReader,
    event_of,
    follow,
    inspect_recording,
    read_events,
)
from evtui.core.recording_select import Selection, select_topics
from evtui.core.recording_writer import RecordingWriter, check_output, record_line

__all__ = [
    "FORMAT",
    "GZIP_MAGIC",
    "TP",
    "VERSION",
    "Header",
    "HeaderList",
    "Name",
    "NonNegative",
    "PartitionBounds",
    "PartitionSummary",
    "Record",
    "Recording",
    "RecordingError",
    "RecordingReader",
    "RecordingWriter",
    "Selection",
    "Trailer",
    "check_output",
    "event_of",
    "follow",
    "inspect_recording",
    "is_gzip_name",
    "now_iso",
    "read_events",
    "record_line",
    "select_topics",
]
