"""The native ids (evtui._native) against the one specification, ``core.ids.extract_ids``.

Differential: every generated record is read by both; the extension must give exactly
the Python result or leave the record to Python (``None``), never anything else. It
may leave a record only where Python's reading depends on what it does not copy
(non-ASCII text, values that do not decode, repeated keys a rule reads); on ordinary
records it must take every one, or the fast path would be a slow path in disguise.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evtui
from evtui.core import decode, native
from evtui.core import ids as ids_mod
from evtui.core.event import Event, problems_reported_to
from evtui.core.ids import CLOUDEVENT_RULES, EMPTY, HEADER_RULES, JSON_RULES, IdRule, set_rules
from evtui.sim.model import FaultRates
from evtui.sim.shop import ShopSimulator
from tests.integration import scenarios

SWITCHED_OFF = os.environ.get("EVTUI_NATIVE") == "0"
needs_native = pytest.mark.skipif(SWITCHED_OFF, reason="EVTUI_NATIVE=0: Python alone")


def test_the_extension_is_built():
    """A checkout installed by the README's commands has it (CI must not test Python twice)."""
    assert native.available() or SWITCHED_OFF
    if native.available():  # built from this checkout: one version everywhere
        assert native.version() == evtui.__version__


def python_ids(headers, value):
    """The specification's answer, and whether it reported a problem of the record."""
    problems = []
    event = Event("t", 0, 0, 0, 1, None, value, headers)
    with problems_reported_to(lambda _e, reason: problems.append(reason)):
        got = ids_mod.extract_ids(event)
    return got, problems


def agree(headers, value, *, must_take=False, ignored=()):
    expected, problems = python_ids(headers, value)
    got = native.extract(headers, value, True, ignored)
    if got is None:
        assert not must_take, (headers, value, expected)
        return False
    assert not problems, (headers, value, problems)  # a record with problems is Python's
    assert got == expected, (headers, value)
    assert (got is EMPTY) == (expected is EMPTY)
    return True


# -- generators -------------------------------------------------------------------------------

RULE_NAMES = sorted(set(HEADER_RULES) | set(JSON_RULES) | set(CLOUDEVENT_RULES))
OTHER_NAMES = ["specversion", "ce_datacontenttype", "contentType", "seq", "data", "amount"]
ODD_NAMES = ["İd", "\u212aind", "corrélation-id", "", " type", "type ", "event id"]


@st.composite
def spelled(draw, names):
    """A name as systems spell it: any case, ``-`` or ``_``."""
    name = draw(st.sampled_from(names))
    if draw(st.booleans()):
        name = name.replace("-", "_")
    style = draw(st.sampled_from(["same", "upper", "title", "random"]))
    if style == "upper":
        name = name.upper()
    elif style == "title":
        name = "-".join(p.capitalize() for p in name.split("-"))
    elif style == "random":
        flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
        name = "".join(c.upper() if f else c for c, f in zip(name, flips, strict=True))
    return name


def hex_id(n):
    return st.text("0123456789abcdefABCDEF", min_size=n, max_size=n)


