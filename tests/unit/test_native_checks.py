"""The duplicate and event-time detectors in the extension against the Python ones.

Differential: the same stream goes through a ``Checker`` with the extension's state
(batch by batch, and event by event) and one with the Python detectors alone; the
findings (every field, in order) and the notes must be the same.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtui.core.event import Event
from evtui.core.ordering import Checker, epoch_ms
from evtui.core.problems import RecordProblems
from evtui.sim.model import FaultRates
from evtui.sim.shop import ShopSimulator
from tests.integration import scenarios

needs_native = pytest.mark.skipif(
    os.environ.get("EVTUI_NATIVE") == "0", reason="EVTUI_NATIVE=0: Python alone"
)


def fresh(events):
    return [Event(e.topic, e.partition, e.offset, e.timestamp, 1, e.key, e.value, e.headers)
            for e in events]  # fmt: skip


def run(events, how, batch=64, **options):
    checker = Checker(**options)
    if how == "python":
        checker._native = None
    events = fresh(events)
    if how == "events":
        for e in events:
            checker.offer(e)
    else:
        problems = RecordProblems()
        for i in range(0, len(events), batch):
            checker.offer_batch(events[i : i + batch], problems)
    findings = [f.to_json() for f in checker.finish()]
    return findings, checker.notes(), checker.summary()


def agree(events, **options):
    python = run(events, "python", **options)
    assert run(events, "batches", **options) == python
    assert run(events, "events", **options) == python
    return python


@needs_native
def test_the_checker_uses_the_extension():
    assert Checker()._native is not None


@needs_native
@pytest.mark.parametrize("seed", [1, 2])
def test_the_demo_with_faults_agrees(seed):
    sim = ShopSimulator(seed=seed, rate=300, faults=FaultRates(0.05, 0.05, 0.05, 0.05, 0.05))
    events = [Event(r.topic, i % 3, i, 1_700_000_000_000 + 3 * i, 1, r.key, r.value, r.headers)
              for i, r in enumerate(sim.take(3000))]  # fmt: skip
    _, _, summary = agree(events)
    assert summary.get("duplicate_event")  # the comparison covers what is compared


@needs_native
def test_the_ingest_bench_stream_agrees_with_what_was_planted():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from ingest import expected_findings, make_event

    rng = random.Random(42)
    n = 12_000
    events = [Event("t", i % 4, i // 4, 1_764_151_200_000 + i, 1, *make_event(i, rng)[:2],
                    tuple(make_event(i, random.Random(i))[2])) for i in range(n)]  # fmt: skip
    _, _, summary = agree(events)
    planted = expected_findings(n)
    assert summary["duplicate_event"] == planted["duplicate_event"]
    assert summary["event_time_regression"] == planted["event_time_regression"]


@needs_native
def test_ordinary_records_are_checked_without_asking_python():
    """The bench generator's records (JSON bodies, W3C and causation headers, ISO times):
    the extension reads every one itself; a native path that left them to Python fails."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from ingest import make_event

    rng = random.Random(7)
    events = [Event("t", i % 4, i // 4, 1_764_151_200_000 + i, 1, *make_event(i, rng)[:2],
                    tuple(make_event(i, random.Random(i))[2])) for i in range(6_000)]  # fmt: skip
    checker, problems = Checker(), RecordProblems()
    for i in range(0, len(events), 500):
        checker.offer_batch(events[i : i + 500], problems)
    checker.finish()
    assert checker.summary()  # findings were made
    assert checker._native.counters()["asked"] == 0


@needs_native
@pytest.mark.parametrize("style", scenarios.STYLES)
def test_scenario_streams_agree(style):
    stream = scenarios.Stream(style=style, partitions=3, seed=11)
    keys = [f"order-{i}" for i in range(8)]
    stream.background(200, keys)
    scenarios.late_event(stream, "order-1")
    scenarios.swap(stream, "order-2")
    stream.resend(stream.records[-1])
    scenarios.late_event(stream, "order-3")
    stream.background(100, keys)
    events = [Event("orders", r.partition, i, r.ts, 1, r.key and r.key.encode(), r.value,
                    r.headers) for i, r in enumerate(stream.records)]  # fmt: skip
    _, _, summary = agree(events)
    assert summary.get("event_time_regression") and summary.get("duplicate_event")


