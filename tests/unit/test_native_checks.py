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