ID_TEXT = st.one_of(
    st.uuids().map(str),
    st.from_regex(r"[A-Za-z0-9._:/\-]{1,24}", fullmatch=True),
    st.sampled_from(["0", "-1", "orders", "rabbitmq://h/v/orders?x=1", "queue:pay", "a;b,c"]),
    st.sampled_from(["kafka://host", "X.Y.OrderPlaced, X.Y, Version=1.0", "a%3Ab"]),
)
TRACE_TEXT = st.one_of(
    st.builds(
        lambda v, t, s, f: f"{v}-{t}-{s}-{f}",
        st.sampled_from(["00", "01", "ff", "0g"]),
        hex_id(32),
        hex_id(16),
        hex_id(2),
    ),
    st.builds(
        lambda t, s, r: f"00-{t}-{s}-01{r}",
        st.sampled_from(["0" * 32, "a" * 32]),
        st.sampled_from(["0" * 16, "b" * 16]),
        st.sampled_from(["", "-x", "-"]),
    ),
    st.builds(
        lambda t, s, x: f"{t}-{s}{x}",
        st.one_of(hex_id(32), hex_id(16), hex_id(8)),
        hex_id(16),
        st.sampled_from(["", "-1", "-d", "-2", "-0-" + "c" * 16, "-1-" + "0" * 16]),
    ),
    st.builds(
        lambda t, s, p, f, sep: sep.join([t, s, p, f]),
        st.text("0123456789abcdef", min_size=1, max_size=33),
        st.text("0123456789abcdef", min_size=1, max_size=17),
        st.sampled_from(["0", "1", "abc"]),
        st.sampled_from(["1", "01", "001"]),
        st.sampled_from([":", "%3A", "%3a"]),
    ),
    st.sampled_from(["0", "", "00-" + "0" * 32 + "-" + "0" * 16 + "-00"]),
)
PAD = st.sampled_from(["", " ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "  "])
ODD_TEXT = st.one_of(
    st.text(max_size=8),  # any Unicode: controls, surrogates excluded by UTF-8 below
    st.sampled_from(["é", "ünïcode", "a\x00b", "a\x7fb", "tab\there", "\u00a0x\u00a0", "x\u2028"]),
    st.integers(250, 1100).map(lambda n: "x" * n),
)


@st.composite
def text_value(draw, ordinary=False):
    base = draw(
        st.one_of(ID_TEXT, TRACE_TEXT) if ordinary else st.one_of(ID_TEXT, TRACE_TEXT, ODD_TEXT)
    )
    if ordinary:
        return base
    return draw(PAD) + base + draw(PAD)


@st.composite
def header_value(draw, ordinary=False):
    if ordinary:
        return draw(text_value(True)).encode()
    kind = draw(st.sampled_from(["text", "text", "text", "none", "bad-utf8", "long", "ct"]))
    if kind == "none":
        return None
    if kind == "bad-utf8":
        return b"\xff" + draw(text_value()).encode("utf-8", "surrogatepass")
    if kind == "long":
        return b" " * draw(st.integers(0, 1200)) + b"id" + b"\x0b" * draw(st.integers(0, 40))
    if kind == "ct":
        return draw(st.sampled_from(CONTENT_TYPES))
    return draw(text_value()).encode("utf-8", "surrogatepass")


CONTENT_TYPES = [
    b"application/json",
    b"application/cloudevents+json",
    b"APPLICATION/CloudEvents+JSON; charset=utf-8",
    b"text/plain",
    b"application/cloudevents-batch+json",
    b"application/x-JSON",
]


@st.composite
def headers(draw, ordinary=False):
    names = st.one_of(spelled(RULE_NAMES), spelled(OTHER_NAMES))
    if not ordinary:
        names = st.one_of(names, st.sampled_from(ODD_NAMES), st.text(max_size=6))
    pairs = draw(st.lists(st.tuples(names, header_value(ordinary)), max_size=8))
    if not ordinary and draw(st.booleans()):
        pairs.append(
            (
                draw(st.sampled_from(["content-type", "Content-Type", "ce_datacontenttype"])),
                draw(st.sampled_from(CONTENT_TYPES)),
            )
        )
    return tuple(pairs)


def json_leaf(ordinary):
    leaves = [text_value(ordinary), st.integers(-(10**6), 10**6)]
    if not ordinary:
        leaves += [
            st.integers(-(10**30), 10**30),
            st.floats(allow_nan=False),
            st.booleans(),
            st.none(),
            st.lists(st.integers(), max_size=3),
        ]
    return st.one_of(*leaves)


@st.composite
def json_object(draw, ordinary=False, depth=0):
    keys = st.one_of(spelled(RULE_NAMES), spelled(OTHER_NAMES))
    if not ordinary:
        keys = st.one_of(keys, st.sampled_from(ODD_NAMES))
    values = json_leaf(ordinary)
    if depth == 0:
        values = st.one_of(values, json_object(ordinary, 1))
    members = draw(st.lists(st.tuples(keys, values), max_size=8))
    if ordinary:  # a dict: one value per key
        members = list(dict(members).items())
    return ("obj", members)


def dumps(value, ascii_only, space):
    if isinstance(value, tuple) and value and value[0] == "obj":
        sep = ", " if space else ","
        body = sep.join(
            f"{json.dumps(k, ensure_ascii=ascii_only)}:{' ' if space else ''}"
            f"{dumps(v, ascii_only, space)}"
            for k, v in value[1]
        )
        return "{" + body + "}"
    return json.dumps(value, ensure_ascii=ascii_only)


@st.composite
def body(draw, ordinary=False):
    if ordinary:
        obj = draw(json_object(True))
        return dumps(obj, True, draw(st.booleans())).encode()
    kind = draw(
        st.sampled_from(
            [
                "obj",
                "obj",
                "obj",
                "none",
                "empty",
                "bad",
                "array",
                "nan",
                "sr",
                "text",
                "binary",
                "deep",
                "lead-space",
                "trailing",
            ]
        )
    )
    obj = draw(json_object())
    text = dumps(obj, draw(st.booleans()), draw(st.booleans()))
    data = text.encode("utf-8", "surrogatepass")
    if kind == "none":
        return None
    if kind == "empty":
        return b""
    if kind == "bad":
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if kind == "array":
        return b"[" + data + b"]"
    if kind == "nan":
        return data[:-1] + (b', "x": NaN}' if len(data) > 2 else b'"x": NaN}')
    if kind == "sr":
        return b"\x00" + draw(st.binary(min_size=4, max_size=4)) + data
    if kind == "text":
        return draw(st.text(max_size=20)).encode("utf-8", "surrogatepass")
    if kind == "binary":
        return draw(st.binary(max_size=20))
    if kind == "deep":
        n = draw(st.integers(300, 700))
        return b'{"eventId":"x","a":' + b"[" * n + b"]" * n + b"}"
    if kind == "lead-space":
        return draw(st.sampled_from([b" ", b"\n\t", b"\r "])) + data
    return data + draw(st.sampled_from([b" ", b"\n", b" x", b"}"]))


# -- the differential tests -------------------------------------------------------------------


@needs_native
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers(), body())
def test_hostile_records_agree_or_are_left_to_python(hs, value):
    agree(hs, value)


@needs_native
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers(ordinary=True), body(ordinary=True))
def test_ordinary_records_are_all_taken_and_agree(hs, value):
    agree(hs, value, must_take=True)


