"""``evtui replay`` on the real broker: plans, exact copies, guards, exactly-once resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from evtui.core.replay import PROVENANCE, read_provenance

pytestmark = pytest.mark.kafka
# An hour ago: records older than the topic's retention (7 days) are deleted by the
# broker's retention check at any moment, even from the active segment.
T0 = (int(time.time()) - 3600) * 1000


def read_all(bootstrap: str, topic: str, **conf: str) -> list:
    """Every record of ``topic`` (read_committed), with headers, as Events."""
    from evtui.config import ClientConfig
    from evtui.core.positions import BEGINNING, END
    from evtui.sources.kafka import KafkaSource

    config = ClientConfig({"bootstrap.servers": bootstrap, **conf})
    source = KafkaSource(config, [topic], BEGINNING, END).open()
    events = []
    source.read_inline(lambda batch: events.extend(batch) or True)
    source.stop()
    return sorted(events, key=lambda e: (e.partition, e.offset))


def records(n: int, partitions: int = 3) -> list[dict]:
    """Binary-safe records: a null key, a tombstone, repeated and null headers, non-UTF-8."""
    out = []
    for i in range(n):
        out.append(
            {
                "key": None if i % 17 == 0 else f"k{i % 23}".encode(),
                "value": None if i % 29 == 5 else json.dumps({"n": i}).encode() + b"\xff\x00",
                "headers": [("h", str(i).encode()), ("h", b"again"), ("nul", None),
                            ("bin", bytes([i % 256, 0xFE]))],
                "partition": i % partitions,
                "timestamp": T0 + i * 10,
            }
        )  # fmt: skip
    return out


def payload(event) -> tuple:
    """What must survive a copy byte for byte (the provenance headers left out)."""
    headers = tuple((k, v) for k, v in event.headers if k not in PROVENANCE)
    return (event.key, event.value, headers)


def test_the_plan_counts_with_the_filter_and_writes_nothing(
    evtui_cli, kafka_bootstrap, new_topic, produce
):
    source, target = new_topic(3), new_topic(3)
    produce(source, records(300))
    done = evtui_cli("replay", source, "--to", target, "-b", kafka_bootstrap, "-F", "json",
                     "--filter", 'key == "k1"', "--from", "10")  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    plan = json.loads(done.stdout)["plan"]
    expected = [r for r in records(300) if r["key"] == b"k1"]
    by_partition: dict[int, int] = {}
    offsets: dict[int, int] = {}
    for r in records(300):
        offset = offsets.get(r["partition"], 0)
        offsets[r["partition"]] = offset + 1
        if r["key"] == b"k1" and offset >= 10:
            by_partition[r["partition"]] = by_partition.get(r["partition"], 0) + 1
    assert plan["records"] == sum(by_partition.values()) and len(expected) > plan["records"] > 0
    assert {s["partition"]: s["records"] for s in plan["slices"]} == {
        p: by_partition.get(p, 0) for p in range(3)
    }
    assert all(s["start"] == 10 and s["stop"] == 100 for s in plan["slices"])
    assert plan["headers_added"] == list(PROVENANCE)
    assert read_all(kafka_bootstrap, target) == []
    assert "nothing was written" in done.stderr.decode()


def test_a_copy_is_byte_identical_with_provenance_partitions_and_timestamps(
    evtui_cli, kafka_bootstrap, new_topic, produce
):
    source, target = new_topic(3), new_topic(3)
    produce(source, records(500))
    done = evtui_cli("replay", source, "--to", target, "-b", kafka_bootstrap, "--execute",
                     "--keep-timestamps", "-F", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)["report"]
    assert (report["read"], report["written"], report["failed"]) == (500, 500, 0)
    original = read_all(kafka_bootstrap, source)
    copied = read_all(kafka_bootstrap, target)
    assert len(copied) == 500
    for before, after in zip(original, copied, strict=True):
        assert payload(after) == payload(before)
        assert (after.partition, after.offset, after.timestamp) == (
            before.partition, before.offset, before.timestamp
        )  # fmt: skip
        assert read_provenance(after.headers) == (
            report["replay_id"], source, before.partition, before.offset
        )  # fmt: skip


def test_a_filter_key_partitioning_and_new_timestamps(
    evtui_cli, kafka_bootstrap, new_topic, produce
):
    source, target = new_topic(3), new_topic(4)
    produce(source, records(300))
    started = int(time.time() * 1000)
    done = evtui_cli("replay", source, "--to", target, "-b", kafka_bootstrap, "--execute",
                     "--filter", "key != null", "--partitioning", "key")  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    copied = read_all(kafka_bootstrap, target)
    kept = [e for e in read_all(kafka_bootstrap, source) if e.key is not None]
    assert sorted(map(repr, map(payload, copied))) == sorted(map(repr, map(payload, kept)))
    partitions_of_key: dict[bytes, set[int]] = {}
    for event in copied:
        partitions_of_key.setdefault(event.key, set()).add(event.partition)
        assert event.timestamp >= started - 1000  # written now, not the source's time
    assert all(len(p) == 1 for p in partitions_of_key.values())  # a key stays together
    assert len({p for ps in partitions_of_key.values() for p in ps}) > 1
    # the Java client's partitioner (murmur2): the same partitions kcat -p -1 -X
    # partitioner=murmur2_random would choose; checked for one known key
    from confluent_kafka import Producer

    probe = Producer({"bootstrap.servers": kafka_bootstrap, "partitioner": "murmur2_random"})
    landed: list[int] = []
    probe.produce(
        target, key=b"k1", value=b"probe", on_delivery=lambda e, m: landed.append(m.partition())
    )
    probe.flush(10)
    assert partitions_of_key[b"k1"] == {landed[0]}


def test_round_robin_spreads_and_the_report_counts_what_was_filtered(
    evtui_cli, kafka_bootstrap, new_topic, produce
):
    source, target = new_topic(1), new_topic(3)
    produce(source, [{**r, "partition": 0} for r in records(90)])
    done = evtui_cli("replay", source, "--to", target, "-b", kafka_bootstrap, "--execute",
                     "--partitioning", "round-robin", "--filter", "offset < 60",
                     "-F", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)["report"]
    assert (report["read"], report["filtered_out"], report["written"]) == (90, 30, 60)
    counts = [0, 0, 0]
    for event in read_all(kafka_bootstrap, target):
        counts[event.partition] += 1
    assert counts == [20, 20, 20]


def test_guards_same_topic_missing_topic_partitions_and_bad_options(
    evtui_cli, kafka_bootstrap, new_topic, produce, admin
):
    source, small = new_topic(3), new_topic(1)
    produce(source, records(30))
    same = evtui_cli("replay", source, "--to", source, "-b", kafka_bootstrap, "--execute")
    assert same.returncode == 2 and b"into itself" in same.stderr
    missing = f"{source}-missing"
    absent = evtui_cli("replay", source, "--to", missing, "-b", kafka_bootstrap, "--execute")
    assert absent.returncode == 2 and b"--create-topic" in absent.stderr
    assert missing not in admin.list_topics(timeout=10).topics
    narrow = evtui_cli("replay", source, "--to", small, "-b", kafka_bootstrap, "--execute")
    assert narrow.returncode == 2 and b"needs 3 partitions" in narrow.stderr
    for args, words in (
        (["--rate", "0"], b"invalid --rate"),
        (["--partitions", "7"], b"no partition 7"),
        (["--partitioning", "hash"], b"invalid --partitioning"),
        (["--resume", "r-nope"], b"no replay 'r-nope'"),
    ):
        done = evtui_cli("replay", source, "--to", small, "-b", kafka_bootstrap, *args)
        assert done.returncode == 2 and words in done.stderr, (args, done.stderr)
        assert done.stderr.decode().count("\n") == 1  # one readable line
    assert read_all(kafka_bootstrap, small) == []
    created = evtui_cli("replay", source, "--to", missing, "-b", kafka_bootstrap, "--execute",
                        "--create-topic", "-F", "json")  # fmt: skip
    assert created.returncode == 0, created.stderr.decode()
    assert len(admin.list_topics(timeout=10).topics[missing].partitions) == 3
    assert len(read_all(kafka_bootstrap, missing)) == 30
    admin.delete_topics([missing])


def test_an_empty_range_or_one_beyond_the_end_copies_nothing_and_says_so(
    evtui_cli, kafka_bootstrap, new_topic, produce
):
    source, target = new_topic(3), new_topic(3)
    produce(source, records(30))
    done = evtui_cli("replay", source, "--to", target, "-b", kafka_bootstrap, "--from", "500",
                     "--execute", "-F", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)["report"]
    assert report["written"] == 0 and "nothing was written" in report["notes"][0]
    assert read_all(kafka_bootstrap, target) == []


def end_offsets(bootstrap: str, topic: str) -> int:
    """Records in ``topic`` (the sum of its partitions' end offsets): a cheap look."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "evtui-test-unjoined"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        )
    finally:
        consumer.close()


def replay_process(bootstrap: str, *args: str, state: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "evtui", "replay", "-b", bootstrap, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "EVTUI_STATE_DIR": state},
    )  # fmt: skip


