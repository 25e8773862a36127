"""Recordings without a broker: the format, byte-exact round trips, and every bad file."""

from __future__ import annotations

import gzip
import json

import pytest

from evtui.core.event import Event, TimestampType
from evtui.core.positions import BEGINNING, END, Kind, Position
from evtui.core.recording import (
    FORMAT,
    Header,
    PartitionBounds,
    RecordingError,
    RecordingReader,
    RecordingWriter,
    Selection,
    inspect_recording,
    read_events,
    select_topics,
)
from evtui.errors import UsageError

ALL_BYTES = bytes(range(256))


def awkward_events() -> list[Event]:
    """Binary, empty and null keys and values; repeated, null and non-UTF-8 headers."""
    return [
        Event("a", 0, 0, 1_795_000_000_000, TimestampType.CREATE_TIME, b"k", b'{"x": 1}'),
        Event("a", 0, 1, 1_795_000_000_001, TimestampType.CREATE_TIME, None, ALL_BYTES,
              (("h", b"1"), ("h", b"2"), ("n", None), ("bin", b"\xff\xfe\x00"))),
        Event("a", 1, 5, 1_795_000_000_002, TimestampType.LOG_APPEND_TIME, ALL_BYTES, None),
        Event("b", 0, 7, -1, TimestampType.NOT_AVAILABLE, b"", b"", (("", b""),)),
        Event("a", 0, 9, 1_795_000_000_003, 1, "é".encode(), "ü\n\"\\".encode()),
    ]  # fmt: skip


def header(**fields: object) -> Header:
    base = {
        "created": "2026-11-27T10:00:00Z",
        "source": "127.0.0.1:19092",
        "topics": ["a", "b"],
        "partitions": [
            PartitionBounds(topic="a", partition=0, low=0, high=10, start=0, stop=10),
            PartitionBounds(topic="a", partition=1, low=0, high=6, start=0, stop=6),
            PartitionBounds(topic="a", partition=2, low=0, high=0, start=0, stop=0),
            PartitionBounds(topic="b", partition=0, low=0, high=8, start=0, stop=8),
        ],
    }
    return Header(**{**base, **fields})  # type: ignore[arg-type]


def record(path, events=None, **fields: object):
    with RecordingWriter(path, header(**fields)) as writer:
        writer.write(events if events is not None else awkward_events())
        return writer.finish()


@pytest.mark.parametrize("name", ["slice.jsonl", "slice.jsonl.gz"])
def test_a_recording_round_trips_byte_for_byte(tmp_path, name):
    path = tmp_path / name
    trailer = record(path)
    assert not (tmp_path / f"{name}.tmp").exists()
    head, events, end = read_events(path)
    assert events == awkward_events()  # every field: bytes, headers in order, timestamps
    assert [e.ts_type for e in events][2:4] == [
        TimestampType.LOG_APPEND_TIME,
        TimestampType.NOT_AVAILABLE,
    ]
    assert head.topics == ["a", "b"] and head.source == "127.0.0.1:19092"
    assert end == trailer and end.records == 5 and end.complete
    parts = {(p.topic, p.partition): p for p in end.partitions}
    assert parts[("a", 0)].records == 3 and parts[("a", 0)].last_offset == 9
    assert parts[("a", 2)].records == 0  # a partition without records is still listed
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")


