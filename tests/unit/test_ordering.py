"""Ordering detectors (issue 7): every kind, on hand-made streams and the simulator's."""

from __future__ import annotations

import json

from evtui.core.event import Event
from evtui.core.ordering import GAP_GRACE, SequenceDetector, parse_ref, sequence_of


def ev(offset: int, seq: int | None, *, key: str = "k", eid: str | None = None, where="body"):
    body: dict = {"eventId": eid or f"e{offset}", "type": "Thing"}
    headers: tuple = ()
    if seq is not None and where == "body":
        body["sequence"] = seq
    elif seq is not None:
        headers = (("Seq", str(seq).encode()),)
    return Event("t", 0, offset, 1000 + offset, 1, key.encode(), json.dumps(body).encode(), headers)


def run(detector: SequenceDetector, events: list[Event]) -> list:
    found = []
    for e in events:
        found += detector.offer(e)
    return found + detector.flush()


def test_sequence_numbers_come_from_a_header_or_a_top_level_json_field():
    assert sequence_of(ev(0, 7)) == 7
    assert sequence_of(ev(0, 8, where="header")) == 8
    assert sequence_of(ev(0, None)) is None
    version = Event("t", 0, 0, 0, 1, b"k", b'{"version": 3}')
    assert sequence_of(version) == 3
    text = Event("t", 0, 0, 0, 1, b"k", b'{"sequence": "3"}')  # not an integer: none
    assert sequence_of(text) is None and sequence_of(Event("t", 0, 0, 0, 1, b"k", b"x")) is None


def test_a_clean_stream_has_no_finding():
    assert run(SequenceDetector(), [ev(i, i + 1) for i in range(200)]) == []


def test_adjacent_records_swapped_are_one_regression_not_a_gap_too():
    events = [ev(0, 1), ev(1, 3), ev(2, 2), ev(3, 4)]
    (finding,) = run(SequenceDetector(), events)
    assert finding.kind == "sequence_regression" and finding.offset == 2
    assert finding.refs == ("t/0/1", "t/0/2")
    assert "swapped" in finding.explanation


def test_a_regression_names_the_higher_sequence_that_came_first_and_where():
    events = [ev(0, 1), ev(1, 2), ev(2, 5), ev(3, 3), ev(4, 6), ev(5, 4)]
    found = run(SequenceDetector(), events)
    assert [(f.kind, f.offset, f.seen) for f in found] == [
        ("sequence_regression", 3, "sequence 3 after sequence 5 at t[0]@2"),
        ("sequence_regression", 5, "sequence 4 after sequence 5 at t[0]@2"),
    ]
    assert found[0].expected == "sequence 3 before sequence 5 at t[0]@2"
    assert found[0].refs == ("t/0/2", "t/0/3")


def test_a_regression_without_a_gap_and_a_duplicate_sequence():
    found = run(SequenceDetector(), [ev(0, 5), ev(1, 6), ev(2, 3)])
    assert [(f.kind, f.expected, f.seen) for f in found] == [
        ("sequence_regression", "sequence above 6", "sequence 3 after sequence 6 at t[0]@1")
    ]
    (dup,) = run(SequenceDetector(), [ev(0, 5), ev(1, 6), ev(2, 6, eid="other")])
    assert dup.kind == "sequence_duplicate" and dup.refs == ("t/0/1", "t/0/2")


def test_the_same_event_twice_is_left_to_the_duplicate_detector():
    assert run(SequenceDetector(), [ev(0, 1, eid="a"), ev(1, 1, eid="a")]) == []


def test_a_gap_that_is_never_filled_is_reported_once_per_run():
    detector = SequenceDetector()
    found = run(detector, [ev(0, 1), ev(1, 4), ev(2, 5), ev(3, 9)])
    assert [(f.kind, f.expected, f.refs) for f in found] == [
        ("sequence_gap", "sequence 2..3 after 1", ("t/0/1",)),
        ("sequence_gap", "sequence 6..8 after 5", ("t/0/3",)),
    ]
    # an open gap is reported once the key has moved on far enough, not only at the end
    detector = SequenceDetector()
    live = [ev(0, 1), ev(1, 3)] + [ev(i, i + 2) for i in range(2, 2 + GAP_GRACE)]
    found = [f for e in live for f in detector.offer(e)]
    assert [f.kind for f in found] == ["sequence_gap"] and detector.flush() == []