@needs_native
def test_the_bounds_forget_alike():
    sim = ShopSimulator(seed=7, rate=300, faults=FaultRates(0.05, 0.05, 0.05, 0.05, 0.05))
    events = [Event(r.topic, i % 2, i, 1_700_000_000_000 + i, 1, r.key, r.value, r.headers)
              for i, r in enumerate(sim.take(2000))]  # fmt: skip
    _, notes, _ = agree(events, max_keys=5, max_events=20)
    assert any("event ids (duplicates)" in n for n in notes)
    assert any("keys' event times" in n for n in notes)


# -- generated streams: every form of event time, ids repeated across partitions ---------------

BASE_S = 1_764_151_200
TIME_TEXT = st.one_of(
    st.builds(lambda s, frac, tz: scenarios.iso(s * 1000)[:19] + frac + tz,
              st.integers(BASE_S - 5, BASE_S + 5),
              st.sampled_from(["", ".1", ".12", ".123", ".1234", ".123456", ".123456789"]),
              st.sampled_from(["", "Z", "+00:00", "+05:30", "-01:00", "+0100", "z"])),
    st.sampled_from(["2026-11-26", "2026-11-26 10:00:00", "2026-11-26t10:00:00", "garbage", "",
                     "2026-02-30T00:00:00Z", "2026-11-26T24:00:00", " 2026-11-26T10:00:00Z ",
                     "2026-W48-4", "20261126T100000"]),
)  # fmt: skip
TIME_VALUE = st.one_of(
    TIME_TEXT,
    st.sampled_from([BASE_S, BASE_S * 1000, BASE_S * 10**6, BASE_S * 10**9, 5, -BASE_S]),
    st.floats(BASE_S - 10.0, BASE_S + 10.0),
    st.sampled_from([True, None, {"a": 1}, [1]]),
)


@st.composite
def stream(draw):
    n = draw(st.integers(1, 60))
    out = []
    for i in range(n):
        headers = []
        if draw(st.booleans()):
            headers.append(("ce_id" if draw(st.booleans()) else "event-id",
                            draw(st.sampled_from(["e1", "e2", "e3", "e4"])).encode()))  # fmt: skip
        if draw(st.booleans()):
            headers.append(("ce_source", draw(st.sampled_from([b"/a", b"/b"]))))
        if draw(st.integers(0, 3)) == 0:
            headers.append((draw(st.sampled_from(["ce_time", "CE-Time", "ce_Time"])),
                            draw(TIME_TEXT).encode()))  # fmt: skip
        body = {}
        for field in draw(st.lists(st.sampled_from(["time", "occurredAt", "eventTime",
                                                    "timestamp"]), max_size=2)):  # fmt: skip
            body[field] = draw(TIME_VALUE)
        value = draw(st.sampled_from(["json", "json", "none", "bad"]))
        data = {"json": json.dumps(body).encode(), "none": None, "bad": b"{bad"}[value]
        key = draw(st.sampled_from([None, b"k1", b"k2", b"\xff"]))
        partition = draw(st.integers(0, 2))
        ts = BASE_S * 1000 + draw(st.integers(-3000, 3000))
        out.append(Event("t", partition, i, ts, 1, key, data, tuple(headers)))
        if draw(st.integers(0, 9)) == 0:  # a record read again (a seek, a reconnect)
            again = out[draw(st.integers(0, len(out) - 1))]
            out.append(again)
    return out


@needs_native
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream(), st.integers(1, 7), st.sampled_from([0, 500, 1000]))
def test_generated_streams_agree(events, batch, lateness):
    python = run(events, "python", lateness_ms=lateness)
    assert run(events, "batches", batch=batch, lateness_ms=lateness) == python
    assert run(events, "events", lateness_ms=lateness) == python


def test_epoch_numbers_are_read_by_magnitude():
    """The specification the extension copies for integers (floats are Python's alone)."""
    assert epoch_ms(BASE_S) == BASE_S * 1000
    assert epoch_ms(BASE_S * 10**9 + 999_999) == BASE_S * 1000
    assert epoch_ms(5) is None


# -- generated streams for every detector: sequences, causes, spans, compaction, offsets -------

