"""One bad record never ends a run: it is counted, named in one line, and the run goes on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.kafka

DEPTH = 1_000
DEEP_OBJECT = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
DEEP_ARRAY = b"[" * DEPTH + b"]" * DEPTH


def hdr(**values: str) -> list[tuple[str, bytes]]:
    return [(name.replace("_", "-"), value.encode()) for name, value in values.items()]


def good_and_bad(corr: str) -> list[dict]:
    """A three-step transaction with a duplicate event, around values nested 1,000 deep."""
    return [
        {"key": b"o1", "value": b'{"step":1}', "headers": hdr(event_id="e1", correlation_id=corr)},
        {"key": b"o1", "value": DEEP_OBJECT},
        {"key": b"o1", "value": b'{"step":2}',
         "headers": hdr(event_id="e2", correlation_id=corr, causation_id="e1")},
        {"key": b"o2", "value": DEEP_ARRAY, "headers": hdr(correlation_id="other")},
        {"key": b"o1", "value": b'{"step":3}',
         "headers": hdr(event_id="e3", correlation_id=corr, causation_id="e2")},
        {"key": b"o1", "value": b'{"step":"again"}', "headers": hdr(event_id="e1")},
    ]  # fmt: skip


def problem_lines(stderr: bytes, command: str) -> list[str]:
    err = stderr.decode()
    assert "Traceback" not in err and "reading from Kafka failed" not in err, err
    return [ln for ln in err.splitlines() if "could not be" in ln and ln.startswith(command)]


@pytest.fixture
def bad_topic(new_topic, produce) -> str:
    topic = new_topic()
    produce(topic, good_and_bad("corr-bad-records"))
    return topic


def test_check_reports_a_deep_value_and_still_finds_the_violation(
    evtui_cli, kafka_bootstrap, bad_topic
):
    done = evtui_cli("check", bad_topic, "-b", kafka_bootstrap, "-F", "json")
    assert done.returncode == 1, done.stderr.decode()  # README: 1 = violations found
    report = json.loads(done.stdout)
    assert report["scanned"] == 6
    dups = [v for v in report["violations"] if v["kind"] == "duplicate_event"]
    assert [v["offset"] for v in dups] == [5]
    assert report["problems"]["count"] == 2
    assert [p["ref"] for p in report["problems"]["records"]] == [
        f"{bad_topic}/0/1",
        f"{bad_topic}/0/3",
    ]
    assert "nested deeper than 512 levels" in report["problems"]["records"][0]["reason"]
    (line,) = problem_lines(done.stderr, "evtui check: note: ")
    assert line.startswith("evtui check: note: 2 records could not be checked: ")
    assert f"{bad_topic}/0/1: JSON nested deeper than 512 levels" in line

    text = evtui_cli("check", bad_topic, "-b", kafka_bootstrap)
    assert text.returncode == 1
    assert "duplicate_event" in text.stdout.decode()
    assert len(problem_lines(text.stderr, "evtui check: note: ")) == 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_trace_reports_a_deep_value_and_still_finds_the_members(
    evtui_cli, kafka_bootstrap, new_topic, produce, jobs
):
    topic = new_topic(partitions=2)
    records = good_and_bad("corr-bad-trace")
    produce(topic, [{**r, "partition": i % 2} for i, r in enumerate(records)])
    done = evtui_cli(
        "trace", "corr-bad-trace", topic, "-b", kafka_bootstrap, "--from", "beginning",
        "--format", "json", "--jobs", jobs,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert {e["event_id"] for e in result["events"]} == {"e1", "e2", "e3"}
    assert result["problems"]["count"] == 2
    refs = sorted(p["ref"] for p in result["problems"]["records"])
    assert refs == [f"{topic}/1/0", f"{topic}/1/1"]
    (line,) = problem_lines(done.stderr, "evtui trace: note: ")
    assert line.startswith("evtui trace: note: 2 records could not be searched: ")
    assert "nested deeper than 512 levels" in line

    nothing = evtui_cli(
        "trace", "no-such-id", topic, "-b", kafka_bootstrap, "--from", "beginning", "--jobs", jobs
    )
    assert nothing.returncode == 1  # README: 1 = nothing found, problems or not
    assert nothing.stderr.decode().strip().splitlines()[-1] == (
        "evtui: error: no events found for 'no-such-id'"
    )
    assert len(problem_lines(nothing.stderr, "evtui trace: note: ")) == 1


def test_huge_and_malformed_records_pass_through_tail_check_and_trace(
    evtui_cli, kafka_bootstrap, new_topic, produce
):
    topic = new_topic(config={"max.message.bytes": "16000000"})
    many = [(f"h{i}", b"v") for i in range(10_000)]
    produce(topic, [
        {"key": b"k", "value": b'{"big":"' + b"x" * (10 * 1024 * 1024) + b'"}',
         "headers": hdr(event_id="big", correlation_id="corr-huge")},
        {"key": os.urandom(64), "value": os.urandom(1024), "headers": many},
        {"key": b"k", "value": b'{"correlationId":"corr-huge","eventId":"h1"',
         "headers": [("correlation-id", b"x" * (1024 * 1024)), ("event-id", None),
                     ("b3", b"\xff\xfe"), ("traceparent", b"00-" + b"f" * 100_000)]},
        {"key": None, "value": DEEP_OBJECT, "headers": [("seq", b"\x00" * 1024)]},
        {"key": b"k", "value": b'{"eventId":"\\ud800","n":NaN}', "headers": hdr(seq="1")},
        {"key": b"k", "value": b"[1," * 300 + b"1" + b"]" * 300,
         "headers": hdr(event_id="last", correlation_id="corr-huge", causation_id="big")},
    ])  # fmt: skip
    for fmt in ("text", "json"):
        tail = evtui_cli(
            "tail", topic, "-b", kafka_bootstrap, "--from", "beginning", "--until", "end",
            "--format", fmt, "--headers", timeout=120,
        )  # fmt: skip
        assert tail.returncode == 0, tail.stderr.decode()[-2000:]
        assert len(tail.stdout.decode().splitlines()) == 6
        assert "Traceback" not in tail.stderr.decode()
    rows = [json.loads(line) for line in tail.stdout.decode().splitlines()]
    assert "nested deeper than 512 levels" in rows[3]["decode_error"]
    assert "lone UTF-16 surrogate" in rows[4]["decode_error"]
    assert rows[5]["value_format"] == "json" and rows[5]["decode_error"] is None

    check = evtui_cli("check", topic, "-b", kafka_bootstrap, "-F", "json", timeout=120)
    assert check.returncode == 0, check.stderr.decode()[-2000:]
    assert json.loads(check.stdout)["scanned"] == 6
    assert problem_lines(check.stderr, "evtui check: note: ")

    trace = evtui_cli(
        "trace", "corr-huge", topic, "-b", kafka_bootstrap, "--from", "beginning",
        "--format", "json", timeout=120,
    )  # fmt: skip
    assert trace.returncode == 0, trace.stderr.decode()[-2000:]
    assert sorted(e["event_id"] for e in json.loads(trace.stdout)["events"]) == ["big", "last"]


def test_a_header_name_that_is_not_utf8_loses_its_record_headers_not_the_run(
    evtui_cli, kafka_bootstrap, new_topic
):
    """The client cannot give such headers at all: the record is kept without them, and said."""
    if shutil.which("kcat") is None:
        pytest.fail("kcat is not installed (scripts/test installs it)")
    topic = new_topic()
    for headers in ([b"\xff\xfename=v", b"correlation-id=corr-names"],
                    [b"event-id=good", b"correlation-id=corr-names"]):  # fmt: skip
        args = [b"kcat", b"-P", b"-b", kafka_bootstrap.encode(), b"-t", topic.encode()]
        for header in headers:
            args += [b"-H", header]
        subprocess.run(args, input=b'{"a":1}\n', check=True, timeout=60)
    for fmt in ("text", "json"):
        tail = evtui_cli("tail", topic, "-b", kafka_bootstrap, "--from", "beginning",
                         "--until", "end", "--format", fmt, "--headers")  # fmt: skip
        assert tail.returncode == 0, tail.stderr.decode()
        assert len(tail.stdout.decode().splitlines()) == 2
        (warning,) = tail.stderr.decode().splitlines()
        assert warning == (
            f"evtui: warning: record {topic}/0/0: its headers could not be read (a header name "
            "is not UTF-8); it is shown without headers (so are others like it, not named)"
        )
    check = evtui_cli("check", topic, "-b", kafka_bootstrap)
    assert check.returncode == 0, check.stderr.decode()
    (line,) = problem_lines(check.stderr, "evtui check: note: ")
    assert line.endswith(f"1 record could not be checked: {topic}/0/0: its headers could not "
                         "be read (a header name is not UTF-8)")  # fmt: skip
    trace = evtui_cli("trace", "corr-names", topic, "-b", kafka_bootstrap, "--from", "beginning",
                      "-F", "json")  # fmt: skip
    assert trace.returncode == 0, trace.stderr.decode()
    assert [e["event_id"] for e in json.loads(trace.stdout)["events"]] == ["good"]
    assert json.loads(trace.stdout)["problems"]["count"] == 1