@needs_native
@settings(max_examples=300, deadline=None)
@given(
    headers(),
    body(),
    st.lists(
        st.sampled_from(["correlationId", "type", "id", "ce_id", "traceparent", "metadata"]),
        max_size=3,
    ),
)
def test_ignored_names_agree(hs, value, ignore):
    try:
        set_rules(ids_mod.IdRules((), tuple(ignore)))
        normalised = tuple(ids_mod.normalise(n) for n in ignore)
        agree(hs, value, ignored=normalised)
    finally:
        set_rules()


CASES = [
    # (headers, value): the module notes' conventions, one each
    ((), b'{"eventId":"e1","type":"OrderPlaced","correlationId":"c1","causationId":"e0"}'),
    ((("ce_id", b"x"), ("ce_type", b"T"), ("ce_source", b"/s"), ("ce_correlationid", b"c")), b"{}"),
    (
        (("content-type", b"application/cloudevents+json"),),
        b'{"specversion":"1.0","id":"i","type":"t","source":"s","correlationid":"c"}',
    ),
    ((), b'{"specversion":"1.0","id":"i","type":"t","source":"s","data":{"id":"no"}}'),
    ((), b'{"data":{},"metadata":{"$correlationId":"c","$causationId":"p","eventId":"m"}}'),
    (
        (
            ("NServiceBus.MessageId", b"m"),
            ("NServiceBus.EnclosedMessageTypes", b"A.B, A; C"),
            ("NServiceBus.ConversationId", b"conv"),
            ("NServiceBus.RelatedTo", b"r"),
        ),
        None,
    ),
    (
        (("MT-Source-Address", b"rabbitmq://h/v/orders?x=1"),),
        b'{"messageId":"m","sourceAddress":"queue:x"}',
    ),
    ((("b3", b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"),), None),
    ((("X-B3-TraceId", b"A3CE929D0E0E4736"), ("X-B3-SpanId", b"bad")), None),
    ((("uber-trace-id", b"5af7183fb1d4cf5f%3A6d2c3b0b1a0a9f8e%3A0%3A1"),), None),
    (
        (
            ("traceparent", b"00-" + b"0" * 32 + b"-" + b"b" * 16 + b"-01"),
            ("b3", b"a" * 16 + b"-" + b"b" * 16),
        ),
        None,
    ),
    (
        (("causation-id", b"a"), ("causation-id", b"b"), ("MT-InitiatorId", b"a")),
        b'{"id":7,"$type":"T"}',
    ),
    ((), b'{"id": 12345678901234567890123, "type": "T"}'),
    ((), b'{"eventId": "\\u0041\\n", "type": 5, "service": 3}'),
    ((), b'{"eventId":"a","eventId":"b"}'),
]


@needs_native
@pytest.mark.parametrize(("hs", "value"), CASES)
def test_each_convention_agrees(hs, value):
    agree(hs, value)


@needs_native
def test_the_demo_agrees_and_is_taken_whole():
    sim = ShopSimulator(seed=11, rate=300, faults=FaultRates(0.05, 0.05, 0.05, 0.05, 0.05))
    for r in sim.take(3000):
        agree(r.headers, r.value, must_take=True)


@needs_native
@pytest.mark.parametrize("style", scenarios.STYLES)
def test_the_scenario_streams_agree_and_are_taken_whole(style):
    """The issue-9 generator's encodings: body fields, CloudEvents headers, nested sequences."""
    stream = scenarios.Stream(style=style, partitions=3, seed=3)
    stream.background(300, [f"k{i}" for i in range(20)])
    stream.keyless()
    for rec in stream.records:
        agree(rec.headers, rec.value, must_take=True)


# -- fill_ids: whole batches ------------------------------------------------------------------


def batch(n=50):
    sim = ShopSimulator(seed=2, rate=300)
    return [
        Event("orders", 0, i, 0, 1, r.key, r.value, r.headers) for i, r in enumerate(sim.take(n))
    ]


@needs_native
def test_fill_ids_sets_what_python_would_and_skips_known_ids():
    events = batch()
    known = events[0].ids  # already extracted: kept as it is
    assert native.fill_ids(events) == len(events) - 1
    assert events[0].ids is known
    for e in events:
        fresh = Event(e.topic, e.partition, e.offset, e.timestamp, 1, e.key, e.value, e.headers)
        assert e.ids == fresh.ids


@needs_native
def test_fill_ids_leaves_topics_with_rules_and_odd_records_to_python():
    events = batch(20)
    odd = Event("orders", 0, 99, 0, 1, None, b'{"eventId": "\xc3\xa9t\xc3\xa9"}', ())
    set_rules([IdRule("correlation_id", header="x-req", topics="^orders$")])
    try:
        assert native.fill_ids([*events, odd]) == 0
    finally:
        set_rules()
    assert native.fill_ids([*events, odd]) == len(events)
    assert odd._ids is None  # non-ASCII: Python reads it when asked
    assert odd.ids.event_id == "été"


class Upper:
    name = "upper"

    def decode(self, data, headers):
        return None


@needs_native
def test_another_decoder_chain_keeps_the_body_with_python():
    headerless = Event("t", 0, 0, 0, 1, None, b'{"eventId":"e"}', ())
    complete = Event(
        "t", 0, 1, 0, 1, None, b"{}", (("ce_id", b"i"), ("ce_type", b"T"), ("correlation-id", b"c"))
    )
    try:
        decode.set_active_chain([Upper(), *decode.builtin_decoders()])
        assert native.fill_ids([headerless, complete]) == 1  # headers alone suffice there
        assert headerless._ids is None
    finally:
        decode.set_active_chain(decode.builtin_decoders())


def test_one_version_in_pyproject_cargo_and_the_package():
    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    crate = tomllib.loads((root / "native" / "Cargo.toml").read_text())["package"]["version"]
    assert project == crate == evtui.__version__