SEQ_VALUE = st.one_of(
    st.integers(0, 12), st.integers(-3, 3), st.sampled_from(
        [10**17, 10**19, -(10**18), 2**126 - 1, 2**126, -(2**126), -(2**126) - 1, 10**400]
    ),
    st.sampled_from(["3", 1.0, 2.5, True, None, {"n": 1}, [1]]),
)  # fmt: skip
SEQ_HEADER = st.one_of(
    st.integers(0, 12).map(lambda n: str(n).encode()),
    st.sampled_from([b" 7 ", b"+3", b"-2", b"1_0", b"", b"abc", b"1.0.3", b"\xff", b"\x1c5\x1f",
                     b"0" * 20, b"--1", b"+", b"4 2", b"9" * 45,
                     str(2**126 - 1).encode(), str(2**126).encode()]),
)  # fmt: skip
IDS = [f"id-{n}" for n in range(8)]
TRACE, SPANS = "4bf92f3577b34da6a3ce929d0e0e4736", [f"{n:016x}" for n in range(1, 6)]


@st.composite
def full_stream(draw):
    n = draw(st.integers(1, 70))
    topics = draw(st.sampled_from([["t"], ["t", "u"], ["a/b", "t"]]))
    offsets = {}
    out = []
    for _ in range(n):
        topic = draw(st.sampled_from(topics))
        partition = draw(st.integers(0, 1))
        step = draw(st.sampled_from([1, 1, 1, 1, 3]))  # now and then offsets skipped
        offset = offsets[(topic, partition)] = offsets.get((topic, partition), -1) + step
        headers, body = [], {}
        if draw(st.booleans()):
            headers.append(("event-id", draw(st.sampled_from(IDS)).encode()))
        for _ in range(draw(st.integers(0, 2))):
            headers.append(("causation-id", draw(st.sampled_from([*IDS, "gone"])).encode()))
        if draw(st.integers(0, 3)) == 0:
            span, parent = draw(st.sampled_from(SPANS)), draw(st.sampled_from(SPANS))
            headers.append(("b3", f"{TRACE}-{span}-1-{parent}".encode()))
        if draw(st.integers(0, 2)) == 0:
            headers.append((draw(st.sampled_from(["seq", "Version", "SEQUENCE", "séq"])),
                            draw(SEQ_HEADER)))  # fmt: skip
        if draw(st.integers(0, 3)) == 0:
            headers.append(("producer-id", draw(st.sampled_from([b"p1", b"p2", b"\xff"]))))
        for name in draw(st.lists(st.sampled_from(["seq", "sequence", "version"]), max_size=2)):
            body[name] = draw(SEQ_VALUE)
        if draw(st.integers(0, 4)) == 0:
            body["producerId"] = draw(st.sampled_from(["p1", 7, True, 1.5, None, ["x"]]))
        if draw(st.integers(0, 5)) == 0:
            body["type"] = draw(st.sampled_from(["A", "B"]))
        kind = draw(st.sampled_from(["json", "json", "json", "none", "bad", "dup"]))
        data = {"json": json.dumps(body).encode(), "none": None, "bad": b"{bad",
                "dup": b'{"seq": 1, "seq": 2}'}[kind]  # fmt: skip
        key = draw(st.sampled_from([None, b"k1", b"k1", b"k2", b"\xff"]))
        ts = BASE_S * 1000 + draw(st.integers(-90_000, 90_000))
        out.append(Event(topic, partition, offset, ts, 1, key, data, tuple(headers)))
        if draw(st.integers(0, 9)) == 0:  # a record read again (a seek, a reconnect)
            out.append(out[draw(st.integers(0, len(out) - 1))])
    return out


OPTIONS = st.fixed_dictionaries(
    {
        "max_keys": st.sampled_from([2, 100_000]),
        "max_events": st.sampled_from([3, 1_000_000]),
        "tolerance_ms": st.sampled_from([0, 5_000]),
        "mid_stream": st.booleans(),
        "strict_orphans": st.booleans(),
        "keyless_sequences": st.booleans(),
        "compacted": st.sampled_from([(), ("t",)]),
        "sequence_names": st.sampled_from(
            [("seq", "sequence", "version"), ("seq", "version"), ("version",)]
        ),
        "learn_sequences": st.sampled_from([None, True, False]),
        "producer_names": st.sampled_from([("producer-id", "producer_id", "producerId"), ()]),
    }
)