def test_keys_are_separate_and_bounded():
    detector = SequenceDetector(max_keys=2)
    found = run(detector, [ev(0, 1, key="a"), ev(1, 1, key="b"), ev(2, 2, key="a")])
    assert found == []
    # a third key evicts the least recently seen one; its open gap is reported then
    detector = SequenceDetector(max_keys=2)
    for e in (ev(0, 1, key="a"), ev(1, 3, key="a"), ev(2, 1, key="b")):
        assert detector.offer(e) == []
    evicted = detector.offer(ev(3, 1, key="c"))
    assert [f.kind for f in evicted] == ["sequence_gap"] and detector.keys.evicted == 1
    assert len(detector.keys) == 2


def test_refs_parse_back_even_with_slashes_in_topic_names():
    assert parse_ref("a/b/3/17") == ("a/b", 3, 17)


def test_open_gaps_per_key_are_bounded():
    from evtui.core.ordering import MAX_GAPS

    detector = SequenceDetector()
    found = []
    for i in range(MAX_GAPS + 3):  # every other number missing
        found += detector.offer(ev(i, 2 * i + 1))
    assert len(found) == 2 and all(f.kind == "sequence_gap" for f in found)
    assert found[0].expected == "sequence 2 after 1"  # the oldest goes first
    assert len(detector.flush()) == MAX_GAPS


def test_the_same_event_twice_is_a_duplicate_with_its_likely_cause():
    from evtui.core.ordering import DuplicateDetector

    detector = DuplicateDetector()
    a = ev(0, None, eid="a")
    assert detector.offer(a) == []
    assert detector.offer(a) == []  # the same record read again: not a duplicate
    again = Event("t", 0, 5, a.timestamp, 1, a.key, a.value, a.headers)
    (same,) = detector.offer(again)
    assert same.kind == "duplicate_event" and same.refs == ("t/0/0", "t/0/5")
    assert "byte for byte" in same.seen and "retry" in same.explanation
    other = Event("t", 1, 9, 0, 1, b"k", b'{"eventId": "a", "type": "Other"}')
    (reused,) = detector.offer(other)
    assert "other content" in reused.seen and "two different events" in reused.explanation
    assert DuplicateDetector().offer(Event("t", 0, 0, 0, 1, b"k", b"no id")) == []


def test_cloudevents_ids_are_per_source():
    from evtui.core.ordering import DuplicateDetector

    def ce(offset: int, source: bytes) -> Event:
        headers = (("ce_id", b"1"), ("ce_source", source), ("ce_type", b"T"))
        return Event("t", 0, offset, 0, 1, b"k", b"{}", headers)

    detector = DuplicateDetector(max_ids=10)
    assert detector.offer(ce(0, b"/a")) == [] and detector.offer(ce(1, b"/b")) == []
    assert [f.kind for f in detector.offer(ce(2, b"/a"))] == ["duplicate_event"]


def test_event_time_from_header_field_or_record():
    from evtui.core.ordering import event_time_ms

    header = Event("t", 0, 0, 5, 1, b"k", b"{}", (("ce_time", b"2026-11-27T10:00:00.250Z"),))
    assert event_time_ms(header) == (1_795_773_600_250, "ce_time")
    body = Event("t", 0, 0, 5, 1, b"k", b'{"occurredAt": "2026-11-27T10:00:01Z"}')
    assert event_time_ms(body) == (1_795_773_601_000, "occurredAt")
    bad = Event("t", 0, 0, 5, 1, b"k", b'{"time": "yesterday"}')
    assert event_time_ms(bad) == (5, "record timestamp")


