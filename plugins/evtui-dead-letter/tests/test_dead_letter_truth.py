from __future__ import annotations

import random
import struct

import pytest
from dead_letter_records import connect, event, ordinary_headers, spring, stream
from evtui_dead_letter import KIND, DeadLetterDetector, read_link
from evtui_dead_letter.conventions import is_dead_letter_topic, is_retry_topic
from hypothesis import given, settings
from hypothesis import strategies as st

from evtui.core.ordering import Checker, parse_ref
from evtui.core.problems import RecordProblems

SPRING_EXC = "org.springframework.kafka.support.serializer.DeserializationException"


def run(events):
    detector = DeadLetterDetector()
    found = [f for e in events for f in detector.offer(e)]
    assert list(detector.finish()) == []
    return found


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_stream_exact_truth(seed):
    events, truths = stream(seed)
    found = run(events)
    due = [(e, t) for e, t in zip(events, truths, strict=True) if t.dead]
    assert due, "the generator made no dead letters"
    assert [(f.topic, f.partition, f.offset) for f in found] == [
        (e.topic, e.partition, e.offset) for e, _ in due
    ]
    for f, (e, t) in zip(found, due, strict=True):
        assert f.kind == KIND and f.severity == "warning"
        assert f.refs == (f"{e.topic}/{e.partition}/{e.offset}", t.original)
        assert parse_ref(f.refs[1]) == tuple(
            int(x) if x.isdigit() else x for x in t.original.rsplit("/", 2)
        )
        assert f.key == (None if e.key is None else e.key.decode())
        assert len(f.seen) < 400 and len(f.explanation) < 700  # no 5000-character dumps
        assert "…" in f.seen or "Connect" in f.seen


def test_spring_finding_text():
    headers = spring("payments.DLT", 2, 0, ("payments", 2, 1234567890123), SPRING_EXC,
                     "failed to deserialize; nested exception is ...\nline two")  # fmt: skip
    (f,) = run([event("payments.DLT", 2, 0, headers)])
    assert f.refs == ("payments.DLT/2/0", "payments/2/1234567890123")
    assert f.expected == "payments/2/1234567890123 processed"
    assert f.seen == (
        f"dead-lettered by Spring Kafka (orders-service): {SPRING_EXC}: "
        "failed to deserialize; nested exception is ..."
    )
    assert "line two" not in f.explanation
    assert "(written 2065-01-18T01:31:30.123Z)" in f.explanation  # Spring's timestamp, UTC


def test_connect_finding_text():
    headers = connect(("orders", 0, 41), "org.apache.kafka.connect.errors.DataException", "bad")
    (f,) = run([event("connect-dlq", 0, 9, headers, key=None)])
    assert f.refs == ("connect-dlq/0/9", "orders/0/41")
    assert f.key is None
    assert f.seen == (
        "dead-lettered by Kafka Connect (jdbc-sink-orders): "
        "org.apache.kafka.connect.errors.DataException: bad"
    )


def test_smallrye_and_karafka():
    smallrye = [
        ("dead-letter-reason", b"boom"),
        ("dead-letter-exception-class-name", b"java.lang.IllegalArgumentException"),
        ("dead-letter-topic", b"movies"),
        ("dead-letter-partition", b"1"),
        ("dead-letter-offset", b"17"),
    ]
    karafka = [("source_topic", b"orders"), ("source_partition", b"0"), ("source_offset", b"5")]
    found = run([
        event("dead-letter-topic-movies", 0, 3, smallrye),
        event("orders_dlq", 0, 4, karafka),
        event("orders-enriched", 0, 4, karafka),  # lineage headers on a normal topic
    ])  # fmt: skip
    assert [f.refs for f in found] == [
        ("dead-letter-topic-movies/0/3", "movies/1/17"),
        ("orders_dlq/0/4", "orders/0/5"),
    ]
    assert found[0].seen.startswith("dead-lettered by SmallRye Reactive Messaging: java.lang")


def test_name_only_dead_letter_topic_is_reported_with_original_unknown():
    found = run([event("Orders.DLQ", 0, 0, [("traceparent", b"00-ab-cd-01")], key=None)])
    (f,) = found
    assert f.refs == ("Orders.DLQ/0/0",)
    assert "original unknown" in f.seen


@pytest.mark.parametrize(
    ("topic", "dead"),
    [
        ("orders.DLT", True), ("orders-dlt", True), ("orders.DLQ", True), ("orders-dlq", True),
        ("orders_dlq", True), ("ORDERS_DLT", True), ("orders-dead-letter", True),
        ("orders.deadletter", True), ("orders-dead-letter-queue", True), ("dlq", True),
        ("dead-letter-topic-movies", True),
        ("orders", False), ("dlq-replayer-output", False), ("orders-dltx", False),
        ("sdlq", False), ("orders-retry-1000", False), ("dead-letters-report.v1", False),
    ],
)  # fmt: skip
def test_topic_names(topic, dead):
    assert is_dead_letter_topic(topic) is dead
    assert len(run([event(topic, 0, 0)])) == int(dead)


def test_retry_topics():
    assert is_retry_topic("orders-retry") and is_retry_topic("orders-retry-0")
    assert is_retry_topic("orders-retry-5000") and not is_retry_topic("orders-retryable")


def test_ordinary_records_give_nothing():
    rng = random.Random(11)
    events = [
        event(t, p, o, ordinary_headers(rng), key=None if o % 3 == 0 else b"k")
        for t in ("orders", "payments", "orders-retry", "audit.v1")
        for p in range(3)
        for o in range(60)
    ]
    assert run(events) == []


