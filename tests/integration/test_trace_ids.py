"""``evtui trace`` on the real broker: one trace id in every convention, and id prefixes.

A Brave-instrumented service sends a 64-bit trace id in B3 (16 hex digits); another
service on the same trace sends it in W3C ``traceparent``, left-padded to 32 digits;
Jaeger clients drop leading zeros; some systems send upper case. Every record of the
trace must come back, whichever form is searched (issue 14, part 7). Ids may also be
given by a unique start, as the console's cut columns show them (part 8).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.kafka

TRACE = "0562809467078eab"  # a 64-bit trace id, with a leading zero (Jaeger drops it)
PADDED = "0" * 16 + TRACE  # its W3C form
OTHER = "0562809400000001"  # another 64-bit trace sharing the first 8 digits
HIGH = "1" * 16 + TRACE  # a 128-bit trace whose lower half is TRACE: another trace


def span(n: int) -> str:
    return f"{n:016x}"


# (partition, headers) of the trace's records: every convention, both cases, both topics
MEMBERS = [
    (0, [("b3", f"{TRACE}-{span(1)}-1")]),  # B3 single only
    (1, [("traceparent", f"00-{PADDED}-{span(2)}-01")]),  # W3C only
    (2, [("b3", f"{TRACE}-{span(3)}-1"), ("traceparent", f"00-{PADDED}-{span(3)}-01")]),
    (0, [("uber-trace-id", f"{TRACE.lstrip('0')}:{span(4)}:0:1")]),  # Jaeger, short id
    (1, [("traceparent", f"00-{PADDED.upper()}-{span(5).upper()}-01")]),  # upper case W3C
    (2, [("X-B3-TraceId", TRACE.upper()), ("X-B3-SpanId", span(6))]),  # B3 multi, upper
    (0, [("b3", f"{TRACE.upper()}-{span(7)}-1")]),  # B3 single, upper case
]
CONTROLS = [
    (1, [("b3", f"{OTHER}-{span(8)}-1")]),
    (2, [("traceparent", f"00-{'0' * 16}{OTHER}-{span(9)}-01")]),
    (0, [("traceparent", f"00-{HIGH}-{span(10)}-01")]),
    (1, [("event-id", "order-flow-a1b2c3d4"), ("correlation-id", "order-flow-a1b2c3d4")]),
    (2, [("event-id", "pay-1"), ("causation-id", "order-flow-a1b2c3d4")]),
    (0, [("event-id", "order-flow-a1b2c3d4-retry")]),
    (1, [("event-id", "order-flow-a1b9e8f7"), ("correlation-id", "order-flow-a1b9e8f7")]),
    (2, [("event-id", "unrelated"), ("correlation-id", "nothing-to-do-with-it")]),
]


@pytest.fixture
def topics(new_topic, produce):
    """Two topics of 3 partitions; returns them and {ref: index in MEMBERS or None}."""
    names = [new_topic(partitions=3, suffix="a"), new_topic(partitions=3, suffix="b")]
    refs: dict[str, int | None] = {}
    records = [(i, p, h) for i, (p, h) in enumerate(MEMBERS)]
    records += [(None, p, h) for p, h in CONTROLS]
    for n, (member, partition, headers) in enumerate(records):
        topic = names[n % 2]
        encoded = [(name, value.encode()) for name, value in headers]
        value = json.dumps({"n": n}).encode()
        [(p, offset)] = produce(
            topic, [{"key": b"k", "value": value, "headers": encoded, "partition": partition}]
        )
        refs[f"{topic}[{p}]@{offset}"] = member
    return names, refs


def trace(evtui_cli, bootstrap: str, names: list[str], wanted: str, *extra: str):
    return evtui_cli(
        "trace", wanted, *names, "-b", bootstrap, "--from", "beginning", "--format", "json",
        *extra,
    )  # fmt: skip


def members(refs: dict[str, int | None]) -> set[str]:
    return {ref for ref, member in refs.items() if member is not None}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_every_form_of_a_64_bit_trace_id_finds_every_record_of_the_trace(
    evtui_cli, kafka_bootstrap, topics, jobs
):
    names, refs = topics
    for wanted in (TRACE, PADDED, TRACE.upper(), PADDED.upper()):
        done = trace(evtui_cli, kafka_bootstrap, names, wanted, "--jobs", jobs)
        assert done.returncode == 0, (wanted, done.stderr.decode())
        result = json.loads(done.stdout)
        assert {e["ref"] for e in result["events"]} == members(refs), wanted
        assert {e["trace_id"] for e in result["events"]} == {PADDED}  # compared canonical
        assert result["correlation_id"] == wanted  # the id as searched
        if jobs == "2":
            assert " in 2 processes " in done.stderr.decode()


def test_a_unique_prefix_is_the_whole_id_and_a_whole_id_wins(evtui_cli, kafka_bootstrap, topics):
    names, refs = topics
    for prefix in ("056280946", "0562809467078EA", "00000000000000000562809467"):
        done = trace(evtui_cli, kafka_bootstrap, names, prefix, "--jobs", "2")
        assert done.returncode == 0, (prefix, done.stderr.decode())
        result = json.loads(done.stdout)
        assert {e["ref"] for e in result["events"]} == members(refs), prefix
        assert result["correlation_id"] == PADDED
        assert f"it is the start of {TRACE} alone" in done.stderr.decode()
        assert " in 2 processes " in done.stderr.decode()  # the workers gather candidates too
    done = trace(evtui_cli, kafka_bootstrap, names, "order-flow-a1b9…")  # as a cut column shows
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["correlation_id"] == "order-flow-a1b9e8f7"
    assert [e["event_id"] for e in result["events"]] == ["order-flow-a1b9e8f7"]
    # the whole id wins over being the start of order-flow-a1b2c3d4-retry
    done = trace(evtui_cli, kafka_bootstrap, names, "order-flow-a1b2c3d4")
    assert done.returncode == 0, done.stderr.decode()
    flow = {e["event_id"] for e in json.loads(done.stdout)["events"]}
    assert flow == {"order-flow-a1b2c3d4", "pay-1"}
    assert "start of" not in done.stderr.decode()


def test_an_ambiguous_prefix_names_the_ids_in_one_line(evtui_cli, kafka_bootstrap, topics):
    names, _ = topics
    for prefix, expected in (
        ("05628094", {TRACE, OTHER}),
        ("order-flow-a1b", {"order-flow-a1b2c3d4", "order-flow-a1b2c3d4-retry",
                            "order-flow-a1b9e8f7"}),
    ):  # fmt: skip
        done = trace(evtui_cli, kafka_bootstrap, names, prefix, "--jobs", "2")
        assert done.returncode == 2, done.stderr.decode()
        err = done.stderr.decode()
        assert "Traceback" not in err and done.stdout == b""
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"evtui: error: '{prefix}' is the start of {len(expected)} ids: ")
        assert last.endswith("; give more of the id")
        listed = last.split(" ids: ", 1)[1].removesuffix("; give more of the id").split(", ")
        assert set(listed) == expected


def test_a_short_id_is_matched_whole(evtui_cli, kafka_bootstrap, topics):
    names, _ = topics
    done = trace(evtui_cli, kafka_bootstrap, names, "order-f")  # 7 characters
    assert done.returncode == 1
    err = done.stderr.decode()
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "evtui: error: no events found for 'order-f' "
        "(an id shorter than 8 characters is matched whole)"
    )
