"""Findings on data evtui did not write (issue 14): no false finding from the read order,
keyless records, schema versions, numeric times, or causes on topics not read."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from evtui.core.event import Event
from evtui.core.ordering import Checker, Watermark, epoch_ms, event_time_ms

T0 = 1_733_300_000_000


def rec(topic: str, partition: int, offset: int, ts: int, key: str | None = "k",
        headers: dict | None = None, body: dict | None = None) -> Event:  # fmt: skip
    value = json.dumps(body if body is not None else {}).encode()
    hdrs = tuple((k, v.encode()) for k, v in (headers or {}).items())
    raw_key = None if key is None else key.encode()
    return Event(topic, partition, offset, ts, 1, raw_key, value, hdrs)


def check(partitions: list[list[Event]], **options) -> list[tuple[str, str, int, int]]:
    """Read partitions one after another, as a scan does, telling the checker what it reads."""
    checker = Checker(**options)
    checker.expect({(p[0].topic, p[0].partition) for p in partitions if p})
    for events in partitions:
        for event in events:
            checker.offer(event)
        if events:
            checker.rest([(events[0].topic, events[0].partition)])
    found = checker.finish()
    return [(f.kind, f.topic, f.partition, f.offset) for f in found if f.severity == "warning"]


# -- 1. orphans are judged on a watermark over every partition --------------------------------


def the_issue_reproduction() -> tuple[list[Event], list[Event]]:
    cause = rec("B", 0, 0, T0, "o1", {"event-id": "cause-1"})
    effect = rec("A", 0, 0, T0 + 500, "o1", {"event-id": "effect-1", "causation-id": "cause-1"})
    later = rec("A", 0, 1, T0 + 61_000, "o2", {"event-id": "later-1"})
    return [cause], [effect, later]


def test_an_effect_whose_cause_is_in_a_partition_not_read_yet_is_no_orphan():
    b, a = the_issue_reproduction()
    assert check([a, b]) == [] and check([b, a]) == []
    # one topic, the cause in another partition
    moved = [rec("A", 1, 0, T0, "o1", {"event-id": "cause-1"})]
    assert check([a, moved]) == [] and check([moved, a]) == []


def test_without_the_partitions_named_a_later_partition_still_ages_effects():
    """The control: a checker not told what the read covers judges too early (the old bug)."""
    b, a = the_issue_reproduction()
    checker = Checker(strict_orphans=True)
    found = [f.kind for e in a + b for f in (checker.offer(e), checker.findings)[1]]
    assert "orphan" in found


def test_a_real_orphan_is_still_found_once_every_partition_passed_its_grace():
    b, a = the_issue_reproduction()
    lost = rec("A", 0, 2, T0 + 62_000, "o3", {"event-id": "e-3", "causation-id": "nowhere"})
    found = check([[*a, lost], b], strict_orphans=True)
    assert found == [("orphan", "A", 0, 2)]


def test_the_watermark_is_the_slowest_partition_still_being_read():
    mark = Watermark()
    mark.expect([("t", 0), ("t", 1)])
    mark.see(("t", 0), 100)
    assert mark.value() is None  # t[1] not read yet
    mark.see(("t", 1), 50)
    assert mark.value() == 50
    mark.see(("t", 1), 500)
    assert mark.value() == 100
    mark.rest([("t", 0)])  # read to its end: holds nothing back
    assert mark.value() == 500
    mark.rest([("t", 1)])
    assert mark.value() == 500  # nobody holds it: the latest read anywhere
    mark.see(("t", 0), 200)  # delivers again: holds it again
    assert mark.value() == 200


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=2, max_size=40),
    st.permutations(range(4)),
    st.integers(0, 120_000),
)
def test_complete_causal_chains_over_partitions_make_no_orphan_in_any_read_order(
    partitions, order, spread
):
    """Chains whose events land on random partitions with times up to 2 minutes apart."""
    by_partition: dict[int, list[Event]] = {p: [] for p in range(4)}
    previous = None
    for i, p in enumerate(partitions):
        headers = {"event-id": f"e{i}"}
        if previous:
            headers["causation-id"] = previous
        at = T0 + i * spread // len(partitions)
        by_partition[p].append(rec("t", p, len(by_partition[p]), at, f"k{i}", headers))
        previous = f"e{i}"
    read = [by_partition[p] for p in order]
    assert [f for f in check(read, strict_orphans=True) if f[0] == "orphan"] == []


# -- 1. a duplicate across partitions: the later copy is the duplicate ------------------------


def test_a_duplicate_across_partitions_names_the_later_copy_in_either_read_order():
    first = rec("t", 1, 0, T0, "k", {"event-id": "x"})
    again = rec("t", 0, 5, T0 + 3_000, "k", {"event-id": "x"})
    for read in ([[again], [first]], [[first], [again]]):
        checker = Checker(kinds=("duplicate_event",))
        for events in read:
            for e in events:
                checker.offer(e)
        (dup,) = checker.finish()
        assert (dup.partition, dup.offset, dup.refs) == (0, 5, ("t/1/0", "t/0/5"))


# -- 2. causes on topics not read -------------------------------------------------------------


def test_a_missing_cause_of_a_kind_never_caused_in_the_topics_read_is_not_judged():
    effects = [
        rec("payments", 0, i, T0 + i * 40_000, f"k{i}",
            {"event-id": f"p{i}", "causation-id": f"order-{i}", "ce_type": "payment.made"})
        for i in range(5)
    ]  # fmt: skip
    checker = Checker()
    for e in effects:
        checker.offer(e)
    assert checker.finish() == [] and checker.causes.outside == 5
    strict = Checker(strict_orphans=True)
    for e in effects:
        strict.offer(e)
    assert [f.kind for f in strict.finish()] == ["orphan"] * 5


def test_a_missing_cause_of_a_kind_whose_causes_are_read_is_an_orphan():
    events = []
    for i in range(4):
        cause = rec("t", 0, 2 * i, T0 + i * 1000, f"k{i}", {"event-id": f"c{i}"})
        named = f"c{i}" if i != 2 else "lost"
        effect = rec("t", 0, 2 * i + 1, T0 + i * 1000 + 5, f"k{i}",
                     {"event-id": f"e{i}", "causation-id": named})  # fmt: skip
        events += [cause, effect]
    assert check([events]) == [("orphan", "t", 0, 5)]


# -- 3. keyless records -----------------------------------------------------------------------


def test_keyless_records_round_robin_are_no_sequence():
    records = [rec("t", i % 3, i // 3, T0 + i, None, body={"seq": i + 1}) for i in range(90)]
    by_partition = [[r for r in records if r.partition == p] for p in range(3)]
    interleaved = [[r] for r in records]  # read in produce order
    assert check(by_partition) == [] and check(interleaved) == []
    # asked for: per partition, where each partition's numbers only go up (gaps are real)
    found = check(by_partition, keyless_sequences=True, kinds=("sequence_regression",))
    assert found == []


# -- 4. fields that are no sequence -----------------------------------------------------------


def test_a_constant_schema_version_is_no_sequence_and_the_report_says_so():
    records = [rec("t", 0, i, T0 + i, f"k{i % 4}", body={"version": 1, "id": i}) for i in range(40)]
    checker = Checker()
    for r in records:
        checker.offer(r)
    assert checker.finish() == []
    assert checker.sequences.fields() == {"t": None}


def test_a_version_that_counts_a_keys_events_is_a_sequence_and_its_faults_are_found():
    records = [
        rec("t", 0, i, T0 + i, f"k{i % 4}", body={"version": i // 4 + 1, "schema": 1})
        for i in range(40)
    ]
    records.append(rec("t", 0, 40, T0 + 40, "k2", body={"version": 3, "schema": 1}))  # stale
    found = check([records])
    assert found == [("sequence_regression", "t", 0, 40)]


def test_a_field_named_by_the_user_is_used_as_given():
    records = [rec("t", 0, i, T0 + i, "k", body={"version": 1}) for i in range(3)]
    found = check([records], sequence_names=("version",))
    assert [f[0] for f in found] == ["sequence_duplicate", "sequence_duplicate"]


def test_the_first_default_that_rises_is_the_topics_field():
    records = [rec("t", 0, i, T0 + i, "k", body={"version": 1, "seq": i + 1}) for i in range(20)]
    records += [rec("u", 0, i, T0 + i, "k", body={"version": i + 1}) for i in range(20)]
    checker = Checker()
    for r in records:
        checker.offer(r)
    assert checker.finish() == []
    assert checker.sequences.fields() == {"t": "seq", "u": "version"}


# -- 5. numeric event times -------------------------------------------------------------------


def test_numeric_epoch_times_by_magnitude():
    at = T0 + 123
    for value in (at // 1000, at, at * 1000, at * 1_000_000):
        expected = at - at % 1000 if value == at // 1000 else at
        assert epoch_ms(value) == expected
    for not_a_time in (5, 153, 1.5, True, None, "1733300000000", 10**30):
        assert epoch_ms(not_a_time) is None
    event = rec("t", 0, 0, T0, body={"timestamp": at})
    assert event_time_ms(event) == (at, "timestamp")
    duration = rec("t", 0, 0, T0, body={"time": 250})
    assert event_time_ms(duration) == (T0, "record timestamp")


def test_numeric_event_time_going_back_is_found():
    late = [rec("t", 0, i, T0 + i, "k", body={"timestamp": T0 + t}) for i, t in
            enumerate((0, 10_000, 2_000))]  # fmt: skip
    assert check([late], kinds=("event_time_regression",)) == [("event_time_regression", "t", 0, 2)]


def test_findings_beyond_the_hold_while_a_field_is_judged_are_said(monkeypatch):
    import evtui.core.ordering as ordering

    monkeypatch.setattr(ordering, "MAX_HELD", 1)
    records = [rec("t", 0, i, T0 + i, "k", body={"seq": 5}) for i in range(3)]  # 2 duplicates
    checker = Checker(kinds=("sequence_duplicate",))
    for r in records:
        checker.offer(r)
    assert checker.sequences.held_over == 1
    assert "1 sequence findings held while a field was judged forgotten at the memory bound" in (
        checker.notes()
    )
