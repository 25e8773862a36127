import pytest

from evtui.core.event import Event, TimestampType


def make(**kw):
    base = dict(
        topic="orders",
        partition=1,
        offset=7,
        timestamp=1000,
        timestamp_type=1,
        key=b"k",
        value=b"v",
        headers=(("A", b"1"), ("b", None), ("a", b"2")),
    )
    base.update(kw)
    return Event(**base)


def test_event_is_immutable():
    e = make()
    with pytest.raises(AttributeError):
        e.offset = 8
    with pytest.raises(AttributeError):
        del e.topic


def test_header_lookup_is_case_insensitive_and_last_wins():
    e = make()
    assert e.header("a") == b"2"
    assert e.header("B") is None
    assert e.header("missing") is None


def test_ref_size_and_equality():
    e = make()
    assert e.ref == "orders[1]@7"
    assert e.size == 1 + 1 + (1 + 1) + (1 + 0) + (1 + 1)  # key, value, A=1, b=None, a=2
    assert e == make()
    assert e != make(value=b"w")
    assert e.ts_type is TimestampType.CREATE_TIME
    assert TimestampType.LOG_APPEND_TIME.label == "LogAppendTime"


def test_ids_are_extracted_once_and_cached():
    e = make(headers=(("correlation-id", b"c-1"), ("event-type", b"T"), ("event-id", b"e-1")))
    assert e._ids is None
    first = e.ids
    assert (first.correlation_id, first.event_type, first.event_id) == ("c-1", "T", "e-1")
    assert e.ids is first
    assert e._decoded is None  # the headers said it all: the value was never decoded
    with pytest.raises(AttributeError):
        e._ids = None


def test_ids_from_the_body_do_not_keep_the_decoded_value():
    e = make(value=b'{"eventId": "e-2", "type": "T", "correlationId": "c-2"}', headers=())
    assert e.ids.correlation_id == "c-2"
    assert e._decoded is None  # scans extract ids from every event: no JSON tree kept per event
    decoded = e.decoded
    assert make(value=e.value, headers=()).ids == e.ids  # a decoded value is used when there
    assert e.decoded is decoded
    assert e == make(value=e.value, headers=())  # the cached ids take no part in equality


def test_peek_decoded_does_not_keep_the_result_but_uses_a_cached_one():
    from evtui.core.event import Event

    event = Event("t", 0, 0, 0, 1, None, b'{"a": 1}', ())
    assert event.peek_decoded().value == {"a": 1}
    assert event._decoded is None
    first = event.decoded
    assert event.peek_decoded() is first
