import pytest

from evtui.core.event import Event
from evtui.core.filters import Filter, FilterError


def ev(value=b'{"type": "OrderPlaced", "amount": 120}', key=b"order-1", headers=()):
    return Event("orders", 2, 10, 1_700_000_000_000, 1, key, value, headers)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('value.type == "OrderPlaced" && value.amount > 100', True),
        ("value.amount > 200", False),
        ('key.startsWith("order-")', True),
        ('topic == "orders" && partition == 2 && offset >= 10', True),
        ('time > timestamp("2023-01-01T00:00:00Z")', True),
        ("timestamp == 1700000000000", True),
        ('format == "json"', True),
        ('timestamp_type == "CreateTime"', True),
    ],
)
def test_matches(expr, expected):
    assert Filter(expr).matches(ev()) is expected


def test_headers_and_binary_key():
    e = ev(key=b"\xff\x00", headers=(("traceparent", b"00-abc"), ("bin", b"\xff")))
    assert Filter('"traceparent" in headers && headers["bin"] == b"\\xff"').matches(e)
    assert Filter('key == b"\\xff\\x00"').matches(e)


def test_runtime_error_is_no_match_and_counted():
    f = Filter("value.missing == 1")
    assert f.matches(ev()) is False
    assert f.errors == 1
    assert "missing" in f.last_error
    text = Filter('value.contains("x")')
    assert text.matches(ev()) is False  # a map has no contains(): no match, no crash
    assert text.matches(ev(value=b"xyz")) is True


def test_tombstone_value_is_null():
    assert Filter("value == null").matches(ev(value=None))


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("value.amount >", "column 15"),
        ("vaule.amount > 1", "unknown name 'vaule'"),
        ("   ", "empty"),
    ],
)
def test_invalid_expressions(expr, fragment):
    with pytest.raises(FilterError) as err:
        Filter(expr)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_non_boolean_result_is_an_error():
    with pytest.raises(FilterError, match="not true/false"):
        Filter("offset").matches(ev())


def test_only_used_names_are_computed():
    e = ev(value=b'{"a":1}')
    assert Filter('topic == "orders"').matches(e)
    assert e._decoded is None  # value never decoded for a topic-only filter


TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_identity_names():
    headers = (
        ("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01".encode()),
        ("message-id", b"e-1"),
        ("causation-id", b"e-0"),
        ("service", b"payment"),
    )
    e = ev(headers=headers)
    assert Filter(f'correlation_id == "{TRACE}" && trace_id == correlation_id').matches(e)
    assert Filter('event_id == "e-1" && event_type == "OrderPlaced"').matches(e)
    assert Filter('"e-0" in causation_ids && size(causation_ids) == 1').matches(e)
    assert Filter('service == "payment"').matches(e)
    ce = ev(headers=(("ce_id", b"c-1"), ("ce_source", b"/shop/inventory"), ("ce_type", b"T")))
    assert Filter('source == "/shop/inventory" && service == null').matches(ce)
    assert Filter("source == null").matches(e)


def test_unknown_identity_is_null_and_no_error():
    f = Filter('correlation_id == "x" || service == null')
    assert f.matches(ev(value=b"plain text")) is True
    assert Filter("size(causation_ids) == 0").matches(ev(value=b"plain text"))
    assert f.errors == 0


def test_identity_computed_only_when_referenced():
    e = ev()
    assert Filter('value.type == "OrderPlaced"').matches(e)
    assert e._ids is None
    assert Filter('event_type == "OrderPlaced"').matches(e)
    assert e._ids is not None