def test_event_time_going_back_beyond_the_lateness():
    from evtui.core.ordering import EventTimeDetector

    def at(offset: int, iso: str, key: bytes = b"k") -> Event:
        return Event("t", 0, offset, 0, 1, key, f'{{"time": "{iso}"}}'.encode())

    detector = EventTimeDetector(lateness_ms=1_000)
    events = [
        at(0, "2026-11-27T10:00:00Z"),
        at(1, "2026-11-27T10:00:05Z"),
        at(2, "2026-11-27T10:00:04.500Z"),  # within the lateness
        at(3, "2026-11-27T09:50:05Z"),  # 10 minutes back
        at(4, "2026-11-27T10:00:06Z"),  # after the latest again: fine
        at(5, "2026-11-27T09:00:00Z", key=b"other"),  # another key: its own clock
    ]
    found = [f for e in events for f in detector.offer(e)]
    assert [(f.kind, f.offset, f.refs) for f in found] == [
        ("event_time_regression", 3, ("t/0/1", "t/0/3"))
    ]
    assert "600.000 s" in found[0].explanation


def test_detectors_find_exactly_what_the_simulator_injected():
    """Reordered versions, duplicates and event times moved back: each once, nothing else."""
    from evtui.core.ordering import CausalDetector, DuplicateDetector, EventTimeDetector
    from evtui.sim.model import FaultRates
    from evtui.sim.shop import ShopSimulator
    from evtui.sources.demo import DemoSource

    faults = FaultRates(
        out_of_order=0.05, duplicate=0.02, orphan=0.03, cause_after_effect=0.03,
        time_backwards=0.05,
    )  # fmt: skip
    sim = ShopSimulator(seed=11, rate=400, faults=faults)
    events = [e for batch in DemoSource(sim, partitions=3, duration_ms=15_000).batches()
              for e in batch]  # fmt: skip
    causal = CausalDetector()
    detectors = [SequenceDetector(), DuplicateDetector(), EventTimeDetector(), causal]
    found = [f for e in events for d in detectors for f in d.offer(e)]
    found += detectors[0].flush() + causal.flush()
    by_ref = {f"{e.topic}/{e.partition}/{e.offset}": e.ids.event_id for e in events}
    kinds = {
        "sequence_regression": "out_of_order",
        "duplicate_event": "duplicate",
        "event_time_regression": "time_backwards",
        "causal_inversion": "cause_after_effect",
        "orphan": "orphan",
    }
    # the event each finding is about: its last ref (the effect, the late one, the repeat)
    got = sorted((kinds[f.kind], by_ref[f.refs[-1]]) for f in found)
    # and each fault: the late version, the effect, the repeated or moved event
    truth = sorted(
        (f.kind, f.event_ids[-1] if f.kind == "out_of_order" else f.event_ids[0])
        for f in sim.truth.faults
    )
    assert len(truth) > 100 and got == truth


def causal(offset: int, ts: int, eid: str, cause: str | None = None) -> Event:
    headers = [("event-id", eid.encode())]
    if cause:
        headers.append(("causation-id", cause.encode()))
    return Event("t", 0, offset, ts, 1, b"k", b"{}", tuple(headers))


def test_an_effect_before_its_cause_in_either_read_order_and_within_the_tolerance():
    from evtui.core.ordering import CausalDetector

    cause, effect = causal(0, 1_000, "c"), causal(1, 900, "e", cause="c")
    for order in ((cause, effect), (effect, cause)):
        detector = CausalDetector()
        found = [f for e in order for f in detector.offer(e)] + detector.flush()
        assert [(f.kind, f.offset, f.refs) for f in found] == [
            ("causal_inversion", 1, ("t/0/0", "t/0/1"))
        ]
        assert "100 ms before" in found[0].seen
    lenient = CausalDetector(tolerance_ms=100)
    assert [f for e in (cause, effect) for f in lenient.offer(e)] == []


def test_orphans_after_the_grace_or_at_the_end_and_duplicates_said_once():
    from evtui.core.ordering import CausalDetector

    detector = CausalDetector(grace_ms=1_000, strict=True)
    assert detector.offer(causal(0, 0, "e1", cause="missing")) == []
    assert detector.offer(causal(1, 500, "x")) == []
    (late,) = detector.offer(causal(2, 1_500, "y"))  # record time has moved on past the grace
    assert late.kind == "orphan" and late.offset == 0 and late.expected == "its cause missing"
    detector.offer(causal(3, 2_000, "e2", cause="gone"))
    detector.offer(causal(4, 2_001, "e2", cause="gone"))  # the same effect again
    assert [f.offset for f in detector.flush()] == [3]


