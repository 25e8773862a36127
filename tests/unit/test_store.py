import pytest
from hypothesis import given
from hypothesis import strategies as st

from evtui.core.event import Event
from evtui.core.store import EventStore


def ev(offset, partition=0, topic="t"):
    return Event(topic, partition, offset, 0, 1, None, b"x")


def test_keeps_in_order_and_indexes_by_sequence():
    store = EventStore(capacity=10)
    assert store.append([ev(i) for i in range(5)]) == 5
    assert len(store) == 5 and (store.first, store.next) == (0, 5)
    assert [e.offset for e in store.range(0, 5)] == [0, 1, 2, 3, 4]
    assert store[3].offset == 3


def test_evicts_oldest_and_counts_it():
    store = EventStore(capacity=4)
    store.append([ev(i) for i in range(10)])
    assert (store.first, store.next, len(store)) == (6, 10, 4)
    assert [e.offset for e in store.range(0, 100)] == [6, 7, 8, 9]
    assert store.stats.evicted == 6 and store.stats.total == 10 and store.stats.kept == 4
    with pytest.raises(IndexError):
        store[5]


def test_redelivered_records_are_not_kept_twice():
    store = EventStore(capacity=100)
    store.append([ev(i) for i in range(5)] + [ev(i, partition=1) for i in range(3)])
    added = store.append([ev(3), ev(4), ev(5), ev(2, partition=1), ev(3, partition=1)])
    assert added == 2 and store.stats.duplicates_dropped == 3
    assert [(e.partition, e.offset) for e in store.range(8, 10)] == [(0, 5), (1, 3)]
    store.forget_partition_positions()
    assert store.append([ev(0)]) == 1  # after a seek backwards old offsets are new again


def test_clear_and_capacity():
    store = EventStore(capacity=3)
    store.append([ev(i) for i in range(3)])
    store.clear()
    assert len(store) == 0 and store.append([ev(0)]) == 1
    with pytest.raises(ValueError):
        EventStore(capacity=0)


@given(
    st.integers(1, 7),
    st.lists(st.integers(0, 9), max_size=12),
    st.integers(-3, 40),
    st.integers(-3, 40),
)
def test_a_slice_is_the_kept_events_in_order(capacity, batches, start, stop):
    store = EventStore(capacity)
    offset = 0
    for n in batches:
        store.append([Event("t", 0, offset + i, 0, 1, None, None, ()) for i in range(n)])
        offset += n
    kept = range(max(start, store.first), min(stop, store.next))
    assert store.slice(start, stop) == [store[i] for i in kept]
