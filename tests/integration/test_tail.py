"""``evtui tail`` against the real broker: exact bytes, bounds, filters, bad input."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time

import pytest

from tests.integration.kcat import kcat_records

pytestmark = pytest.mark.kafka


def b64(data):
    return None if data is None else base64.b64decode(data)


def tail_json(evtui_cli, bootstrap, *args, raw=False):
    argv = ["tail", *args, "-b", bootstrap, "--format", "json"]
    if raw:
        argv.append("--raw")
    proc = evtui_cli(*argv)
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


BINARY = bytes(range(255, -1, -1))  # a payload with every byte value
MIXED = [
    {
        "key": b"order-1",
        "value": b'{"type": "OrderPlaced", "amount": 120}',
        "headers": [
            ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ("content-type", b"application/json"),
        ],
    },
    {"key": None, "value": "plain text, ünïcödé ✓\nsecond line".encode()},
    {
        "key": b"\x00\xffbinary-key",
        "value": BINARY,
        "headers": [("bin", b"\xff\xfe\x00"), ("dup", b"1"), ("dup", b"2"), ("nullh", None)],
    },
    {"key": b"tomb", "value": None},
    {"key": b"empty", "value": b""},
    {"key": b"sr", "value": b"\x00\x00\x00\x00\x2a\x02avro"},
    {"key": b"bad-json", "value": b'{"unterminated": '},
]


def test_tail_reads_back_exact_bytes_like_kcat(kafka_bootstrap, new_topic, produce, evtui_cli):
    topic = new_topic(partitions=3)
    records = [dict(r, partition=i % 3) for i, r in enumerate(MIXED * 3)]
    produce(topic, records)

    rows = tail_json(
        evtui_cli, kafka_bootstrap, topic, "--from", "beginning", "--until", "end", raw=True
    )
    seen = sorted((r["partition"], r["offset"], b64(r["key"]), b64(r["value"])) for r in rows)
    assert seen == kcat_records(kafka_bootstrap, topic)
    assert len(seen) == len(records)

    # headers come back in order, duplicates and nulls included, byte for byte
    by_key = {}
    for r in rows:
        by_key.setdefault(b64(r["key"]), [[n, b64(v)] for n, v in r["headers"]])
    assert by_key[b"\x00\xffbinary-key"] == [
        ["bin", b"\xff\xfe\x00"],
        ["dup", b"1"],
        ["dup", b"2"],
        ["nullh", None],
    ]
    assert by_key[b"order-1"][0][1].startswith(b"00-0af7")


def test_tail_decodes_every_kind_of_payload(kafka_bootstrap, new_topic, produce, evtui_cli):
    topic = new_topic()
    produce(topic, MIXED)
    rows = tail_json(evtui_cli, kafka_bootstrap, topic, "--from", "beginning", "--until", "end")
    by_key = {r["key"]: r for r in rows}
    assert by_key["order-1"]["value"] == {"type": "OrderPlaced", "amount": 120}
    assert by_key["order-1"]["value_format"] == "json"
    text = next(r for r in rows if r["key"] is None)
    assert text["value"] == "plain text, ünïcödé ✓\nsecond line"
    binary = next(r for r in rows if r["key_encoding"] == "base64")
    assert binary["value_format"] == "binary" and b64(binary["value"]) == BINARY
    assert binary["headers"][0] == ["bin", {"base64": base64.b64encode(b"\xff\xfe\x00").decode()}]
    assert by_key["tomb"]["value"] is None and by_key["tomb"]["value_format"] == "null"
    assert by_key["empty"]["value"] == ""
    assert by_key["sr"]["value_format"] == "schema-registry" and by_key["sr"]["schema_id"] == 42
    assert by_key["bad-json"]["decode_error"].startswith("invalid JSON")
    assert by_key["bad-json"]["value"] == '{"unterminated": '
    for r in rows:
        assert r["timestamp_type"] == "CreateTime" and r["timestamp"] > 1_600_000_000_000


def test_text_format_one_line_per_event(kafka_bootstrap, new_topic, produce, evtui_cli):
    topic = new_topic()
    produce(topic, MIXED)
    proc = evtui_cli(
        "tail", topic, "-b", kafka_bootstrap, "--from", "beginning", "--until", "end", "--headers"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == len(MIXED)
    assert lines[0].startswith(f"{topic}[0]@0  ")
    assert "key=order-1" in lines[0] and '{"type":"OrderPlaced","amount":120}' in lines[0]
    assert "traceparent=00-0af7" in lines[0]
    assert lines[1].endswith("ünïcödé ✓\\nsecond line")
    assert "key=0x00ff" in lines[2] and "<binary 256 bytes> ff fe fd" in lines[2]
    assert "<null>" in lines[3]


def test_start_positions_and_end_bounds(kafka_bootstrap, new_topic, produce, evtui_cli):
    topic = new_topic(partitions=2)
    base = int(time.time() * 1000) - 60_000
    records = [
        {
            "partition": p,
            "key": f"k{i}".encode(),
            "value": json.dumps({"i": i}).encode(),
            "timestamp": base + i * 1000,
        }
        for p in (0, 1)
        for i in range(10)
    ]
    produce(topic, records)

    def offsets(*args):
        rows = tail_json(evtui_cli, kafka_bootstrap, topic, *args)
        return sorted((r["partition"], r["offset"]) for r in rows)

    assert offsets("--from", "-3", "--until", "end") == [(p, o) for p in (0, 1) for o in (7, 8, 9)]
    assert offsets("--from", "4", "--until", "6") == [(p, o) for p in (0, 1) for o in (4, 5, 6)]
    assert offsets("--from", f"s@{base + 5000}", "--until", f"e@{base + 7000}") == [
        (p, o) for p in (0, 1) for o in (5, 6)
    ]
    iso = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((base + 8000) / 1000))
        + f".{(base + 8000) % 1000:03d}Z"
    )
    assert offsets("--from", iso, "--until", "end") == [(p, o) for p in (0, 1) for o in (8, 9)]
    assert offsets("--from", "1h", "--until", "end") == [(p, o) for p in (0, 1) for o in range(10)]
    assert offsets("--from", "end", "--until", "end") == []


def test_until_time_in_the_future_stops_at_wall_clock(
    kafka_bootstrap, new_topic, produce, evtui_cli
):
    topic = new_topic()
    produce(topic, [{"value": b"x"}])
    soon = int(time.time() * 1000) + 2000
    started = time.monotonic()
    rows = tail_json(
        evtui_cli, kafka_bootstrap, topic, "--from", "beginning", "--until", f"e@{soon}"
    )
    assert [r["offset"] for r in rows] == [0]
    assert time.monotonic() - started < 30


def test_filter_applies_cel(kafka_bootstrap, new_topic, produce, evtui_cli):
    topic = new_topic()
    produce(
        topic,
        [{"key": f"k{i}".encode(), "value": json.dumps({"n": i}).encode()} for i in range(20)],
    )
    rows = tail_json(
        evtui_cli,
        kafka_bootstrap,
        topic,
        "--from",
        "beginning",
        "--until",
        "end",
        "--filter",
        "value.n % 5 == 0 && key != 'k0'",
    )
    assert [r["value"]["n"] for r in rows] == [5, 10, 15]


def test_max_events_stops_an_unbounded_tail(kafka_bootstrap, new_topic, produce, evtui_cli):
    topic = new_topic()
    produce(topic, [{"value": str(i).encode()} for i in range(50)])
    proc = evtui_cli("tail", topic, "-b", kafka_bootstrap, "--from", "beginning", "-n", "7")
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 7


def test_regex_topics_and_no_consumer_group_left_behind(
    kafka_bootstrap, new_topic, produce, evtui_cli, admin
):
    a, b = new_topic(suffix="rx-a"), new_topic(suffix="rx-b")
    produce(a, [{"value": b"a"}])
    produce(b, [{"value": b"b"}])
    groups_before = {g.group_id for g in admin.list_consumer_groups().result().valid}
    prefix = a.rsplit("-rx-a-", 1)[0]
    rows = tail_json(
        evtui_cli, kafka_bootstrap, f"^{prefix}-rx-", "--from", "beginning", "--until", "end"
    )
    assert sorted(r["topic"] for r in rows) == sorted([a, b])
    time.sleep(1)
    groups_after = {g.group_id for g in admin.list_consumer_groups().result().valid}
    assert groups_after - groups_before == set()
    assert not any(g.startswith("evtui") for g in groups_after)


def test_picks_up_new_partitions_and_topics_while_running(
    kafka_bootstrap, new_topic, produce, admin
):
    import subprocess
    import sys

    from confluent_kafka.admin import NewPartitions

    topic = new_topic(suffix="grow")
    prefix = topic.rsplit("-grow-", 1)[0]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evtui",
            "tail",
            f"^{prefix}-grow",
            "-b",
            kafka_bootstrap,
            "--from",
            "end",
            "--format",
            "json",
            "--refresh-interval",
            "0.5",
            "-n",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(3)  # let it connect and assign
        admin.create_partitions([NewPartitions(topic, 2)])[topic].result(timeout=30)
        later = new_topic(suffix="grow2")
        time.sleep(3)  # the next metadata refresh assigns the new partition and topic
        produce(topic, [{"partition": 1, "value": b"in-new-partition"}])
        produce(later, [{"value": b"in-new-topic"}])
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()
    rows = [json.loads(line) for line in out.decode().splitlines()]
    assert sorted((r["topic"], r["partition"], r["value"]) for r in rows) == sorted(
        [(topic, 1, "in-new-partition"), (later, 0, "in-new-topic")]
    )


def test_five_megabyte_message(kafka_bootstrap, new_topic, produce, evtui_cli):
    topic = new_topic(config={"max.message.bytes": "10000000"})
    big = os.urandom(5 * 1024 * 1024)
    produce(topic, [{"key": b"big", "value": big}, {"key": b"after", "value": b"small"}])
    rows = tail_json(
        evtui_cli, kafka_bootstrap, topic, "--from", "beginning", "--until", "end", raw=True
    )
    assert [b64(r["key"]) for r in rows] == [b"big", b"after"]
    assert hashlib.sha256(b64(rows[0]["value"])).digest() == hashlib.sha256(big).digest()


def test_connection_options_before_the_command(kafka_bootstrap, new_topic, produce, evtui_cli):
    topic = new_topic()
    produce(topic, [{"value": b"hello"}])
    proc = evtui_cli(
        "-b",
        kafka_bootstrap,
        "--timeout",
        "5",
        "tail",
        topic,
        "--from",
        "beginning",
        "--until",
        "end",
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().rstrip().endswith("hello")


def test_tail_of_a_topic_created_a_moment_ago(kafka_bootstrap, admin, evtui_cli):
    """Leadership of a new topic settles after creation: offsets are retried, not fatal."""
    import uuid

    from confluent_kafka.admin import NewTopic

    for _ in range(3):
        name = f"t-fresh-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(name, 3, 1)])[name].result(timeout=30)
        try:
            proc = evtui_cli(
                "tail", name, "-b", kafka_bootstrap, "--from", "beginning", "--until", "end"
            )
        finally:
            admin.delete_topics([name])
        assert proc.returncode == 0, proc.stderr.decode()


def test_records_deleted_ahead_of_a_slow_reader_skip_none_of_those_still_kept(
    kafka_bootstrap, new_topic, admin
):
    """Retention (here DeleteRecords) passes a reader that fell behind: it goes on from
    the oldest record kept. Resetting to the end skipped every record still there."""
    from confluent_kafka import Producer, TopicPartition

    from evtui.config import ClientConfig
    from evtui.core.positions import BEGINNING
    from evtui.sources.kafka import KafkaSource

    topic = new_topic(1)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 20})
    for i in range(10_000):
        producer.produce(topic, value=b"x" * 1000, key=str(i).encode())
        producer.poll(0)
    assert producer.flush(30) == 0
    slow = {
        "bootstrap.servers": kafka_bootstrap,
        "queued.max.messages.kbytes": "256",
        "max.partition.fetch.bytes": "65536",
    }  # fmt: skip (little read ahead)
    source = KafkaSource(ClientConfig(slow), [topic], BEGINNING, batch_size=100,
                         max_queued_batches=1).open()  # fmt: skip
    source.start()
    try:
        seen = [e.offset for e in source.get_batch(10)]
        time.sleep(1)  # the reader is blocked well before offset 9000
        deleted = admin.delete_records([TopicPartition(topic, 0, 9_000)])
        for future in deleted.values():
            future.result(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not seen or seen[-1] < 9_999):
            seen += [e.offset for e in source.get_batch(0.5) or []]
    finally:
        source.stop()
    before = [o for o in seen if o < 9_000]
    assert before == list(range(len(before))) and len(before) < 9_000  # overtaken
    assert [o for o in seen if o >= 9_000] == list(range(9_000, 10_000))