def test_a_range_that_starts_mid_stream_does_not_call_early_effects_orphans():
    from evtui.core.ordering import CausalDetector

    detector = CausalDetector(grace_ms=1_000, mid_stream=True, strict=True)
    detector.offer(causal(0, 10_000, "e1", cause="before-the-range"))  # its cause: earlier
    detector.offer(causal(1, 12_000, "e2", cause="really-missing"))
    assert [f.offset for f in detector.flush()] == [1] and detector.unjudged == 1
    from_start = CausalDetector(grace_ms=1_000, strict=True)
    from_start.offer(causal(0, 10_000, "e1", cause="missing"))
    assert [f.offset for f in from_start.flush()] == [0]


def test_the_checker_says_what_its_bounds_made_it_forget():
    from evtui.core.ordering import Checker

    checker = Checker(max_keys=2)
    for i in range(5):
        checker.offer(ev(i, 1, key=f"k{i}"))
    notes = checker.notes()
    assert "3 keys' sequences forgotten at the memory bound" in notes
    assert "3 keys' event times forgotten at the memory bound" in notes
    assert Checker().notes() == []


def test_a_sequence_path_can_be_nested_and_a_header_is_matched_in_any_case():
    nested = Event("t", 0, 0, 0, 1, b"k", b'{"meta": {"seq": 41}, "seq": "x"}')
    assert sequence_of(nested, ("meta.seq",)) == 41
    assert sequence_of(nested, ("meta.missing", "meta.seq")) == 41
    assert sequence_of(nested, ("seq",)) is None
    header = Event("t", 0, 0, 0, 1, b"k", b"{}", (("MyRev", b" 12 "),))
    assert sequence_of(header, ("myrev",)) == 12


def test_sequences_are_per_producer_when_events_name_one():
    def by(offset: int, seq: int, producer: str) -> Event:
        body = {"eventId": f"e{offset}", "sequence": seq}
        headers = (("producer-id", producer.encode()),)
        return Event("t", 0, offset, offset, 1, b"k", json.dumps(body).encode(), headers)

    two_writers = [by(0, 1, "a"), by(1, 1, "b"), by(2, 2, "a"), by(3, 2, "b")]
    assert run(SequenceDetector(), two_writers) == []
    mixed = run(SequenceDetector(producers=()), two_writers)  # one sequence per key
    assert [f.kind for f in mixed] == ["sequence_duplicate"] * 2
    assert [f.kind for f in run(SequenceDetector(), [by(0, 2, "a"), by(1, 1, "a")])] == [
        "sequence_regression"
    ]


def at(offset: int, seq: int | None, *, key: str = "k", topic: str = "c", value: bool = True):
    """A version of ``key`` on topic ``topic`` (None seq and no value: a tombstone)."""
    body = json.dumps({"eventId": f"{topic}{offset}", "seq": seq}).encode() if value else None
    return Event(topic, 0, offset, offset, 1, key.encode(), body)


def test_on_a_compacted_topic_a_tombstone_starts_the_key_over():
    from evtui.core.ordering import Compaction

    life = [at(0, 1), at(1, 2), at(2, 3), at(3, None, value=False), at(4, 1), at(5, 2)]
    assert run(SequenceDetector(compaction=Compaction({"c"})), life) == []
    elsewhere = [at(e.offset, sequence_of(e), topic="d", value=e.value is not None) for e in life]
    found = run(SequenceDetector(compaction=Compaction({"c"})), elsewhere)
    assert [f.kind for f in found] == ["sequence_regression"] * 2  # not compacted: a regression
    # the open gap of the life that ended is still reported
    ended = [at(0, 1), at(1, 3), at(2, None, value=False)]
    assert [f.kind for f in run(SequenceDetector(compaction=Compaction({"c"})), ended)] == [
        "sequence_gap"
    ]


