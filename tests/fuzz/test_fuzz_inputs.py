"""Fuzzing (issue 19, part 5): hostile input to every parser and decoder; no exception
escapes except :class:`evtui.errors.EvtuiError`, and decoding never raises at all."""

from __future__ import annotations

import contextlib
import json
import tomllib

from hypothesis import given
from hypothesis import strategies as st

from evtui.core.decode import DecoderChain, builtin_decoders
from evtui.core.event import Event
from evtui.core.ids import extract_ids
from evtui.errors import EvtuiError
from tests.fuzz.conftest import FUZZ

HEADER_NAMES = st.sampled_from([
    "traceparent", "tracestate", "b3", "X-B3-TraceId", "X-B3-SpanId", "X-B3-ParentSpanId",
    "uber-trace-id", "ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion",
    "correlation-id", "causation-id", "x-correlation-id", "message-id", "content-type",
    "$correlationId", "NServiceBus.MessageId", "NServiceBus.RelatedTo", "MessageId",
    "CorrelationId", "ConversationId", "MT-InitiatorId", "service.name", "kafka_dlt-x",
]) | st.text(max_size=20)  # fmt: skip
HEADER_VALUES = st.none() | st.binary(max_size=80) | st.text(max_size=80).map(str.encode)
HEADERS = st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=8).map(tuple)

JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["eventId", "correlationId", "causationId", "id", "source", "type",
                         "specversion", "metadata", "traceparent", "time", "sequence",
                         "$correlationId", "data"]) | st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)  # fmt: skip


def deep(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


VALUES = (
    st.none()
    | st.binary(max_size=300)
    | JSON.map(lambda v: json.dumps(v).encode())
    | st.builds(lambda v, cut: json.dumps(v).encode()[:cut], JSON, st.integers(0, 50))
    | st.integers(500, 5000).map(deep)
    | st.integers(500, 3000).map(lambda d: deep(d, '{"a":', "}"))
    | st.builds(lambda i, rest: b"\x00" + i.to_bytes(4, "big") + rest,
                st.integers(0, 2**32 - 1), st.binary(max_size=30))
    | st.builds(lambda rest: b"\x01" + rest, st.binary(max_size=40))
    | st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass"))
)  # fmt: skip


@FUZZ
@given(VALUES, HEADERS)
def test_decoding_and_ids_never_raise(value, headers):
    chain = DecoderChain(builtin_decoders())
    decoded = chain.decode(value, headers)
    assert decoded.format in ("json", "text", "binary", "schema-registry", "null")
    chain.peek(value, headers)
    event = Event("t", 0, 0, 0, 0, None, value, headers)
    ids = extract_ids(event)
    for text in (ids.event_id, ids.correlation_id, ids.trace_id, *ids.causation_ids):
        assert text is None or (text.isprintable() and len(text) <= 1024)
    assert event.decoded is not None and event.ids is not None


@FUZZ
@given(st.binary(max_size=60))
def test_wire_format_prefixes_and_truncations(rest):
    chain = DecoderChain(builtin_decoders())
    for prefix in (b"\x00", b"\x00\x00\x00\x00\x01", b"\x01", b"\x00\x00"):
        chain.decode(prefix + rest, ())


POSITIONS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["beginning", "end", "-0", "-1", "0", "s@", "e@", "s@-1",
                     "e@999999999999999999999", "2026-13-45T25:61:61Z", "15m", "1h30m",
                     "0s", "-15m", "9" * 40, "1e9", "nan", "inf", "\x00", "s@1.5", "P1D", "now"]),
)  # fmt: skip


@FUZZ
@given(POSITIONS)
def test_positions_and_durations(text):
    from evtui.commands.demo import parse_duration_s
    from evtui.core.positions import parse_duration_ms, parse_end, parse_position

    for parse in (parse_position, parse_end):
        with contextlib.suppress(EvtuiError):
            parse(text)
    parse_duration_ms(text)  # None for what it does not read
    with contextlib.suppress(EvtuiError):
        parse_duration_s(text, "--duration")