def test_a_record_too_large_for_the_producer_stops_the_replay_before_it_and_a_resume_copies_it(
    evtui_cli, kafka_bootstrap, new_topic, produce, tmp_path
):
    """Huge messages: the topic allows 3 MB, the replay's producer 1 MB by default."""
    big = {"max.message.bytes": "3000000"}
    source, target = new_topic(1, config=big), new_topic(1, config=big)
    sizes = [10, 2_000_000, 20]
    produce(source, [{"key": b"k%d" % i, "value": b"v" * n, "partition": 0}
                     for i, n in enumerate(sizes)])  # fmt: skip
    env = {"EVTUI_STATE_DIR": str(tmp_path / "state")}
    first = evtui_cli("replay", source, "--to", target, "-b", kafka_bootstrap, "--execute",
                      env=env)  # fmt: skip
    lines = first.stderr.decode().strip().splitlines()
    assert first.returncode == 1 and len(lines[-1]) < 600, first.stderr.decode()
    assert lines[-1].startswith(f"evtui: error: replay stopped: {source}[0]@1: the record is")
    assert "2,000,000 bytes" in lines[-1] and "message.max.bytes=N" in lines[-1]
    assert "1 record was written and acknowledged" in lines[-1]
    assert "Traceback" not in first.stderr.decode()
    assert [len(e.value) for e in read_all(kafka_bootstrap, target)] == [10]  # nothing after
    (checkpoint,) = (tmp_path / "state" / "replays").glob("*.json")
    resumed = evtui_cli("replay", "-b", kafka_bootstrap, "--resume", checkpoint.stem,
                        "--execute", "-X", "message.max.bytes=3000000", env=env)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()
    copied = read_all(kafka_bootstrap, target, **{"fetch.max.bytes": "8000000"})
    assert [len(e.value) for e in copied] == sizes  # each once, in order
    exactly_once(kafka_bootstrap, source, target, checkpoint.stem)


