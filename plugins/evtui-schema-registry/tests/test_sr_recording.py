"""A recording of registry payloads (``evtui record``) read back (``evtui open``): the raw
bytes are kept, and decode through the registry when read, as on the broker."""

from __future__ import annotations

from evtui.commands.demo import DemoOptions, make_simulator
from evtui.config import parse_registry_url
from evtui.core.recording import Header, PartitionBounds, RecordingWriter
from evtui.sources.demo import DemoSource
from evtui.sources.recording import FileSource
from evtui.tui.testing import FIXED_START_MS


def test_a_recording_keeps_the_wire_format_and_decodes_when_read(registry_url, tmp_path):
    options = DemoOptions(
        seed=7, rate=40.0, duration_s=30, registry=parse_registry_url(registry_url)
    )
    sim = make_simulator(options, FIXED_START_MS)
    source = DemoSource(sim, partitions=2, duration_ms=30_000)
    events = [e for batch in source.batches() for e in batch]
    ends = source.end_offsets()
    path = tmp_path / "shop.evtrec"
    header = Header(
        created="2026-11-18T10:15:00Z", source="demo", topics=sim.topics.all(),
        partitions=[PartitionBounds(topic=t, partition=p, low=0, high=end, start=0, stop=end)
                    for (t, p), end in sorted(ends.items())],
    )  # fmt: skip
    with RecordingWriter(path, header) as writer:
        writer.write(events)
        writer.finish()
    read = FileSource(path, ["orders", "payments"])
    read.start()
    back = []
    while (batch := read.get_batch(1.0)) is not None:
        back += batch
    read.stop()
    written = {e.ref: e for e in events if e.topic in ("orders", "payments")}
    assert {e.ref for e in back} == set(written)
    for event in back:
        original = written[event.ref]
        assert event.value == original.value  # the bytes, not a decoding of them
        assert event.decoded.error is None and event.decoded.schema is not None
        assert event.decoded.value == original.decoded.value
        assert event.ids == original.ids
