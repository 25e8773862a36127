"""``evtui check`` on generated streams on the real broker: exactly what was injected.

The scenarios (``tests/integration/scenarios.py``) write clean streams, streams
with each kind of anomaly at known offsets, interleaved committed and aborted
transactions, a compacted topic the cleaner really compacted, and a producer
retrying without idempotence through a frozen broker (of its own); every
warning must be in the ground truth and every truth found.

Producer reordering proper (a later batch landing before an earlier one's
first copy) could not be provoked on one broker: a frozen broker times out
every request in flight, librdkafka drops the connection and sends them all
again in order, and ``min.insync.replicas`` above the replication factor is
not enforced (Kafka caps it), so no single request fails alone. What does
happen, every time, is the broker appending the timed-out originals as well:
copies that land behind newer versions.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from evtui.core.event import Event
from evtui.core.ordering import KINDS, Checker
from tests.conftest import own_broker
from tests.integration import scenarios
from tests.integration.kcat import kcat_records
from tests.integration.scenarios import Expected, Scenario

pytestmark = pytest.mark.kafka

SEQUENCE_KINDS = {"sequence_regression", "sequence_duplicate", "sequence_gap"}


def check(
    run, bootstrap: str, scenario: Scenario, *extra: str
) -> tuple[subprocess.CompletedProcess, dict]:
    done = run("check", scenario.topic, "-b", bootstrap, "-F", "json", *scenario.args, *extra)
    assert done.returncode in (0, 1), done.stderr.decode()
    return done, json.loads(done.stdout)


def warnings(report: dict) -> list[Expected]:
    return sorted(
        (v["kind"], f"{v['topic']}/{v['partition']}/{v['offset']}", v["key"])
        for v in report["violations"]
        if v["severity"] == "warning"
    )


@pytest.mark.parametrize("style", scenarios.STYLES)
def test_a_clean_stream_has_no_finding(style, evtui_cli, kafka_bootstrap, new_topic):
    scenario = scenarios.clean(kafka_bootstrap, new_topic, style)
    done, report = check(evtui_cli, kafka_bootstrap, scenario)
    assert done.returncode == 0, report["violations"][:3]
    assert report["violations"] == [] and report["scanned"] == scenario.written


@pytest.mark.parametrize("kind", list(scenarios.ANOMALIES))
def test_each_injected_anomaly_is_found_and_nothing_else(
    kind, evtui_cli, kafka_bootstrap, new_topic
):
    scenario = scenarios.ANOMALIES[kind](kafka_bootstrap, new_topic)
    injected = {k for k, _, _ in scenario.truth}
    assert (set(KINDS) - {"offset_gap"} if kind == "all" else {kind}) <= injected
    done, report = check(evtui_cli, kafka_bootstrap, scenario)
    assert done.returncode == 1 and report["scanned"] == scenario.written
    assert warnings(report) == scenario.truth
    assert set(report["summary"]) == injected  # no information either: one partition, no gaps
    if scenario.args:  # --seq-field meta.seq: without it, no sequence is seen
        _, blind = check(evtui_cli, kafka_bootstrap, Scenario(scenario.topic, []))
        assert warnings(blind) == [t for t in scenario.truth if t[0] not in SEQUENCE_KINDS]


def test_aborted_transactions_are_not_read_and_leave_only_offset_gaps(
    evtui_cli, kafka_bootstrap, new_topic
):
    scenario = scenarios.transactional(kafka_bootstrap, new_topic)
    done, report = check(evtui_cli, kafka_bootstrap, scenario)
    assert done.returncode == 0, warnings(report)[:3]
    assert set(report["summary"]) == {"offset_gap"}  # markers and aborted records: information
    committed = scenarios.kcat_offsets(kafka_bootstrap, scenario.topic)
    assert report["scanned"] == scenario.written == len(committed)
    # the aborted records are there: read uncommitted, each one's rewrite is a duplicate
    everything = scenarios.kcat_offsets(kafka_bootstrap, scenario.topic, committed=False)
    assert len(everything) == scenario.written + len(scenario.resent) and scenario.resent
    _, dirty = check(evtui_cli, kafka_bootstrap, scenario, "-X", "isolation.level=read_uncommitted")
    resent = sorted(r for k, r, _ in warnings(dirty) if k == "duplicate_event")
    assert resent == sorted(scenario.resent)


def test_a_compacted_topic_raises_no_false_alarm(evtui_cli, kafka_bootstrap, new_topic):
    scenario = scenarios.compacted(kafka_bootstrap, new_topic)
    records = kcat_records(kafka_bootstrap, scenario.topic)
    assert len(records) < scenario.written // 10  # the cleaner removed old versions
    done, report = check(evtui_cli, kafka_bootstrap, scenario)
    assert done.returncode == 1
    assert warnings(report) == scenario.truth  # the one real gap, in the active segment
    assert "may have been compacted away" in done.stderr.decode()
    # the same records judged as if the topic were not compacted: false alarms
    blind = Checker()
    for partition, offset, key, value in records:
        blind.offer(Event(scenario.topic, partition, offset, 0, 1, key, value))
    false_alarms = {f.kind for f in blind.finish()} - {k for k, _, _ in scenario.truth}
    assert {"orphan", "sequence_regression"} <= false_alarms


def test_a_producer_retrying_without_idempotence_is_caught_exactly(evtui_cli, tmp_path):
    """Real retries on a broker of its own, frozen for 2 s: copies land behind newer records."""
    from confluent_kafka.admin import AdminClient, NewTopic

    with own_broker(tmp_path / "kafka", 19492) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        topic = f"redelivery-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        pid = int((Path(broker.env["EVTUI_KAFKA_HOME"]) / "broker.pid").read_text())
        scenario = scenarios.redelivery(broker.bootstrap, topic, pid)
        kinds = {k for k, _, _ in scenario.truth}
        assert {"duplicate_event", "sequence_regression"} <= kinds, "no copy landed behind"
        done, report = check(evtui_cli, broker.bootstrap, scenario)
    assert done.returncode == 1 and report["scanned"] == scenario.written
    assert warnings(report) == scenario.truth