def test_the_file_is_documented_json_lines(tmp_path):
    path = tmp_path / "slice.jsonl"
    record(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["format"] == FORMAT and lines[0]["version"] == 1
    assert lines[0]["from"] == "beginning" and lines[0]["until"] == "end"
    second = lines[2]
    assert list(second) == ["topic", "partition", "offset", "timestamp", "timestamp_type",
                            "key", "value", "headers"]  # fmt: skip
    assert second["key"] is None and second["timestamp_type"] == "CreateTime"
    assert second["headers"] == [["h", "MQ=="], ["h", "Mg=="], ["n", None], ["bin", "//4A"]]
    assert lines[-1]["end"] == FORMAT and lines[-1]["records"] == 5


def test_inspect_reads_the_header_and_end_line_of_both_kinds(tmp_path):
    for name in ("s.jsonl", "s.jsonl.gz"):
        record(tmp_path / name)
        found = inspect_recording(tmp_path / name)
        assert found.records == 5 and found.topics == ["a", "b"]
        assert found.partitions("a") == [0, 1, 2] and found.trailer.counts()[("b", 0)] == 1


def test_an_existing_file_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text("precious")
    with pytest.raises(UsageError, match=r"exists .*--force"):
        RecordingWriter(path, header())
    assert path.read_text() == "precious"
    record_over = RecordingWriter(path, header(), overwrite=True)
    record_over.finish()
    assert inspect_recording(path).records == 0
    with pytest.raises(UsageError, match="no such directory"):
        RecordingWriter(tmp_path / "nope" / "x.jsonl", header())
    with pytest.raises(UsageError, match="is a directory"):
        RecordingWriter(tmp_path, header())


def test_an_error_while_recording_leaves_nothing_behind(tmp_path):
    path = tmp_path / "s.jsonl"
    with pytest.raises(RuntimeError), RecordingWriter(path, header()) as writer:
        writer.write(awkward_events())
        raise RuntimeError("broker gone")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_recording_says_so(tmp_path):
    path = tmp_path / "s.jsonl"
    with RecordingWriter(path, header()) as writer:
        writer.write(awkward_events()[:2])
        writer.finish(complete=False, note="interrupted (Ctrl-C)")
    found = inspect_recording(path)
    assert not found.trailer.complete and found.trailer.note == "interrupted (Ctrl-C)"
    assert len(read_events(path)[1]) == 2


def expect_error(path, pattern: str) -> str:
    with pytest.raises(RecordingError, match=pattern) as caught:
        read_events(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_bad_files_are_one_clear_line_naming_file_and_line(tmp_path):
    expect_error(tmp_path / "missing.jsonl", "cannot open .*no such file")
    expect_error(tmp_path, "is a directory")
    (tmp_path / "empty").write_bytes(b"")
    expect_error(tmp_path / "empty", "not an evtui recording: the file is empty")
    (tmp_path / "csv").write_bytes(b"a,b,c\n1,2,3\n")
    expect_error(tmp_path / "csv", "not an evtui recording")
    (tmp_path / "json").write_bytes(b'{"format": "other"}\n')
    expect_error(tmp_path / "json", "not an evtui recording")
    (tmp_path / "binary").write_bytes(ALL_BYTES * 4)
    expect_error(tmp_path / "binary", "not an evtui recording")
    (tmp_path / "v2").write_bytes(b'{"format": "evtui-recording", "version": 2}\n')
    expect_error(tmp_path / "v2", "version 2; this evtui reads version 1")


def lines_of(tmp_path) -> list[bytes]:
    record(tmp_path / "good.jsonl")
    return (tmp_path / "good.jsonl").read_bytes().splitlines(keepends=True)


def write(tmp_path, name: str, lines: list[bytes]):
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return path


def test_truncated_files_are_found(tmp_path):
    lines = lines_of(tmp_path)
    no_end = write(tmp_path, "no-end.jsonl", lines[:-1])
    expect_error(no_end, "truncated: it ends after line 6 without its end line")
    with pytest.raises(RecordingError, match="truncated: its last line is not its end line"):
        inspect_recording(no_end)
    cut = write(tmp_path, "cut.jsonl", [*lines[:3], lines[3][:20]])
    expect_error(cut, "truncated: line 4 is cut short")
    with pytest.raises(RecordingError, match="truncated"):
        inspect_recording(cut)
    whole = b"".join(lines)
    (tmp_path / "cut.gz").write_bytes(gzip.compress(whole)[:-30])
    expect_error(
        tmp_path / "cut.gz", r"truncated or corrupt after line \d+ \(gzip: Compressed file ended"
    )
    with pytest.raises(RecordingError, match="truncated or corrupt"):
        inspect_recording(tmp_path / "cut.gz")
    (tmp_path / "partial.gz").write_bytes(gzip.compress(b"".join(lines[:-1])))
    expect_error(tmp_path / "partial.gz", "without its end line")
    with pytest.raises(RecordingError, match="line 6 is not its end line"):
        inspect_recording(tmp_path / "partial.gz")


def test_corrupt_lines_are_named(tmp_path):
    lines = lines_of(tmp_path)
    bad_base64 = lines[2].replace(b'"value":"', b'"value":"@@')
    expect_error(write(tmp_path, "b64", [*lines[:2], bad_base64, *lines[3:]]),
                 r"line 3: not a record: Invalid base64.*\$\.value")  # fmt: skip
    garbage = write(tmp_path, "garbage", [*lines[:3], b"}{\n", *lines[3:]])
    expect_error(garbage, "line 4: not a record")
    blank = write(tmp_path, "blank", [*lines[:3], b"\n", *lines[3:]])
    expect_error(blank, "line 4: empty line")
    twice = write(tmp_path, "twice", [*lines[:3], lines[2], *lines[3:]])
    expect_error(twice, r"line 4: a\[0\] offset 1 does not follow offset 1")
    after = write(tmp_path, "after", [*lines, lines[2]])
    expect_error(after, "line 8: data after the end line")
    short = lines[-1].replace(b'"records":5', b'"records":4')
    expect_error(write(tmp_path, "count", [*lines[:-1], short]),
                 "line 7: the end line counts 4 records, the file holds 5")  # fmt: skip
    bad_end = lines[-1].replace(b'"records":5', b'"records":"five"')
    expect_error(write(tmp_path, "bad-end", [*lines[:-1], bad_end]), "line 7: invalid end line")
    bad_header = lines[0].replace(b'"topics":["a","b"]', b'"topics":"a"')
    expect_error(write(tmp_path, "bad-header", [bad_header, *lines[1:]]), "line 1: invalid header")


def test_the_reader_streams_in_batches_and_counts_lines(tmp_path):
    events = [
        Event("t", i % 3, i // 3, 1_795_000_000_000 + i, 1, b"k%d" % i, b"v" * 300)
        for i in range(30_000)
    ]
    path = tmp_path / "big.jsonl.gz"
    record(path, events)
    with RecordingReader(path) as reader:
        batches = list(reader.batches())
        assert len(batches) > 1 and sum(map(len, batches)) == 30_000
        assert reader.line == 30_002 and reader.trailer is not None


def tp_events() -> list[tuple[int, int]]:
    """(offset, timestamp) of one partition: offsets with gaps, a timestamp going back."""
    return [(10, 100), (11, 110), (13, 130), (14, 90), (20, 200)]


def chosen(start: Position, until: Position | None = None) -> list[int]:
    selection = Selection(start, until, {("t", 0): len(tp_events())})
    return [o for o, ts in tp_events() if selection.selects(("t", 0), o, ts)]


def test_positions_on_a_file_follow_kafkas_rules():
    assert chosen(BEGINNING) == [10, 11, 13, 14, 20]
    assert chosen(END) == []
    assert chosen(Position(Kind.OFFSET, 12)) == [13, 14, 20]
    assert chosen(Position(Kind.TAIL, 2)) == [14, 20]  # the last 2 records, not offsets
    assert chosen(Position(Kind.TAIL, 99)) == [10, 11, 13, 14, 20]
    assert chosen(Position(Kind.TIME, 105)) == [11, 13, 14, 20]  # then everything after
    assert chosen(BEGINNING, Position(Kind.OFFSET, 13)) == [10, 11, 13]  # inclusive
    assert chosen(BEGINNING, Position(Kind.TIME, 130)) == [10, 11]  # exclusive, and stays
    assert chosen(Position(Kind.OFFSET, 11), END) == [11, 13, 14, 20]


def test_topics_are_chosen_by_name_or_pattern():
    topics = ["orders", "payments", "orders.dlq"]
    assert select_topics(topics, None, "f") == topics
    assert select_topics(topics, ["^orders", "payments"], "f") == [*topics[::2], "payments"]
    with pytest.raises(UsageError, match="f holds no topic 'x'; its topics: orders, payments"):
        select_topics(topics, ["x"], "f")
    with pytest.raises(UsageError, match="no topic of f matches"):
        select_topics(topics, ["^zz"], "f")


class FullDisk:
    def write(self, data: bytes) -> int:
        raise OSError(28, "No space left on device")


def test_a_write_error_is_one_line_and_leaves_nothing(tmp_path):
    path = tmp_path / "s.jsonl.gz"
    full = pytest.raises(RecordingError, match=r"cannot write .*: No space left on device")
    with full, RecordingWriter(path, header()) as writer:
        assert writer._spool is not None
        writer._spool.out = FullDisk()  # type: ignore[assignment]
        for _ in range(20):
            writer.write(awkward_events())
        writer.finish()
    assert list(tmp_path.iterdir()) == []


def test_file_slices_choose_a_topic_and_bound_each_partition(tmp_path):
    from evtui.sources.recording import FileSlices

    path = tmp_path / "s.jsonl"
    record(path)
    with pytest.raises(UsageError, match=r"holds 2 topics \(a, b\): name the one to replay"):
        FileSlices(path)
    with pytest.raises(UsageError, match="holds no topic 'c'; its topics: a, b"):
        FileSlices(path, topic="c")
    with pytest.raises(UsageError, match="not a pattern"):
        FileSlices(path, topic="^a")
    with pytest.raises(UsageError, match="a has no partition 7 in"):
        FileSlices(path, topic="a", partitions=frozenset({7}))
    slices = FileSlices(path, BEGINNING, END, topic="a")
    assert slices.slices() == {0: (0, 10), 1: (5, 6), 2: (0, 0)}
    assert slices.path == str(path.resolve()) and slices.cluster_id is None
    later = FileSlices(path, Position(Kind.OFFSET, 1), Position(Kind.OFFSET, 5), topic="a")
    assert later.slices() == {0: (1, 2), 1: (5, 6), 2: (0, 0)}
    got: list = []
    slices.read({0: (1, 10), 1: (5, 6)}, lambda batch: got.extend(batch) or True)  # resumed
    assert [e.ref for e in got] == ["a[0]@1", "a[1]@5", "a[0]@9"]
    assert FileSlices(tmp_path / "s.jsonl", topic="b").slices() == {0: (7, 8)}


def test_the_file_source_honours_topics_and_positions(tmp_path):
    from evtui.sources.recording import FileSource

    path = tmp_path / "s.jsonl"
    record(path)

    def read(source: FileSource) -> list[str]:
        source.start()
        refs = []
        while (batch := source.get_batch(1.0)) is not None:
            refs += [e.ref for e in batch]
        source.stop()
        return refs

    everything = read(FileSource(path))  # in record-time order (b's record has none: -1)
    assert everything == ["b[0]@7", "a[0]@0", "a[0]@1", "a[1]@5", "a[0]@9"]
    source = FileSource(path, ["a"], Position(Kind.TAIL, 1))
    assert read(source) == ["a[1]@5", "a[0]@9"] and source.state.value == "finished"
    assert read(source.reopen(Position(Kind.OFFSET, 1))) == ["a[0]@1", "a[1]@5", "a[0]@9"]
    assert read(source.reopen(END, ["^b"])) == []
    with pytest.raises(UsageError, match="holds no topic 'zz'"):
        FileSource(path, ["zz"])
    assert FileSource(path).from_log_start and FileSource(path).lossless


def test_an_incomplete_recording_is_said_where_it_is_read(tmp_path):
    from evtui.sources.recording import FileSource

    path = tmp_path / "s.jsonl"
    with RecordingWriter(path, header()) as writer:
        writer.write(awkward_events()[:2])
        writer.finish(complete=False, note="interrupted (Ctrl-C)")
    (problem,) = FileSource(path).problems()
    assert problem.level == "warning"
    assert "is incomplete (interrupted (Ctrl-C)): it holds the 2 records" in problem.message