def test_a_jump_over_offsets_the_cleaner_removed_is_not_a_gap():
    """A read racing the cleaner: versions 3..5 of k gone from offsets 11..13."""
    from evtui.core.ordering import Compaction

    def detector() -> SequenceDetector:
        return SequenceDetector(compaction=Compaction({"c"}))

    raced = [at(10, 2), at(14, 6), at(15, 7)]
    sequences = detector()
    assert run(sequences, raced) == [] and sequences.compacted_jumps == 1
    too_few = [at(10, 2), at(12, 6), at(13, 7)]  # one offset missing, three numbers
    assert [f.kind for f in run(detector(), too_few)] == ["sequence_gap"]
    no_room = [at(10, 2), at(11, 1, key="x"), at(12, 6)]  # nothing missing between 10 and 12
    assert [(f.kind, f.offset) for f in run(detector(), no_room)] == [("sequence_gap", 12)]
    not_compacted = [at(e.offset, sequence_of(e), topic="d") for e in raced]
    assert [f.kind for f in run(detector(), not_compacted)] == ["sequence_gap"]


def test_no_orphans_once_the_cleaner_removed_records_of_a_compacted_topic():
    from evtui.core.ordering import CausalDetector, Checker, Compaction

    def effect(offset: int, topic: str = "c") -> Event:
        headers = (("event-id", f"e{offset}".encode()), ("causation-id", b"gone"))
        return Event(topic, 0, offset, offset, 1, b"k", b"{}", headers)

    cleaned = CausalDetector(compaction=Compaction({"c"}))
    cleaned.offer(effect(7))  # offsets 0..6 removed
    assert cleaned.flush() == [] and cleaned.compacted_away == 1
    intact = CausalDetector(compaction=Compaction({"c"}), strict=True)
    intact.offer(effect(0))
    assert [f.kind for f in intact.flush()] == ["orphan"]
    plain = CausalDetector(compaction=Compaction({"c"}), strict=True)
    plain.offer(effect(7, topic="d"))
    assert [f.kind for f in plain.flush()] == ["orphan"]
    checker = Checker(compacted=["c"])
    checker.offer(effect(3))
    assert checker.finish() == [] and checker.causes.compacted_away == 1


def test_a_parent_span_produced_after_its_child_is_an_inversion_but_never_an_orphan():
    from evtui.core.ordering import CausalDetector

    trace = "4bf92f3577b34da6a3ce929d0e0e4736"

    def spanned(offset: int, ts: int, span: str, parent: str | None = None) -> Event:
        b3 = f"{trace}-{span}-1" + (f"-{parent}" if parent else "")
        headers = (("b3", b3.encode()), ("event-id", f"e{offset}".encode()))
        return Event("t", 0, offset, ts, 1, b"k", b"{}", headers)

    cause = spanned(0, 1_000, "a" * 16)
    effect = spanned(1, 900, "b" * 16, parent="a" * 16)
    for order in ((cause, effect), (effect, cause)):
        detector = CausalDetector()
        found = [f for e in order for f in detector.offer(e)] + detector.flush()
        assert [(f.kind, f.refs) for f in found] == [("causal_inversion", ("t/0/0", "t/0/1"))]
    # a parent span that is no event (an HTTP request) is not an orphan
    detector = CausalDetector(grace_ms=10)
    found = [f for e in (spanned(0, 0, "c" * 16, "d" * 16), spanned(1, 100, "e" * 16))
             for f in detector.offer(e)]  # fmt: skip
    assert found + detector.flush() == []
    # one pair linked by a causation id and a parent span is one finding
    both = Event("t", 0, 1, 900, 1, b"k", b"{}", (
        ("b3", f"{trace}-{'b' * 16}-1-{'a' * 16}".encode()), ("event-id", b"e1"),
        ("causation-id", b"e0"),
    ))  # fmt: skip
    detector = CausalDetector()
    found = [f for e in (cause, both) for f in detector.offer(e)]
    assert [f.kind for f in found] == ["causal_inversion"]


def test_a_cause_forgotten_at_the_memory_bound_makes_no_orphan():
    from evtui.core.ordering import CausalDetector

    detector = CausalDetector(max_events=2)
    for i in range(3):  # e0 is forgotten when e2 arrives
        detector.offer(causal(i, i, f"e{i}"))
    detector.offer(causal(3, 3, "effect", cause="e0"))
    assert detector.flush() == [] and detector.forgotten == 1
    within = CausalDetector(max_events=10, strict=True)
    within.offer(causal(0, 0, "effect", cause="never"))
    assert [f.kind for f in within.flush()] == ["orphan"]
