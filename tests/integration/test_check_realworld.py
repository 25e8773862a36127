"""``evtui check`` on data it did not write (issue 14), on the real broker: exactly the planted
findings and nothing else, with the defaults a new user runs.

The generator is ``tests/integration/realworld.py``. Before issue 14 these cases gave 320
false warnings against 4 true ones (orphans judged before every partition was read, keyless
records and schema versions checked as sequences, numeric times ignored, a duplicate named
at its first copy).
"""

from __future__ import annotations

import json

import pytest

from tests.integration import realworld
from tests.integration.realworld import Case

pytestmark = pytest.mark.kafka


def check(run, bootstrap: str, case: Case, *extra: str) -> tuple[int, dict, str]:
    done = run("check", *case.args, "-b", bootstrap, "-F", "json", *extra)
    assert done.returncode in (0, 1), done.stderr.decode()
    return done.returncode, json.loads(done.stdout), done.stderr.decode()


def assert_exact(run, bootstrap: str, case: Case) -> dict:
    code, report, err = check(run, bootstrap, case)
    assert realworld.warnings(report) == case.truth, err
    assert code == (1 if case.truth else 0)
    assert report["scanned"] == case.written
    for topic, name in case.fields.items():
        assert report["sequence_fields"][topic] == name, report["sequence_fields"]
    return report


def test_causes_on_a_topic_read_later_in_either_order_and_not_read_at_all(
    evtui_cli, kafka_bootstrap, new_topic
):
    a, b, truth, count = realworld.cross_topic(kafka_bootstrap, new_topic)
    for args in ([a, b], [b, a]):
        assert_exact(evtui_cli, kafka_bootstrap, Case("read later", args, truth, count))
    only_a = Case("A only", [a], [], count - 30)
    report = assert_exact(evtui_cli, kafka_bootstrap, only_a)
    # 30 payments name orders (not read), and the planted one: not judged, and said so
    assert report["not_judged"]["orphans_cause_outside_topics_read"] == 31
    _, strict, _ = check(evtui_cli, kafka_bootstrap, only_a, "--strict-orphans")
    assert [v["kind"] for v in strict["violations"]] == ["orphan"] * 31


def test_a_cause_in_a_partition_read_later_and_a_duplicate_across_partitions(
    evtui_cli, kafka_bootstrap, new_topic
):
    case = realworld.cause_in_another_partition(kafka_bootstrap, new_topic)
    assert_exact(evtui_cli, kafka_bootstrap, case)


def test_keyless_records_are_no_sequence(evtui_cli, kafka_bootstrap, new_topic):
    assert_exact(evtui_cli, kafka_bootstrap, realworld.keyless(kafka_bootstrap, new_topic))


def test_a_schema_version_is_no_sequence_an_aggregate_version_is(
    evtui_cli, kafka_bootstrap, new_topic
):
    case = realworld.schema_versions(kafka_bootstrap, new_topic)
    assert_exact(evtui_cli, kafka_bootstrap, case)
    _, _, err = check(evtui_cli, kafka_bootstrap, case)
    assert f"no sequence check on {case.args[0]}" in err
    assert f"{case.args[1]}: version" in err


def test_numeric_epoch_times_in_seconds_milliseconds_and_microseconds(
    evtui_cli, kafka_bootstrap, new_topic
):
    assert_exact(evtui_cli, kafka_bootstrap, realworld.numeric_times(kafka_bootstrap, new_topic))


def test_several_producers_and_spans_of_other_tracers_raise_nothing(
    evtui_cli, kafka_bootstrap, new_topic
):
    case = realworld.several_producers(kafka_bootstrap, new_topic)
    assert_exact(evtui_cli, kafka_bootstrap, case)
