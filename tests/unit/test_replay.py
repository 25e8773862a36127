"""Replay logic without a broker: options, provenance, rate, acknowledgements, checkpoints."""

from __future__ import annotations

import json
import random

import pytest

from evtui.core.replay import (
    PROVENANCE,
    AckTracker,
    Checkpoint,
    RateLimiter,
    load_checkpoint,
    parse_partitions,
    parse_rate,
    provenance,
    read_provenance,
    save_checkpoint,
)
from evtui.errors import UsageError


def test_options_parse_or_say_what_is_wrong():
    assert parse_rate(None) is None and parse_rate("500/s") == 500 and parse_rate("2.5") == 2.5
    for bad in ("0", "-3", "fast", "nan", "inf/s"):
        with pytest.raises(UsageError, match="--rate"):
            parse_rate(bad)
    assert parse_partitions("0,2-4") == {0, 2, 3, 4} and parse_partitions(None) is None
    for bad in ("a", "3-1", "-1", ""):
        with pytest.raises(UsageError, match="--partitions"):
            parse_partitions(bad)


def test_provenance_headers_round_trip_and_the_newest_wins():
    headers = [("x", b"1"), *provenance("r1", "orders", 2, 41)]
    assert [h for h, _ in headers[1:]] == list(PROVENANCE)
    assert read_provenance(headers) == ("r1", "orders", 2, 41)
    assert read_provenance([*headers, *provenance("r2", "orders", 0, 7)])[0] == "r2"
    assert read_provenance([("x", b"1")]) is None
    assert read_provenance([*headers[:-1], ("evtui-source-offset", b"x")]) is None


def test_the_rate_limiter_keeps_the_average_with_small_bursts():
    now = [0.0]
    limiter = RateLimiter(100.0, clock=lambda: now[0])
    waited = 0.0
    for _ in range(1_000):
        delay = limiter.delay()
        now[0] += delay
        waited += delay
    assert 9.8 <= now[0] <= 10.0  # 1,000 records at 100/s: 10 s, less the first burst
    assert RateLimiter(None).delay(10_000) == 0.0


def test_the_checkpoint_moves_over_a_contiguous_prefix_only():
    tracker = AckTracker({0: 10}, {0: 0, 1: 0})
    tracker.read(0, 10, written=True)
    tracker.read(0, 11, written=False)  # filtered out
    tracker.read(0, 12, written=True)
    tracker.ack(0, 12, 1, 0)
    assert tracker.next_offset(0) == 10  # 10 is still in flight
    tracker.ack(0, 10, 0, 0)
    assert tracker.next_offset(0) == 13 and tracker.in_flight == 0
    tracker.read(0, 13, written=True)
    tracker.fail(0, 13)
    tracker.read(0, 14, written=False)
    assert tracker.next_offset(0) == 13  # never past a failed record


def test_records_beyond_the_checkpoint_always_lie_at_or_after_verify_from():
    """Randomized: sends to 3 target partitions; the broker appends and acknowledges each
    partition's records in order (an idempotent producer); a crash at any point."""
    for seed in range(300):
        rng = random.Random(seed)
        ends = {0: 5, 1: 0, 2: 9}
        tracker = AckTracker({0: 0, 1: 100}, ends)
        log = dict(ends)  # next offset per target partition
        sent: dict[int, list[tuple[int, int]]] = {0: [], 1: [], 2: []}
        unacked: dict[int, list[tuple[int, int, int]]] = {0: [], 1: [], 2: []}
        landed: list[tuple[int, int, int, int]] = []  # source p, offset, target p, offset
        offsets = {0: 0, 1: 100}
        for _ in range(rng.randrange(1, 120)):
            step, target = rng.random(), rng.randrange(3)
            if step < 0.5:
                source = rng.choice((0, 1))
                offset = offsets[source]
                offsets[source] += 1
                written = rng.random() < 0.8
                tracker.read(source, offset, written)
                if written:
                    sent[target].append((source, offset))
            elif step < 0.75 and sent[target]:  # appended to the log
                source, offset = sent[target].pop(0)
                landed.append((source, offset, target, log[target]))
                unacked[target].append((source, offset, log[target]))
                log[target] += 1
            elif unacked[target]:  # acknowledged, in order
                source, offset, at = unacked[target].pop(0)
                tracker.ack(source, offset, target, at)
        verify = tracker.verify_from()
        for source, offset, target, at in landed:
            if offset >= tracker.next_offset(source):
                assert at >= verify[target], (seed, source, offset, target, at, verify)


def test_checkpoints_round_trip_and_refuse_what_is_not_theirs(tmp_path, monkeypatch):
    monkeypatch.setenv("EVTUI_STATE_DIR", str(tmp_path))
    checkpoint = Checkpoint("r1", {"source_topic": "a"}, {"0": 10}, {"0": 4}, {"0": 3}, 4)
    path = save_checkpoint(checkpoint)
    assert load_checkpoint("r1") == checkpoint and checkpoint.remaining() == 6
    with pytest.raises(UsageError, match="no replay 'r2'"):
        load_checkpoint("r2")
    data = json.loads(path.read_text())
    (tmp_path / "replays" / "r3.json").write_text(json.dumps(data))
    with pytest.raises(UsageError, match="belongs to replay 'r1'"):
        load_checkpoint("r3")
    (tmp_path / "replays" / "r4.json").write_text("{broken")
    with pytest.raises(UsageError, match="cannot read"):
        load_checkpoint("r4")
    with pytest.raises(UsageError, match="invalid replay id"):
        load_checkpoint("../x")


def test_waiting_for_the_rate_really_waits_even_when_reports_wake_the_poll():
    import time

    from evtui.commands.replay import Copier

    class Reporting:  # poll returns at once, as when a delivery report arrives
        polls = 0

        def poll(self, timeout: float) -> int:
            self.polls += 1
            time.sleep(min(timeout, 0.01))
            return 1

    copier = Copier.__new__(Copier)
    copier.producer = Reporting()
    started = time.monotonic()
    copier._wait(0.1)
    assert time.monotonic() - started >= 0.1 and copier.producer.polls > 1
