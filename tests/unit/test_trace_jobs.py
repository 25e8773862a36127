"""How ``evtui trace --jobs`` shares partitions out (the scan itself: tests/integration)."""

from __future__ import annotations

from evtui.commands.trace_jobs import PARALLEL_MIN, choose_jobs, records, split
from evtui.sources.kafka import PartitionPlan


def plan(partition: int, start: int, stop: int | None, high: int = 0) -> PartitionPlan:
    return PartitionPlan("t", partition, 0, high or (stop or 0), start, stop)


def test_records_counts_to_the_stop_or_the_end():
    assert records(plan(0, 10, 110)) == 100
    assert records(plan(0, 10, 10)) == 0
    time_bounded = PartitionPlan("t", 0, 0, 500, 100, None, stop_time=123)
    assert records(time_bounded) == 400


def test_split_balances_records_and_skips_empty_partitions():
    plans = [plan(0, 0, 600), plan(1, 0, 300), plan(2, 0, 300), plan(3, 5, 5), plan(4, 0, 10)]
    shares = split(plans, 2)
    assert sorted(sum(records(p) for p in share) for share in shares) == [600, 610]
    assert sorted(p.partition for share in shares for p in share) == [0, 1, 2, 4]


def test_split_never_makes_empty_shares():
    assert len(split([plan(0, 0, 10)], 4)) == 1


def test_choose_jobs():
    small = [plan(0, 0, 1000), plan(1, 0, 1000)]
    big = [plan(p, 0, PARALLEL_MIN) for p in range(8)]
    assert choose_jobs(None, small) == 1  # not worth starting processes
    assert 1 <= choose_jobs(None, big) <= 8  # one per core
    assert choose_jobs(3, small) == 2  # never more than the partitions with records
    assert choose_jobs(3, [*small, plan(2, 7, 7)]) == 2
    assert choose_jobs(1, big) == 1
