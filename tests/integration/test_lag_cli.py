"""``evtui lag`` on the real broker: exact offsets, json shape, thresholds, bad input."""

from __future__ import annotations

import json
import time
import uuid

import pytest

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def lag_setup(kafka_bootstrap):
    """A topic with 50 records per partition and groups that committed known offsets."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    prefix = f"lagc-{uuid.uuid4().hex[:6]}"
    topic = f"{prefix}-t"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(100):
        producer.produce(topic, f"v{i}".encode(), partition=i % 2)
    assert producer.flush(30) == 0
    commits = {f"{prefix}-done": {0: 50, 1: 50}, f"{prefix}-behind": {0: 10, 1: 30}}
    for group, offsets in commits.items():
        consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group})
        consumer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False
        )
        consumer.close()
    # a live member that owns both partitions and has committed nothing
    member = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"{prefix}-fresh",
            "enable.auto.commit": False,
            "client.id": "fresh-client",
        }
    )
    member.subscribe([topic])
    deadline = time.monotonic() + 30
    while not member.assignment() and time.monotonic() < deadline:
        member.poll(0.2)
    assert member.assignment()
    yield prefix, topic, commits
    member.close()


def topic_with_group(bootstrap: str, topic: str, records: int, group: str, offset: int):
    """A one-partition topic of ``records`` records, and ``group`` committed at ``offset``."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(records):
        producer.produce(topic, f"r{i}".encode())
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    consumer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    consumer.close()
    return admin


def lag_json(evtui_cli, bootstrap: str, *args: str) -> tuple[dict, object]:
    done = evtui_cli("lag", "-b", bootstrap, "-F", "json", "--window", "1m", *args)
    assert done.returncode in (0, 2), done.stderr.decode()
    return json.loads(done.stdout), done


def test_offset_lag_is_exact_and_json_has_the_documented_shape(
    evtui_cli, kafka_bootstrap, lag_setup
):
    prefix, topic, commits = lag_setup
    data, _ = lag_json(evtui_cli, kafka_bootstrap, "--group", f"^{prefix}-(done|behind)$")
    groups = {g["group"]: g for g in data["groups"]}
    assert set(groups) == set(commits)
    for name, offsets in commits.items():
        group = groups[name]
        assert set(group) == {"group", "state", "status", "members", "lag", "time_lag_s",
                              "eta_s", "partitions"}  # fmt: skip
        assert group["state"] == "Empty" and group["members"] == 0
        parts = {p["partition"]: p for p in group["partitions"]}
        assert {p: parts[p]["committed"] for p in parts} == offsets
        assert all(parts[p]["end"] == 50 for p in parts)
        assert {p: parts[p]["lag"] for p in parts} == {p: 50 - o for p, o in offsets.items()}
        assert group["lag"] == sum(50 - o for o in offsets.values())
        for part in parts.values():
            assert set(part) == {"topic", "partition", "committed", "end", "lag", "time_lag_s",
                                 "time_lag_kind", "status", "member"}  # fmt: skip
            assert part["topic"] == topic
    done = groups[f"{prefix}-done"]
    # caught up, and nobody consuming: idle, with no ETA (an empty group makes no progress)
    assert done["status"] == "idle" and done["time_lag_s"] == 0 and done["eta_s"] is None


def test_partitions_without_a_committed_offset_are_shown_as_such(
    evtui_cli, kafka_bootstrap, lag_setup
):
    prefix, topic, _ = lag_setup
    data, _ = lag_json(evtui_cli, kafka_bootstrap, "--group", f"{prefix}-fresh")
    (group,) = data["groups"]
    assert group["members"] == 1 and group["state"] == "Stable"
    assert group["lag"] is None
    assert sorted((p["topic"], p["partition"]) for p in group["partitions"]) == [
        (topic, 0),
        (topic, 1),
    ]
    for part in group["partitions"]:
        assert part["committed"] is None and part["lag"] is None
        assert part["status"] == "unknown"
        assert part["member"].startswith("fresh-client@")
    table = evtui_cli("lag", "-b", kafka_bootstrap, "--group", f"{prefix}-fresh").stdout.decode()
    assert "no offset" in table


def test_thresholds_exit_2_and_say_why(evtui_cli, kafka_bootstrap, lag_setup):
    prefix, _, _ = lag_setup
    behind = f"{prefix}-behind"  # lag 40 + 20
    over = evtui_cli("lag", "-b", kafka_bootstrap, "-g", behind, "--fail-on-lag", "59")
    assert over.returncode == 2
    assert over.stderr.decode().strip().splitlines()[-1] == (
        f"evtui: error: threshold crossed: group {behind} lag 60 > 59"
    )
    assert behind in over.stdout.decode()  # the report is printed all the same
    assert (
        evtui_cli("lag", "-b", kafka_bootstrap, "-g", behind, "--fail-on-lag", "60").returncode == 0
    )
    old = evtui_cli(
        "lag", "-b", kafka_bootstrap, "-g", behind, "--exact", "--fail-on-time", "1ms", "-F", "json"
    )
    assert old.returncode == 2, old.stderr.decode()
    parts = json.loads(old.stdout)["groups"][0]["partitions"]
    assert all(p["time_lag_kind"] == "exact" and p["time_lag_s"] > 0 for p in parts)
    fine = evtui_cli("lag", "-b", kafka_bootstrap, "-g", behind, "--fail-on-time", "1h")
    assert fine.returncode == 0


