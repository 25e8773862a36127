"""The schema timeline (core.schemas): rows per topic and schema, bounded, read-order free."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from evtui.core.decode import Decoded, SchemaInfo
from evtui.core.event import Event
from evtui.core.schemas import MAX_PRODUCERS, OTHER_PRODUCERS, SchemaTimeline


def written(topic, partition, offset, ts, version, producer=None, subject="s-value"):
    headers = (("ce_source", producer.encode()),) if producer else ()
    e = Event(topic, partition, offset, ts, 0, None, b"\x00\x00\x00\x00" + bytes([version]),
              headers)  # fmt: skip
    info = SchemaInfo("AVRO", subject, version, "{}")
    object.__setattr__(e, "_decoded", Decoded("json", {}, "avro", 100 + version, None, info))
    return e


def test_rows_are_per_schema_in_time_order_and_skip_other_values():
    t = SchemaTimeline()
    t.offer(written("o", 1, 0, 5_000, 2, "b"))
    t.offer(written("o", 0, 0, 1_000, 1, "a"))
    t.offer(written("o", 0, 1, 9_000, 1, "legacy"))
    t.offer(Event("o", 0, 2, 9_500, 0, None, b'{"json": true}'))
    t.offer(Event("o", 0, 3, 9_600, 0, None, None))
    rows = t.uses("o")
    assert [(u.version, u.count, u.first_ts, u.last_ts) for u in rows] == [
        (1, 2, 1_000, 9_000),
        (2, 1, 5_000, 5_000),
    ]
    assert rows[0].producers == {"a": 1, "legacy": 1}
    assert rows[0].last_ref == "o[0]@1"
    assert t.uses("other") == []


def test_an_id_not_decoded_keeps_its_problem():
    t = SchemaTimeline()
    e = Event("o", 0, 0, 1, 0, None, b"\x00\x00\x00\x00\x09abc")
    object.__setattr__(
        e,
        "_decoded",
        Decoded(
            "schema-registry",
            b"abc",
            "schema-registry",
            9,
            "schema id 9: the registry has no such schema",
        ),
    )
    t.offer(e)
    (use,) = t.uses("o")
    assert use.schema_id == 9 and use.subject is None and "no such schema" in use.problem


def test_bounds_on_rows_and_producers():
    t = SchemaTimeline(max_per_topic=3)
    for v in range(1, 8):
        t.offer(written("o", 0, v, v * 1000, v))
    assert [u.version for u in t.uses("o")] == [5, 6, 7] and t.evicted == 4
    for i in range(MAX_PRODUCERS + 5):
        t.offer(written("o", 0, 100 + i, 100_000, 7, f"p{i}"))
    producers = t.uses("o")[-1].producers
    # (unnamed) from the first loop, 19 named ones, then 6 counted together
    assert len(producers) == MAX_PRODUCERS + 1 and producers[OTHER_PRODUCERS] == 6


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.integers(1, 4)),
                max_size=40), st.randoms())  # fmt: skip
def test_read_order_does_not_change_the_timeline(records, rnd):
    events = [written("o", p, i, ts, v) for i, (p, ts, v) in enumerate(records)]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    a, b = SchemaTimeline(), SchemaTimeline()
    a.offer_batch(events)
    b.offer_batch(shuffled)
    summary = lambda t: [(u.version, u.count, u.first_ref, u.last_ref) for u in t.uses("o")]  # noqa: E731
    assert summary(a) == summary(b)
