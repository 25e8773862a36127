"""The hand-over of batches from a source thread to its reader."""

from __future__ import annotations

import queue
import threading

from evtui.core.event import Event
from evtui.sources.base import BatchQueue

NEVER = 3_600.0  # a reader that waited this long would fail the suite's timeout instead


def batch(n: int) -> list[Event]:
    return [Event("t", 0, n, 0, 1, None, b"x")]


def test_a_stream_closed_while_the_queue_is_full_ends_after_the_last_batch_without_waiting():
    q, stop = BatchQueue(2), threading.Event()
    assert q.put(batch(0), stop) and q.put(batch(1), stop)
    q.close()  # the end cannot be queued: the queue is full
    assert [b[0].offset for b in (q.get(NEVER), q.get(NEVER))] == [0, 1]
    assert q.get(NEVER) is None  # at once: not after the timeout
    assert q.get(NEVER) is None


def test_a_stream_closed_with_room_hands_over_its_end():
    q, stop = BatchQueue(4), threading.Event()
    assert q.put(batch(0), stop)
    q.close()
    assert q.get(NEVER)[0].offset == 0
    assert q.get(NEVER) is None


def test_an_open_empty_stream_gives_an_empty_batch_after_the_timeout():
    q = BatchQueue(2)
    assert q.get(0.01) == []


def test_the_last_batch_is_not_lost_when_the_source_closes_as_the_readers_wait_times_out():
    """The reader's wait ends empty; before it looks at the stream's state, the source
    hands over its last batch and closes. That batch must still be read (it was lost:
    a check under load scanned one record short and called its effect an orphan)."""
    q, stop = BatchQueue(4), threading.Event()
    waits = q._queue.get

    def wait_that_times_out_as_the_source_finishes(block=True, timeout=None):
        if block:
            assert q.put(batch(7), stop)
            q.close()
            raise queue.Empty
        return waits(block, timeout)

    q._queue.get = wait_that_times_out_as_the_source_finishes
    got = q.get(0.01)
    assert [e.offset for e in got] == [7]
    assert q.get(NEVER) is None
