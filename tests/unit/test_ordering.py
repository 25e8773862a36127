"""Ordering detectors (issue 7, in progress): per-key sequences."""

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


def test_a_regression_without_a_gap_and_a_duplicate_sequence():
    found = run(SequenceDetector(), [ev(0, 5), ev(1, 6), ev(2, 3)])
    assert [(f.kind, f.expected, f.seen) for f in found] == [
        ("sequence_regression", "sequence above 6", "sequence 3")
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