def _malformed():
    good = spring("orders.DLT", 0, 0, ("orders", 0, 5), SPRING_EXC, "m")

    def replace(headers, name, value):
        return [(n, value if n == name else v) for n, v in headers]

    return [
        replace(good, "kafka_dlt-original-partition", b"\x00\x01"),  # wrong length, not text
        replace(good, "kafka_dlt-original-offset", b"\x00" * 7),
        replace(good, "kafka_dlt-original-offset", struct.pack(">q", -1)),
        replace(good, "kafka_dlt-original-partition", struct.pack(">i", -3)),
        replace(good, "kafka_dlt-original-topic", b"\xff\xfe\x00"),
        replace(good, "kafka_dlt-original-topic", None),
        replace(good, "kafka_dlt-original-topic", b""),
        replace(good, "kafka_dlt-exception-message", b"\xff" * 10_000),
        [(n, v) for n, v in good if n != "kafka_dlt-original-offset"],
        [*connect(("orders", 0, 5), "E", "m"), ("__connect.errors.offset", b"-5")],
        [("__connect.errors.topic", b"orders"), ("__connect.errors.partition", b"zero"),
         ("__connect.errors.offset", b"5")],
        [("__connect.errors.topic", b"orders"), ("__connect.errors.partition", b"0"),
         ("__connect.errors.offset", b"99999999999999999999999")],
        [("__connect.errors.topic", b"orders"), ("__connect.errors.partition", b"\xd9\xa3"),
         ("__connect.errors.offset", b"5")],  # an Arabic-Indic digit: not ASCII
    ]  # fmt: skip


def test_malformed_links_are_unreadable_findings_not_errors():
    events = [event("orders.DLT", 0, i, h) for i, h in enumerate(_malformed())]
    found = run(events)
    assert len(found) == len(events)
    by_offset = {f.offset: f for f in found}
    for i in range(len(events)):
        f = by_offset[i]
        if i == 7:  # only the message is bad: the link reads, the message is cut and replaced
            assert f.refs == ("orders.DLT/0/7", "orders/0/5")
            assert len(f.seen) < 300
        else:
            assert f.refs == (f"orders.DLT/0/{i}",), i
            assert "link unreadable" in f.seen


def test_malformed_spring_binary_fallback_to_text():
    good = spring("orders.DLT", 0, 0, ("orders", 0, 5), SPRING_EXC, "m")
    text = [(n, b"12" if n == "kafka_dlt-original-offset" else v) for n, v in good]
    assert read_link("orders.DLT", tuple(text)).ref == "orders/0/12"


def test_through_evtuis_checker(plugin_detectors):
    events, truths = stream(9)
    problems = RecordProblems()
    checker = Checker((KIND,))
    checker.offer_batch(events, problems)
    found = checker.finish()
    assert not problems
    assert [(f.topic, f.partition, f.offset) for f in found] == [
        (e.topic, e.partition, e.offset) for e, t in zip(events, truths, strict=True) if t.dead
    ]
    assert all(f.kind == KIND for f in found)


def test_checker_without_the_kind_runs_no_plugin(plugin_detectors):
    checker = Checker(("duplicate_event",))
    assert checker.plugins == []


def test_register_adds_the_detector():
    from evtui_dead_letter import register

    from evtui.plugins import Registry

    registry = Registry()
    registry.current = "dead-letter"
    register(registry)
    assert registry.contributions("dead-letter") == ["detector dead_letter"]


def test_entry_point_is_installed():
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="evtui.plugins") if e.name == "dead-letter"]
    assert ep.value == "evtui_dead_letter:register"


header_names = st.sampled_from([
    "kafka_dlt-original-topic", "kafka_dlt-original-partition", "kafka_dlt-original-offset",
    "kafka_dlt-original-timestamp", "kafka_dlt-exception-fqcn", "kafka_dlt-exception-message",
    "KAFKA_DLT-ORIGINAL-TOPIC", "__connect.errors.topic", "__connect.errors.partition",
    "__connect.errors.offset", "__connect.errors.exception.message", "dead-letter-topic",
    "dead-letter-reason", "dead-letter-partition", "dead-letter-offset", "source_topic",
    "source_partition", "source_offset", "traceparent",
]) | st.text(max_size=30)  # fmt: skip
header_values = (
    st.none()
    | st.binary(max_size=24)
    | st.integers(-(2**63), 2**63 - 1).map(lambda n: struct.pack(">q", n))
    | st.integers(-(2**31), 2**31 - 1).map(lambda n: struct.pack(">i", n))
    | st.integers().map(lambda n: str(n).encode())
)
topics = st.sampled_from(["orders", "orders.DLT", "x-dlq", "orders-retry-0", "dead-letter-topic-a"])


@settings(max_examples=400, deadline=None)
@given(topics, st.lists(st.tuples(header_names, header_values), max_size=12), st.booleans())
def test_random_headers_never_raise(topic, headers, keyed):
    detector = DeadLetterDetector()
    found = detector.offer(event(topic, 0, 1, headers, key=b"k" if keyed else None))
    assert len(found) <= 1
    for f in found:
        assert f.refs[0] == f"{topic}/0/1"
        assert len(f.seen) < 600 and len(f.explanation) < 1200
        if len(f.refs) == 2:
            _t, p, o = parse_ref(f.refs[1])
            assert 0 <= p < 2**31 and 0 <= o < 2**63