def run_all(events, how, batch, expect, options):
    checker = Checker(**options)
    if how == "python":
        checker._native = None
    checker.expect(expect)
    events = fresh(events)
    problems = RecordProblems()
    for i in range(0, len(events), batch):
        if how == "events":
            for e in events[i : i + batch]:
                checker.offer(e)
        else:
            checker.offer_batch(events[i : i + batch], problems)
        if i == 0:
            checker.rest([("t", 0)])  # a partition read to its end for now
    findings = [f.to_json() for f in checker.finish()]
    seq, causes = checker.sequences, checker.causes
    counts = (seq.compacted_jumps, seq.held_over, causes.outside, causes.unjudged,
              causes.forgotten, causes.compacted_away, causes.dropped, causes.not_read)  # fmt: skip
    return findings, checker.notes(), seq.fields(), counts, problems.count


@needs_native
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(full_stream(), st.integers(1, 9), OPTIONS, st.sampled_from([[], [("t", 0), ("t", 1)]]))
def test_every_detector_agrees_on_generated_streams(events, batch, options, expect):
    python = run_all(events, "python", batch, expect, options)
    same(run_all(events, "batches", batch, expect, options), python, events)
    same(run_all(events, "events", batch, expect, options), python, events)


def same(native, python, events):
    """Equal results; else the first difference and the stream, spelled out."""
    if native == python:
        return
    found_n, found_p = native[0], python[0]
    first = next((i for i, (a, b) in enumerate(zip(found_n, found_p, strict=False)) if a != b),
                 min(len(found_n), len(found_p)))  # fmt: skip
    stream = "\n".join(f"{e.topic}/{e.partition}/{e.offset} ts={e.timestamp} key={e.key!r} "
                       f"value={e.value!r} headers={e.headers!r}" for e in events)  # fmt: skip
    raise AssertionError(
        f"finding {first}: native {found_n[first : first + 1]} python {found_p[first : first + 1]}"
        f"\nrest native {native[1:]}\nrest python {python[1:]}\n{stream}"
    )


@needs_native
def test_field_names_only_python_reads_keep_the_python_detectors():
    assert Checker(sequence_names=("meta.seq",))._native is None
    assert Checker(producer_names=("prodücer",))._native is None


@needs_native
def test_the_carried_sequence_fields_and_causes_agree():
    sim = ShopSimulator(seed=3, rate=300, faults=FaultRates(0.05, 0.05, 0.05, 0.05, 0.05))
    records = [Event(r.topic, i % 2, i, 1_700_000_000_000 + 50 * i, 1, r.key, r.value,
                     r.headers) for i, r in enumerate(sim.take(1500))]  # fmt: skip
    results = []
    for how in ("python", "native"):
        old, new = Checker(), Checker()
        if how == "python":
            old._native = new._native = None
        old.expect([("orders", 0), ("orders", 1)])
        for e in fresh(records[:700]):
            old.offer(e)
        new.carry(old)
        for e in fresh(records[700:]):
            new.offer(e)
        found = [f.to_json() for f in new.finish()]
        results.append((found, new.sequences.fields(), new.causes.outside, new.notes()))
    assert results[0] == results[1]
    assert results[0][0]  # something was found


@needs_native
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_checks_made_in_one_thread_are_used_and_freed_in_another():
    """The console makes its checkers on the UI thread and the garbage collector may free
    them on any thread (a reader's): that must neither fail nor leak (an unraisable error)."""
    import gc
    import threading

    raised: list[object] = []
    made: list[Checker] = []
    hook, sys.unraisablehook = sys.unraisablehook, raised.append
    try:
        worker = threading.Thread(target=lambda: made.append(Checker()))
        worker.start()
        worker.join()
        del worker
        sim = ShopSimulator(seed=3, rate=300)
        events = [Event(r.topic, 0, i, 1_700_000_000_000 + i, 1, r.key, r.value, r.headers)
                  for i, r in enumerate(sim.take(50))]  # fmt: skip
        made[0].offer_batch(events, RecordProblems())
        assert made[0].scanned == 50
        made.clear()
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert raised == []