def exactly_once(bootstrap: str, source: str, target: str, replay_id: str) -> None:
    copied = read_all(bootstrap, target)
    origins = [read_provenance(e.headers) for e in copied]
    assert all(o is not None and o[0] == replay_id for o in origins)
    positions = sorted((o[2], o[3]) for o in origins if o is not None)
    original = read_all(bootstrap, source)
    assert positions == sorted((e.partition, e.offset) for e in original)  # once each
    by_origin = {(o[2], o[3]): e for o, e in zip(origins, copied, strict=True) if o}
    for event in original:
        assert payload(by_origin[(event.partition, event.offset)]) == payload(event)


def test_killed_half_way_and_resumed_each_record_lands_exactly_once(
    evtui_cli, kafka_bootstrap, new_topic, produce, tmp_path
):
    source, target = new_topic(3), new_topic(3)
    produce(source, records(3_000))
    state = str(tmp_path / "state")
    first = replay_process(
        kafka_bootstrap, source, "--to", target, "--execute", "--rate", "500", state=state
    )  # fmt: skip (6 s in all)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and end_offsets(kafka_bootstrap, target) < 1_000:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    (checkpoint,) = (tmp_path / "state" / "replays").glob("*.json")
    replay_id = checkpoint.stem
    written = len(read_all(kafka_bootstrap, target))
    assert 1_000 <= written < 3_000
    assert json.loads(checkpoint.read_text())["done"] is False
    env = {"EVTUI_STATE_DIR": state}
    resumed = evtui_cli("replay", "-b", kafka_bootstrap, "--resume", replay_id, "--execute",
                        "-F", "json", env=env)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()
    report = json.loads(resumed.stdout)["report"]
    assert report["written"] == 3_000 - written  # nothing twice, nothing skipped
    exactly_once(kafka_bootstrap, source, target, replay_id)
    again = evtui_cli("replay", "-b", kafka_bootstrap, "--resume", replay_id, "--execute",
                      env=env)  # fmt: skip
    assert again.returncode == 2 and b"complete" in again.stderr


