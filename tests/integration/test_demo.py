"""``evtui demo`` on the real broker: read back exactly what the ground truth says."""

from __future__ import annotations

import base64
import json
import uuid
from collections import defaultdict

import pytest

from evtui.sim.model import Headers
from tests.unit.test_sim import ids

pytestmark = pytest.mark.kafka

TOPICS = ("orders", "payments", "inventory", "shipments", "notifications")
FAULTS = [
    "--fault",
    "out_of_order=0.05",
    "--fault",
    "duplicate=0.05",
    "--fault",
    "orphan=0.08",
    "--fault",
    "cause_after_effect=0.08",
    "--fault",
    "time_backwards=0.1",
]


class Rec:
    """A record read back through ``evtui tail --raw``, shaped like a SimRecord for ids()."""

    def __init__(self, row: dict) -> None:
        self.topic = row["topic"]
        self.partition = row["partition"]
        self.offset = row["offset"]
        self.timestamp = row["timestamp"]
        self.key = base64.b64decode(row["key"])
        self.value = base64.b64decode(row["value"])
        self.headers: Headers = tuple((n, base64.b64decode(v)) for n, v in row["headers"])


def run_demo(evtui_cli, bootstrap, tmp_path, prefix, seed=7, *extra):
    truth = tmp_path / f"{prefix}truth.json"
    proc = evtui_cli(
        "demo",
        "--headless",
        "-b",
        bootstrap,
        "--duration",
        "6s",
        "--rate",
        "250",
        "--seed",
        str(seed),
        "--partitions",
        "2",
        "--topic-prefix",
        prefix,
        "--truth",
        str(truth),
        *FAULTS,
        *extra,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    rows = []
    for topic in TOPICS:
        out = evtui_cli(
            "tail",
            prefix + topic,
            "-b",
            bootstrap,
            "--from",
            "beginning",
            "--until",
            "end",
            "--format",
            "json",
            "--raw",
        )
        assert out.returncode == 0, out.stderr.decode()
        rows += [Rec(json.loads(line)) for line in out.stdout.decode().splitlines()]
    return json.loads(truth.read_text()), rows


@pytest.fixture
def prefix(admin):
    p = f"demo-{uuid.uuid4().hex[:6]}-"
    yield p
    admin.delete_topics([p + t for t in TOPICS])


def test_headless_demo_matches_ground_truth(kafka_bootstrap, evtui_cli, tmp_path, prefix, admin):
    truth, rows = run_demo(evtui_cli, kafka_bootstrap, tmp_path, prefix)
    assert len(rows) == truth["emitted"] > 1000

    # every event is on its topic, with the ids the truth says, in its convention
    seen = defaultdict(list)
    for r in rows:
        event_id, corr, cause = ids(r)
        seen[event_id].append(r)
        expected = truth["events"][event_id]
        assert (
            prefix + expected["topic"].removeprefix(prefix),
            expected["correlation_id"],
            expected["causation_id"],
        ) == (r.topic, corr, cause)
        assert r.key.decode() == expected["key"]
    for corr, event_ids in truth["flows"].items():
        for event_id in event_ids:
            assert event_id in seen, f"flow {corr} lost {event_id}"

    faults = defaultdict(list)
    for f in truth["faults"]:
        faults[f["kind"]].append(f["event_ids"])
    assert set(faults) == {
        "out_of_order",
        "duplicate",
        "orphan",
        "cause_after_effect",
        "time_backwards",
    }
    # duplicates: the same event at two offsets, byte for byte
    for (event_id,) in faults["duplicate"]:
        first, second = seen[event_id]
        assert (first.value, first.headers) == (second.value, second.headers)
        assert first.offset != second.offset
    # out of order: the later version sits at the earlier offset of the same partition
    for late_id, early_id in faults["out_of_order"]:
        late, early = seen[late_id][0], seen[early_id][0]
        assert late.partition == early.partition and late.offset < early.offset
        assert json.loads(late.value)["version"] == json.loads(early.value)["version"] + 1
    # orphans: the named cause never reaches any topic
    for _effect, missing in faults["orphan"]:
        assert missing not in seen
    # effects produced before their causes
    for effect_id, cause_id in faults["cause_after_effect"]:
        assert seen[effect_id][0].timestamp <= seen[cause_id][0].timestamp

    # the services' groups committed: the normal ones kept up, shipping (slow for its first
    # 10 s) fell behind, notification stopped halfway through the 6 s
    lag = {
        group: group_lag(kafka_bootstrap, admin, group, [prefix + t for t in topics])
        for group, topics in [
            ("inventory-service", ("orders", "payments")),
            ("payment-service", ("inventory",)),
            ("shipping-service", ("payments",)),
            ("notification-service", ("orders",)),
        ]
    }
    for group in ("inventory-service", "payment-service"):
        assert lag[group][0] <= 0.1 * lag[group][1], (group, lag)
    for group in ("shipping-service", "notification-service"):
        assert lag[group][0] >= 0.3 * lag[group][1], (group, lag)


def group_lag(bootstrap, admin, group, topics):
    """(lag, sum of end offsets) of a group over its topics."""
    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition

    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-probe"})
    try:
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in probe.list_topics(t, timeout=10).topics[t].partitions
        ]
        ends = {
            (tp.topic, tp.partition): probe.get_watermark_offsets(tp, timeout=10)[1] for tp in tps
        }
    finally:
        probe.close()
    request = [ConsumerGroupTopicPartitions(group, tps)]
    result = admin.list_consumer_group_offsets(request)[group].result(timeout=30)
    committed = {(tp.topic, tp.partition): max(tp.offset, 0) for tp in result.topic_partitions}
    return sum(end - committed.get(tp, 0) for tp, end in ends.items()), sum(ends.values())


