"""A recording in record-time order: the k-way merge, and the merged reading of a file."""

from __future__ import annotations

import tempfile
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import evtui.core.recording_merge as merging
from evtui.core.event import Event, TimestampType
from evtui.core.recording import Header, PartitionBounds, RecordingError, RecordingWriter
from evtui.core.recording_merge import MergedReader, merge_in_time

TPS = [("a", 0), ("a", 1), ("a", 2), ("b", 0)]
T0 = 1_795_000_000_000


def reference(streams: dict[tuple[str, int], list[Event]]) -> list[str]:
    """The specification: repeatedly the head with the least (time, topic, partition)."""
    heads = {tp: list(events) for tp, events in streams.items()}
    out = []
    while any(heads.values()):
        tp = min((tp for tp in heads if heads[tp]), key=lambda tp: (heads[tp][0].timestamp, tp))
        out.append(heads[tp].pop(0).ref)
    return out


@st.composite
def partitions(draw, monotonic: bool = False) -> dict[tuple[str, int], list[Event]]:
    """Records of up to four partitions; times go back within a partition unless monotonic."""
    streams = {}
    for topic, partition in draw(st.lists(st.sampled_from(TPS), unique=True, max_size=4)):
        steps = draw(st.lists(st.integers(0 if monotonic else -50, 60), max_size=40))
        at, offset, events = T0, draw(st.integers(0, 5)), []
        for step in steps:
            at += step
            offset += draw(st.integers(1, 3))  # gaps, as compaction and transactions leave
            value = b"x" * draw(st.sampled_from([0, 10, 400]))
            events.append(
                Event(topic, partition, offset, at, TimestampType.CREATE_TIME, b"k", value)
            )
        streams[(topic, partition)] = events
    return streams


@given(partitions())
def test_the_merge_keeps_each_partitions_order_and_takes_the_earliest_head(streams):
    merged = [e.ref for e in merge_in_time(streams.values())]
    assert merged == reference(streams)
    for tp, events in streams.items():
        mine = [ref for ref in merged if ref.startswith(f"{tp[0]}[{tp[1]}]@")]
        assert mine == [e.ref for e in events]  # offset order, even where time goes back


@given(partitions(monotonic=True))
def test_the_merge_never_goes_back_in_time_where_the_partitions_do_not(streams):
    merged = list(merge_in_time(streams.values()))
    assert sorted(e.ref for e in merged) == sorted(e.ref for es in streams.values() for e in es)
    keys = [(e.timestamp, e.topic, e.partition) for e in merged]
    assert all(a <= b for a, b in pairwise(keys))


@st.composite
def layouts(draw) -> tuple[dict, list[Event]]:
    """Partitions, and the order a file holds them in: chunks of each, interleaved at random."""
    streams = draw(partitions())
    cursors = {tp: 0 for tp in streams}
    written: list[Event] = []
    while any(cursors[tp] < len(events) for tp, events in streams.items()):
        tp = draw(st.sampled_from([tp for tp in streams if cursors[tp] < len(streams[tp])]))
        size = draw(st.integers(1, 12))
        written += streams[tp][cursors[tp] : cursors[tp] + size]
        cursors[tp] += size
    return streams, written


def write(path: Path, streams: dict, written: list[Event]) -> None:
    bounds = [
        PartitionBounds(topic=t, partition=p, low=0, high=100, start=0, stop=None) for t, p in TPS
    ]
    header = Header(created="2026-11-27T10:00:00Z", topics=["a", "b"], partitions=bounds)
    with RecordingWriter(path, header, overwrite=True) as writer:
        writer.write(written)
        writer.finish()


def read_merged(path: Path, tps=TPS, keep=None, counts=None) -> list[str]:
    with MergedReader(path, counts) as reader:
        return [e.ref for e in reader.events(tps, keep)]


@settings(max_examples=150, deadline=None)
@given(layouts(), st.sampled_from(["r.jsonl", "r.jsonl.gz"]), st.sampled_from([64, 700, 1 << 20]))
def test_a_file_in_any_layout_reads_merged_in_time_order(layout, name, span):
    streams, written = layout
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(merging, "SPAN", span)  # small: long runs and lines read in parts
        path = Path(folder) / name
        write(path, streams, written)
        assert read_merged(path) == reference(streams)
        only_a = {tp: es for tp, es in streams.items() if tp[0] == "a"}
        assert read_merged(path, [tp for tp in TPS if tp[0] == "a"]) == reference(only_a)
        odd = {tp: [e for e in es if e.offset % 2] for tp, es in streams.items()}
        assert read_merged(path, keep=lambda e: e.offset % 2 == 1) == reference(odd)
        full = [e for es in streams.values() for e in es]
        with MergedReader(path, {tp: len(es) for tp, es in streams.items()}) as reader:
            got = {e.ref: e for e in reader.events(TPS)}
        assert all(got[e.ref] == e for e in full) and len(got) == len(full)  # byte for byte