def test_interrupted_with_ctrl_c_the_checkpoint_is_saved_and_options_must_agree(
    evtui_cli, kafka_bootstrap, new_topic, produce, tmp_path
):
    source, target = new_topic(3), new_topic(3)
    produce(source, records(2_000))
    state = str(tmp_path / "state")
    first = replay_process(kafka_bootstrap, source, "--to", target, "--execute",
                           "--rate", "400", state=state)  # fmt: skip
    time.sleep(2.5)  # about half of it
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=30)
    assert first.returncode == 130, err.decode()
    assert b"--resume" in err and err.decode().strip().splitlines()[-1].startswith("evtui: error:")
    (checkpoint,) = (tmp_path / "state" / "replays").glob("*.json")
    env = {"EVTUI_STATE_DIR": state}
    other = evtui_cli("replay", "-b", kafka_bootstrap, "--resume", checkpoint.stem, "--execute",
                      "--to", f"{target}-other", env=env)  # fmt: skip
    assert other.returncode == 2 and b"was started with to" in other.stderr
    resumed = evtui_cli("replay", "-b", kafka_bootstrap, "--resume", checkpoint.stem,
                        "--execute", env=env)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()
    exactly_once(kafka_bootstrap, source, target, checkpoint.stem)


def test_a_target_that_goes_away_mid_replay_stops_it_resumably(
    evtui_cli, kafka_bootstrap, new_topic, produce, tmp_path
):
    """The target broker is stopped half way: the replay stops with a readable error and
    what it wrote; once the target is back, the resume completes it exactly once."""
    from confluent_kafka.admin import AdminClient, NewTopic

    from tests.conftest import own_broker

    source = new_topic(3)
    produce(source, records(2_000))
    state = str(tmp_path / "state")
    with own_broker(tmp_path / "kafka", 19592) as broker:
        target = "copied"
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(target, 3, 1)])[target].result(30)
        first = replay_process(kafka_bootstrap, source, "--to", target, "--execute",
                               "--rate", "500", "--target-bootstrap-servers", broker.bootstrap,
                               "--target-x", "message.timeout.ms=3000", state=state)  # fmt: skip
        time.sleep(2)
        broker.run("stop")
        _, err = first.communicate(timeout=60)
        text = err.decode().strip().splitlines()[-1]
        assert first.returncode == 1 and text.startswith("evtui: error: replay stopped:"), text
        assert "--resume" in text and "written and acknowledged" in text
        broker.run("start", "--keep")  # the same cluster, with what it had
        (checkpoint,) = (tmp_path / "state" / "replays").glob("*.json")
        resumed = evtui_cli("replay", "-b", kafka_bootstrap, "--resume", checkpoint.stem,
                            "--execute", "--target-bootstrap-servers", broker.bootstrap,
                            env={"EVTUI_STATE_DIR": state}, timeout=120)  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr.decode()
        copied = read_all(broker.bootstrap, target)
        positions = sorted((o[2], o[3]) for o in map(read_provenance, (e.headers for e in copied)))
        assert positions == sorted(
            (e.partition, e.offset) for e in read_all(kafka_bootstrap, source)
        )


def test_a_target_that_refuses_the_credentials_is_one_line_and_nothing_is_written(
    evtui_cli, kafka_bootstrap, kafka_sasl_bootstrap, new_topic, produce, tmp_path
):
    source, target = new_topic(1), new_topic(1)
    produce(source, records(20, partitions=1))
    done = evtui_cli("replay", source, "--to", target, "-b", kafka_bootstrap, "--execute",
                     "--target-bootstrap-servers", kafka_sasl_bootstrap, "--timeout", "5",
                     "--target-x", "security.protocol=SASL_PLAINTEXT",
                     "--target-x", "sasl.mechanism=PLAIN", "--target-x", "sasl.username=alice",
                     "--target-x", "sasl.password=not-her-password",
                     env={"EVTUI_STATE_DIR": str(tmp_path)})  # fmt: skip
    err = done.stderr.decode()
    assert done.returncode == 1 and err.startswith("evtui: error: authentication failed"), err
    assert err.count("\n") == 1 and "not-her-password" not in err
    assert read_all(kafka_bootstrap, target) == []
    assert not (tmp_path / "replays").exists()  # nothing started, nothing to resume