def test_same_seed_same_flows_on_the_cluster(kafka_bootstrap, evtui_cli, tmp_path, admin):
    """The same seed and run id: the same ids (without --run-id each run picks its own)."""
    a, b = f"demo-{uuid.uuid4().hex[:6]}-", f"demo-{uuid.uuid4().hex[:6]}-"
    try:
        truth_a, _ = run_demo(evtui_cli, kafka_bootstrap, tmp_path, a, 11, "--run-id", "r1")
        truth_b, _ = run_demo(evtui_cli, kafka_bootstrap, tmp_path, b, 11, "--run-id", "r1")
    finally:
        admin.delete_topics([p + t for p in (a, b) for t in TOPICS])
    assert truth_a["flows"] == truth_b["flows"]

    def faults(truth, prefix):
        return [{**f, "topic": f["topic"].removeprefix(prefix)} for f in truth["faults"]]

    assert faults(truth_a, a) == faults(truth_b, b)
    assert len(truth_a["faults"]) >= 5


def test_existing_topic_with_other_partition_count(kafka_bootstrap, evtui_cli, prefix, admin):
    from confluent_kafka.admin import NewTopic

    admin.create_topics([NewTopic(prefix + "orders", 5, 1)])[prefix + "orders"].result(timeout=30)
    proc = evtui_cli(
        "demo",
        "--headless",
        "-b",
        kafka_bootstrap,
        "--duration",
        "2s",
        "--topic-prefix",
        prefix,
        "--partitions",
        "2",
    )
    err = proc.stderr.decode().strip()
    assert proc.returncode == 1 and "Traceback" not in err
    assert err == (
        f"evtui: error: topic '{prefix}orders' exists with 5 partition(s), the demo "
        "uses 2: pass --partitions 5 or other topic names (--topic-prefix)"
    )


def test_demo_against_unreachable_cluster(evtui_cli):
    proc = evtui_cli("demo", "--headless", "-b", "127.0.0.1:1", "--timeout", "2")
    assert proc.returncode == 1
    assert proc.stderr.decode().startswith("evtui: error: cannot reach Kafka at 127.0.0.1:1")


