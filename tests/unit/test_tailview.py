from evtui.core.event import Event
from evtui.core.store import EventStore
from evtui.core.tailview import TailView, all_of, substring_predicate


def ev(offset: int, value: bytes = b"x", topic: str = "t", key: bytes | None = None) -> Event:
    return Event(topic, 0, offset, 1000 + offset, 1, key, value, ())


def test_unfiltered_rows_are_the_kept_events():
    store = EventStore(5)
    view = TailView(store)
    store.append(ev(i) for i in range(8))
    assert view.rows == 5
    assert [view.event_at(r).offset for r in range(5)] == [3, 4, 5, 6, 7]
    assert view.row_of(store.first + 2) == 2
    assert view.total == 8


def test_filter_checks_incrementally_and_tracks_eviction():
    store = EventStore(10)
    view = TailView(store, lambda e: e.offset % 2 == 0)
    store.append(ev(i) for i in range(10))
    assert view.rows == 0 and view.pending == 10
    view.advance()
    assert [view.event_at(r).offset for r in range(view.rows)] == [0, 2, 4, 6, 8]
    store.append(ev(i) for i in range(10, 14))  # evicts 0..3
    view.advance()
    assert [view.event_at(r).offset for r in range(view.rows)] == [4, 6, 8, 10, 12]
    assert view.skipped == 0
    assert view.total == 7


def test_events_evicted_before_checking_are_counted_as_skipped():
    store = EventStore(10)
    view = TailView(store, lambda e: True)
    store.append(ev(i) for i in range(25))
    view.advance()
    assert view.skipped == 15
    assert view.rows == 10


def test_budget_limits_work_per_advance():
    store = EventStore(100_000)
    calls = []

    def slow(e: Event) -> bool:
        calls.append(1)
        return True

    view = TailView(store, slow)
    store.append(ev(i) for i in range(100_000))
    view.advance(budget_s=0.0)
    assert 0 < len(calls) < 100_000
    assert view.pending == 100_000 - len(calls)
    while view.pending:
        view.advance(budget_s=1.0)
    assert view.rows == 100_000


def test_row_of_finds_nearest_following_match():
    store = EventStore(100)
    view = TailView(store, lambda e: e.offset % 10 == 0)
    store.append(ev(i) for i in range(50))
    view.advance()
    assert view.row_of(store.first + 11) == 2  # offset 20
    assert view.row_of(store.first + 99) == view.rows - 1


def test_substring_smart_case_over_key_value_headers():
    lower = substring_predicate("order")
    exact = substring_predicate("Order")
    e1 = Event("t", 0, 0, 0, 1, b"k", b'{"type":"OrderPlaced"}', ())
    e2 = Event("t", 0, 1, 0, 1, b"ORDER-1", None, ())
    e3 = Event("t", 0, 2, 0, 1, None, b"\x00\x01", (("h", b"my order"),))
    e4 = Event("t", 0, 3, 0, 1, None, b"nothing", (("h", None),))
    assert [lower(e) for e in (e1, e2, e3, e4)] == [True, True, True, False]
    assert [exact(e) for e in (e1, e2, e3, e4)] == [True, False, False, False]


def test_all_of_combines():
    assert all_of([]) is None
    p = all_of([lambda e: e.offset > 1, lambda e: e.offset < 3])
    assert p is not None
    assert [p(ev(i)) for i in range(4)] == [False, False, True, False]


def test_clearing_the_filter_shows_everything_again():
    store = EventStore(10)
    view = TailView(store, lambda e: False)
    store.append(ev(i) for i in range(5))
    view.advance()
    assert view.rows == 0
    view.set_predicate(None)
    assert view.rows == 5


def test_a_filter_behind_live_input_checks_the_newest_and_counts_the_rest():
    store = EventStore(10_000)
    view = TailView(store, lambda e: True)
    store.append(ev(i) for i in range(10_000))
    view.advance(budget_s=1.0)  # a full window that is not moving: all checked
    assert view.rows == 10_000 and view.skipped == 0
    checked: list[int] = []
    view.set_predicate(lambda e: checked.append(e.offset) or True)
    store.append(ev(i) for i in range(10_000, 13_000))  # live: the window evicts
    view.advance(budget_s=1.0)
    assert view.skipped == 12_000  # 3,000 evicted unchecked + 9,000 jumped over
    assert checked[0] == 12_000 and view.pending == 0
    assert view.event_at(view.rows - 1).offset == 12_999


def test_a_still_window_is_checked_in_full_even_when_slow():
    store = EventStore(5_000)
    store.append(ev(i) for i in range(8_000))  # evicted before the filter existed
    view = TailView(store, lambda e: True)
    while view.pending:
        view.advance(budget_s=0.0)
    assert view.skipped == 0 and view.rows == 5_000