def test_partitions_written_one_after_another_are_held_as_positions(tmp_path):
    """The scan runs only as far as the merge needs, and keeps one run per partition."""
    streams = {
        tp: [
            Event(tp[0], tp[1], i, T0 + 4 * i + n, TimestampType.CREATE_TIME, None, b"v" * 50)
            for i in range(2000)
        ]
        for n, tp in enumerate(TPS)
    }
    path = tmp_path / "r.jsonl"
    write(path, streams, [e for es in streams.values() for e in es])
    counts = {tp: len(es) for tp, es in streams.items()}
    with MergedReader(path, counts) as reader:
        merged = reader.events(TPS)
        first = [next(merged).ref for _ in range(4)]
        assert first == ["a[0]@0", "a[1]@0", "a[2]@0", "b[0]@0"]
        assert max(len(runs) for runs in reader._runs.values()) == 1
        assert [e.ref for e in merged] == reference(streams)[4:]


def test_bad_lines_end_the_merged_stream_naming_the_line(tmp_path):
    streams = {tp: [Event(*tp, i, T0 + i, 1, None, b"v") for i in range(50)] for tp in TPS[:2]}
    path = tmp_path / "r.jsonl"
    write(path, streams, [e for es in streams.values() for e in es])
    lines = path.read_bytes().splitlines(keepends=True)
    scanned = list(lines)
    scanned[61] = b'{"topic": "a"}\n'  # the scan finds it: what came before is all read
    path.write_bytes(b"".join(scanned))
    got: list[str] = []
    with pytest.raises(RecordingError, match="line 62: not a record"), MergedReader(path) as reader:
        for event in reader.events(TPS):
            got.append(event.ref)
    before = {tp: es for tp, es in streams.items()}
    before[("a", 1)] = before[("a", 1)][:10]
    assert got == reference(before)
    read_back = list(lines)
    read_back[3] = read_back[3].replace(b'"value":"dg=="', b'"value":"!!"')
    path.write_bytes(b"".join(read_back))
    with pytest.raises(RecordingError, match="line 4: not a record: Invalid base64"):
        read_merged(path)
    path.write_bytes(b"".join(lines[:-1]))
    with pytest.raises(RecordingError, match="is truncated"):
        read_merged(path)
    counts = {tp: len(es) for tp, es in streams.items()}
    path.write_bytes(b"".join([*lines[:-1], lines[5], lines[-1]]))
    with pytest.raises(RecordingError, match="does not follow offset"):
        read_merged(path, counts=counts)


def test_runs_are_kept_in_arrays_and_dropped_once_taken():
    """A partition's pending runs cost three integers each; taken ones are let go."""
    runs = merging._Runs()
    for i in range(10_000):
        runs.add(i * 10, i * 10 + 10, i + 2)
    assert runs.take(25) == [(0, 10, 2), (10, 20, 3)]
    while len(runs) > 1:
        runs.take(1)
    runs.put_back(99_995, 100_000, 10_001)
    assert len(runs) == 2 and runs.take(1) == [(99_995, 100_000, 10_001)]
    assert runs.starts.itemsize == 8 and len(runs.starts) < 10_000  # taken runs are dropped


@settings(max_examples=60, deadline=None)
@given(layouts())
def test_each_partitions_end_follows_its_last_record_in_the_merged_stream(layout):
    """The ordering checks learn that a partition is done as soon as its last record passed."""
    from evtui.core.recording_merge import PartitionEnd

    streams, written = layout
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.jsonl"
        write(path, streams, written)
        with MergedReader(path) as reader:
            merged = list(reader.events(TPS, ends=True))
    ends = [i for i, e in enumerate(merged) if isinstance(e, PartitionEnd)]
    assert sorted((merged[i].topic, merged[i].partition) for i in ends) == sorted(TPS)
    records = [e for e in merged if not isinstance(e, PartitionEnd)]
    assert [e.ref for e in records] == reference(streams)
    for i in ends:  # nothing of the partition after its end
        tp = (merged[i].topic, merged[i].partition)
        assert not [e for e in merged[i:] if isinstance(e, Event) and (e.topic, e.partition) == tp]