def test_ctrl_c_stops_the_cluster_demo_cleanly(kafka_bootstrap, prefix):
    """Ctrl-C while the demo produces: exit 130, the summary of what was produced, no
    traceback. Waits for the demo to say it created its topics (it produces from then
    on), never for a time; the deadline only guards against a hang."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "evtui", "demo", "--headless", "-b", kafka_bootstrap,
         "--topic-prefix", prefix, "--partitions", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert "created topics" in first, first
    proc.send_signal(signal.SIGINT)
    err = first + proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "evtui demo: run" in err  # the summary of what was produced


def test_in_process_demo_prints_the_stream(evtui_cli):
    proc = evtui_cli("demo", "--duration", "1s", "--seed", "3", "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(rows) > 20
    assert {r["topic"] for r in rows} <= set(TOPICS)
    assert rows[0]["value"]["type"] == "OrderPlaced"
    assert proc.stderr.decode().startswith("evtui demo: ")


def test_live_demo_on_the_cluster_shows_every_record(kafka_bootstrap, evtui_cli, tmp_path, prefix):
    truth = tmp_path / "truth.json"
    proc = evtui_cli(
        "demo",
        "-b",
        kafka_bootstrap,
        "--duration",
        "3s",
        "--rate",
        "100",
        "--topic-prefix",
        prefix,
        "--format",
        "json",
        "--truth",
        str(truth),
    )
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(rows) == json.loads(truth.read_text())["emitted"] > 100
    assert {r["topic"] for r in rows} == {prefix + t for t in TOPICS}


def test_in_process_demo_shows_every_record(evtui_cli, tmp_path):
    truth = tmp_path / "truth.json"
    proc = evtui_cli("demo", "--duration", "2s", "--rate", "200", "--truth", str(truth))
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(proc.stdout.splitlines()) == json.loads(truth.read_text())["emitted"] > 200


CHECK_KINDS = {
    "sequence_regression": "out_of_order",
    "duplicate_event": "duplicate",
    "event_time_regression": "time_backwards",
    "causal_inversion": "cause_after_effect",
    "orphan": "orphan",
}


def planted(truth: dict) -> list[tuple[str, str]]:
    """(kind, the event id evtui check names) of each fault a run injected."""
    return [
        (f["kind"], f["event_ids"][-1] if f["kind"] == "out_of_order" else f["event_ids"][0])
        for f in truth["faults"]
    ]


def test_two_runs_with_one_seed_on_the_same_topics_add_only_their_own_faults(
    kafka_bootstrap, evtui_cli, tmp_path, prefix
):
    """Ids, keys and per-key sequences are the run's own: run twice, check finds both truths."""
    runs = []
    for name in ("first", "second"):
        truth = tmp_path / f"{name}.json"
        proc = evtui_cli(
            "demo", "--headless", "-b", kafka_bootstrap, "--duration", "4s", "--rate", "250",
            "--seed", "5", "--partitions", "2", "--topic-prefix", prefix, "--group-prefix",
            prefix, "--truth", str(truth), *FAULTS, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode()
        runs.append(json.loads(truth.read_text()))
    first, second = runs
    assert not set(first["events"]) & set(second["events"])
    assert not set(first["flows"]) & set(second["flows"])
    keys = {e["key"] for e in first["events"].values()}
    assert not keys & {e["key"] for e in second["events"].values()}
    # the same seed: the same flows and faults, in another namespace
    assert [len(f) for f in first["flows"].values()] == [len(f) for f in second["flows"].values()]
    assert [f["kind"] for f in first["faults"]] == [f["kind"] for f in second["faults"]]

    done = evtui_cli("check", f"^{prefix}", "-b", kafka_bootstrap, "-F", "json", timeout=120)
    assert done.returncode == 1, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["scanned"] == first["emitted"] + second["emitted"]
    refs = {}
    for topic in TOPICS:
        out = evtui_cli("tail", prefix + topic, "-b", kafka_bootstrap, "--from", "beginning",
                        "--until", "end", "--format", "json", "--raw")  # fmt: skip
        for line in out.stdout.decode().splitlines():
            r = Rec(json.loads(line))
            refs[f"{r.topic}/{r.partition}/{r.offset}"] = ids(r)[0]
    warnings = [v for v in report["violations"] if v["severity"] == "warning"]
    got = sorted((CHECK_KINDS[v["kind"]], refs[v["refs"][-1]]) for v in warnings)
    expected = sorted(planted(first) + planted(second))
    assert len(expected) >= 20 and got == expected
