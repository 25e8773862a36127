"""The native JSON lines of ``evtui tail`` against the one specification, ``output.json_line``.

Differential: every generated record is written by both; the extension must write the
very same line or leave the record to Python (``None``). On ordinary records (JSON
bodies with plain numbers, UTF-8 keys and headers, text and binary values) it must
write every one.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evtui.core import decode, native
from evtui.core.event import Event
from evtui.core.output import json_line
from evtui.sim.shop import ShopSimulator
from tests.unit.test_native_ids import body, headers

needs_native = pytest.mark.skipif(
    os.environ.get("EVTUI_NATIVE") == "0", reason="EVTUI_NATIVE=0: Python alone"
)

TOPICS = st.sampled_from(["orders", "t\u00e9l\u00e9", 'quote"d', "tab\tbed", "x" * 200])
KEYS = st.one_of(st.none(), st.binary(max_size=12), st.text(max_size=12).map(str.encode))


def agree(event, must_take=False):
    got = native.json_lines([event])[0]
    assert native.json_text([event]) == got  # the batch's text: the same line, or None
    if got is None:
        assert not must_take, event
        return False
    assert got == json_line(event), event
    return True


def ev(topic, partition, offset, ts, ts_type, key, value, hs):
    return Event(topic, partition, offset, ts, ts_type, key, value, hs)


FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(min_value=-(10**15), max_value=10**15, places=4, allow_nan=False),
)


@st.composite
def json_value(draw, depth=0):
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(-(10**25), 10**25), st.text(max_size=10), FLOATS
    )
    if depth >= 2:
        return draw(leaves)
    return draw(
        st.one_of(
            leaves,
            st.lists(json_value(depth + 1), max_size=4),
            st.dictionaries(st.text(max_size=6), json_value(depth + 1), max_size=4),
        )
    )


def encode_json(value, ascii_only, space):
    """JSON text the way producers write it (floats as decimals or repr, escapes or not)."""
    if isinstance(value, dict):
        sep = ", " if space else ","
        inner = sep.join(
            f"{json.dumps(k, ensure_ascii=ascii_only)}:{encode_json(v, ascii_only, space)}"
            for k, v in value.items()
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return (
            "["
            + (", " if space else ",").join(encode_json(v, ascii_only, space) for v in value)
            + "]"
        )
    if not isinstance(value, bool | int | float | str | type(None)):  # a Decimal
        return str(value) if "E" not in str(value) else format(value, "f")
    return json.dumps(value, ensure_ascii=ascii_only)


@needs_native
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    TOPICS,
    st.integers(0, 2**31 - 1),
    st.integers(0, 2**62),
    st.integers(-1, 2**45),
    st.sampled_from([0, 1, 2]),
    KEYS,
    st.one_of(body(), json_value().map(lambda v: encode_json(v, True, False).encode())),
    headers(),
)
def test_hostile_records_agree_or_are_left_to_python(topic, p, o, ts, tt, key, value, hs):
    agree(ev(topic, p, o, ts, tt, key, value, hs))


@needs_native
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_value(), st.booleans(), st.booleans())
def test_json_values_are_written_again_as_msgspec_writes_them(value, ascii_only, space):
    data = encode_json(value, ascii_only, space).encode()
    agree(ev("t", 0, 0, 0, 1, b"k", data, ()))


@needs_native
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.text(max_size=10), st.integers(-(10**12), 10**12), st.booleans()),
        max_size=6,
    ),
    st.binary(max_size=16),
    st.text(max_size=20),
)
def test_ordinary_records_are_all_written(obj, blob, text):
    hs = (("traceparent", b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"), ("k", blob))
    agree(ev("orders", 1, 2, 3, 1, b"key", json.dumps(obj).encode(), hs), must_take=True)
    claimed = blob.lstrip(b" \t\r\n")[:1] in (b"{", b"[")  # JSON that may not decode
    agree(ev("orders", 1, 2, 3, 1, blob, blob, ()), must_take=not claimed)
    value = text.encode()
    plain = not any(c in text for c in "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x7f")
    claimed = value.lstrip(b" \t\r\n")[:1] in (b"{", b"[")
    agree(ev("orders", 1, 2, 3, 2, None, value, ()), must_take=plain and not claimed)


@needs_native
@pytest.mark.parametrize(
    "value",
    [
        None,
        b"",
        b"\x00\x00\x00\x00\x07payload",  # schema registry, id 7
        b"\x00\x00\x00\x00\x00x",  # id 0: not the wire format
        b'  {"a": 1.50, "b": [true, false, null], "c": "\\u00e9\\/"}',
        b"123",
        b"plain text\twith tab",
        b"\xff\xfe binary",
        b'{"a": NaN}',
        b'{"a": 1e400}',
        b"[" * 600 + b"]" * 600,
    ],
)
def test_each_value_kind_agrees(value):
    agree(ev("t", 0, 5, 1700000000000, 1, None, value, (("content-type", b"application/json"),)))
    agree(ev("t", 0, 5, 1700000000000, 1, None, value, ()))


@needs_native
def test_the_demo_is_written_whole_and_alike():
    records = ShopSimulator(seed=4, rate=300).take(2000)
    events = [ev(r.topic, 0, i, i, 1, r.key, r.value, r.headers) for i, r in enumerate(records)]
    lines = native.json_lines(events)
    assert None not in lines
    assert native.json_text(events) == "\n".join(lines)
    assert lines == [json_line(e) for e in events]  # (decodes them: after the extension's)


@needs_native
def test_decoded_events_and_other_decoder_chains_stay_with_python():
    decoded = ev("t", 0, 0, 0, 1, None, b'{"a":1}', ())
    decoded.decoded  # noqa: B018 (a filter decoded it)
    assert native.json_lines([decoded]) == [None]
    plain = ev("t", 0, 1, 0, 1, None, b'{"a":1}', ())
    assert native.json_text([plain, decoded]) is None  # one line Python's: the batch is
    try:
        decode.set_active_chain([decode.TextDecoder(), *decode.builtin_decoders()])
        assert native.json_lines([plain]) == [None]
    finally:
        decode.set_active_chain(decode.builtin_decoders())
    assert native.json_lines([plain]) == [json_line(plain)]