def test_bad_input_is_one_line(evtui_cli, kafka_bootstrap, lag_setup):
    cases = [
        (["lag", "-b", kafka_bootstrap, "-g", "no-such-group-xyz"], 1, "no consumer group matches"),
        (["lag", "-b", kafka_bootstrap, "--window", "soon"], 2, "invalid --window"),
        (["lag", "-b", kafka_bootstrap, "-F", "xml"], 2, "invalid --format"),
        (["lag", "-b", "127.0.0.1:1", "--timeout", "2"], None, "127.0.0.1:1"),
    ]
    for args, code, text in cases:
        done = evtui_cli(*args)
        err = done.stderr.decode().strip().splitlines()
        assert done.returncode != 0 and (code is None or done.returncode == code), (args, err)
        assert len(err) == 1 and text in err[0] and "Traceback" not in err[0], (args, err)


def test_evtui_lag_creates_and_changes_no_group(evtui_cli, kafka_bootstrap, lag_setup):
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient

    prefix, _, _ = lag_setup
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})

    def state() -> dict:
        names = sorted(g.group_id for g in admin.list_consumer_groups().result().valid)
        offsets = {}
        for name in names:
            if name.startswith(prefix):
                request = [ConsumerGroupTopicPartitions(name)]
                found = admin.list_consumer_group_offsets(request)[name].result()
                offsets[name] = sorted(
                    (t.topic, t.partition, t.offset) for t in found.topic_partitions
                )
        return {"names": names, "offsets": offsets}

    before = state()
    assert evtui_cli("lag", "-b", kafka_bootstrap, "--exact").returncode == 0
    assert state() == before


def test_a_deleted_topic_and_a_vanishing_group_leave_the_rest_intact(kafka_bootstrap, lag_setup):
    """Groups and topics that go away under a running --watch: said in place, nothing breaks."""
    import signal
    import subprocess
    import sys

    prefix, _, commits = lag_setup
    doomed_topic, doomed_group = f"{prefix}-doomed", f"{prefix}-z-doomed"
    admin = topic_with_group(kafka_bootstrap, doomed_topic, 20, doomed_group, 5)

    watch = subprocess.Popen(
        [sys.executable, "-m", "evtui", "lag", "-b", kafka_bootstrap, "-g", f"^{prefix}-",
         "--watch", "--interval", "1", "-F", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        first = json.loads(watch.stdout.readline())
        assert doomed_group in {g["group"] for g in first["groups"]}
        admin.delete_topics([doomed_topic])[doomed_topic].result(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the topic is gone: said in place, or forgotten
            report = json.loads(watch.stdout.readline())
            group = next(g for g in report["groups"] if g["group"] == doomed_group)
            parts = [p for p in group["partitions"] if p["topic"] == doomed_topic]
            if not parts or parts[0]["lag"] is None:
                break
        else:
            pytest.fail("the deleted topic still has a lag")
        assert all(p["status"] == "unknown" and p["end"] == 0 for p in parts)
        admin.delete_consumer_groups([doomed_group])[doomed_group].result(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            report = json.loads(watch.stdout.readline())
            if doomed_group not in {g["group"] for g in report["groups"]}:
                break
        else:
            pytest.fail("the deleted group is still reported")
        groups = {g["group"]: g for g in report["groups"]}
        for name, offsets in commits.items():  # the others, unchanged
            assert {p["partition"]: p["committed"] for p in groups[name]["partitions"]} == offsets
    finally:
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=30)
    assert watch.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()


def test_offsets_below_the_log_start_are_said(evtui_cli, kafka_bootstrap, lag_setup):
    """Retention (here delete_records) removed what the group has not read yet."""
    from confluent_kafka import TopicPartition

    prefix, _, _ = lag_setup
    topic, group = f"{prefix}-trimmed", f"{prefix}-x-expired"
    admin = topic_with_group(kafka_bootstrap, topic, 50, group, 10)
    done = admin.delete_records([TopicPartition(topic, 0, 30)])
    for future in done.values():
        future.result(timeout=30)
    result = evtui_cli("lag", "-b", kafka_bootstrap, "-g", group, "-F", "json")
    assert result.returncode == 0, result.stderr.decode()
    (part,) = json.loads(result.stdout)["groups"][0]["partitions"]
    assert (part["committed"], part["end"], part["lag"]) == (10, 50, 40)
    assert "committed offset below the log start (20 records deleted)" in result.stderr.decode()