CEL = st.one_of(
    st.text(max_size=60),
    st.sampled_from([
        'value.a == "x"', "value.a.b.c > 3", 'key.startsWith("k")', "size(value) > 1",
        "value.x / 0 == 1", 'headers["x"] == "y"', "value[0] == 1", "int(value.s) > 0",
        'value.matches("(a+)+$")', "topic == 'orders' && offset > -1", "1 +", "((((",
        "value.a.b.c.d.e.f.g.h.i.j", 'timestamp > timestamp("2026-01-01T00:00:00Z")',
    ]),
)  # fmt: skip


@FUZZ
@given(CEL, VALUES, HEADERS)
def test_cel_filters_compile_and_evaluate_on_hostile_values(expression, value, headers):
    from evtui.core.filters import Filter

    try:
        flt = Filter(expression)
    except EvtuiError:
        return
    event = Event("orders", 0, 1, 1_700_000_000_000, 0, b"k\xff", value, headers)
    with contextlib.suppress(EvtuiError):
        assert flt.matches(event) in (True, False)


@FUZZ
@given(data=st.binary(max_size=2000), how=st.integers(0, 3))
def test_recording_files_truncated_corrupted_or_not_recordings(data, how, tmp_path_factory):
    from evtui.core.recording import inspect_recording, read_events

    folder = tmp_path_factory.mktemp("rec")
    path = folder / "f.evtrec"
    good = b'{"evtui_recording": 1, "created": "2026-01-01T00:00:00Z", "topics": ["t"]}\n'
    path.write_bytes([data, good + data, good[: len(data) % len(good)], good * 2][how])
    for read in (inspect_recording, read_events):
        with contextlib.suppress(EvtuiError):
            read(path)


TOML_VALUES = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)
PROFILE_KEYS = st.sampled_from(["bootstrap", "security_protocol", "sasl_mechanism", "username",
                                "password", "password_env", "properties", "schema_registry",
                                "nonsense"])  # fmt: skip


@FUZZ
@given(st.dictionaries(PROFILE_KEYS, TOML_VALUES, max_size=6) | TOML_VALUES)
def test_cluster_profiles(raw):
    from evtui.config import parse_profile

    try:
        profile = parse_profile("x", raw)
    except EvtuiError:
        return
    props = profile.client_properties()
    assert all(isinstance(k, str) for k in props)


RULE_KEYS = st.sampled_from(["field", "header", "json", "regex", "topics", "override", "split",
                             "bogus"])  # fmt: skip
RULE_VALUES = st.one_of(
    st.sampled_from(["correlation_id", "causation_ids", "event_id", "service", "(", "a.b.0",
                     "(?P<id>[0-9]+)", "(?P<x>)", "[", "", "."]),
    TOML_VALUES,
)  # fmt: skip


@FUZZ
@given(st.one_of(
    st.dictionaries(st.sampled_from(["ignore", "rules", "other"]),
                    st.lists(st.dictionaries(RULE_KEYS, RULE_VALUES, max_size=5), max_size=3)
                    | TOML_VALUES, max_size=3),
    TOML_VALUES,
), VALUES, HEADERS)  # fmt: skip
def test_identity_rules_parse_or_refuse_and_never_break_extraction(raw, value, headers):
    from evtui.config import parse_id_rules
    from evtui.core.ids import set_rules

    try:
        rules = parse_id_rules(raw)
    except EvtuiError:
        return
    try:
        set_rules(rules)
        extract_ids(Event("t", 0, 0, 0, 0, None, value, headers))
    finally:
        set_rules()


@FUZZ
@given(text=st.text(max_size=300))
def test_config_files(text, tmp_path_factory):
    from evtui.config import load_id_rules, resolve_client_config

    path = tmp_path_factory.mktemp("cfg") / "c.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass") if text.isascii() else (
        path.write_bytes(text.encode("utf-8", "surrogatepass")))  # fmt: skip
    for read in (lambda: load_id_rules(path),
                 lambda: resolve_client_config(cluster="x", config=path)):  # fmt: skip
        with contextlib.suppress(EvtuiError):
            read()


def test_toml_itself_is_not_the_thing_tested():
    # (a sanity check that the fuzzer reaches the parsers: a valid file parses)
    assert tomllib.loads('[clusters.x]\nbootstrap = "b:1"\n')["clusters"]["x"]["bootstrap"]
