"""Faults under every command (issue 19, part 4): the broker stopped and restarted
(``kafka-local restart``: the log dir kept) while ``evtui record``, ``replay --execute``,
``lag --watch``, ``trace`` and ``check`` run, and a disk that fills under ``record``.

Each command must either complete correctly (the whole range, exactly) or fail in one line
with a meaningful exit code; it never hangs past its timeout and never reports a partial
result as a complete one. Every wait is on a condition with a generous deadline; the fault
lands while the command runs (asserted: the process was still running when the broker went
down), whatever the machine's speed, because the commands read slowly on purpose
(small fetches, a replay rate).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import OwnBroker, own_broker
from tests.integration.test_replay import end_offsets, exactly_once, read_all, records

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

SLOW_FETCH = ["-X", "message.max.bytes=2048", "-X", "fetch.max.bytes=2048",
              "-X", "max.partition.fetch.bytes=2048"]  # fmt: skip
N = 6_000


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> Iterator[OwnBroker]:
    with own_broker(tmp_path_factory.mktemp("faults") / "kafka", 29492) as broker:
        yield broker


def create(broker: OwnBroker, name: str, partitions: int = 3) -> None:
    """Create ``name`` and wait until every partition has its leader and answers a
    watermark query: a topic just made may still say "not leader" for a moment."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})  # (kept while it answers)
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unjoined"})

    def ready() -> bool:
        try:
            for p in range(partitions):
                consumer.get_watermark_offsets(TopicPartition(name, p), timeout=5)
        except KafkaException:
            return False
        return True

    try:
        assert wait_until(ready, 60), f"{name} has no leaders"
    finally:
        consumer.close()


def make_topic(broker: OwnBroker, name: str, n: int = N, partitions: int = 3) -> None:
    from confluent_kafka import Producer

    create(broker, name, partitions)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for record in records(n):
        producer.produce(name, **record)
    assert producer.flush(30) == 0


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "evtui", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def wait_until(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def restart_under(broker: OwnBroker, proc: subprocess.Popen) -> None:
    """Stop the broker while ``proc`` runs (asserted), then start it again on the same data."""
    assert proc.poll() is None, "the command ended before the fault: nothing was tested"
    broker.run("stop")
    time.sleep(1.0)  # down for a moment: the command sees the outage (not timed: an outcome)
    broker.run("start", "--keep")


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)  # raises (fails the test) on a hang
    return proc.returncode, out.decode(), err.decode()


def one_line_failure(code: int, err: str) -> None:
    assert code not in (0, None)
    errors = [line for line in err.splitlines() if line.startswith("evtui: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err


def test_record_completes_exactly_or_fails_marked_incomplete(broker, tmp_path):
    make_topic(broker, "faults-record")
    out = tmp_path / "r.evtrec"
    proc = start("record", "faults-record", "-b", broker.bootstrap, "--from", "beginning",
                 "--until", "end", "-o", str(out), *SLOW_FETCH)  # fmt: skip
    assert wait_until(
        lambda: out.exists() or any(tmp_path.glob("*.tmp*")) or proc.poll() is not None
    )
    restart_under(broker, proc)
    code, _, err = finish(proc)
    from evtui.core.recording import read_events

    if code == 0:
        _, events, trailer = read_events(out)
        assert trailer.complete and len(events) == N
        assert [
            (e.partition, e.offset) for e in sorted(events, key=lambda e: (e.partition, e.offset))
        ] == [(e.partition, e.offset) for e in read_all(broker.bootstrap, "faults-record")]
    else:
        one_line_failure(code, err)
        if out.exists():
            _, _, trailer = read_events(out)
            assert not trailer.complete


def test_replay_execute_lands_every_record_once_or_stops_resumably(broker, tmp_path):
    make_topic(broker, "faults-src")
    create(broker, "faults-dst")
    state = str(tmp_path / "state")
    env = {"EVTUI_STATE_DIR": state}
    proc = start("replay", "faults-src", "-b", broker.bootstrap, "--to", "faults-dst",
                 "--execute", "--rate", "1500", "-F", "json", env=env)  # fmt: skip
    assert wait_until(lambda: end_offsets(broker.bootstrap, "faults-dst") >= 500)
    restart_under(broker, proc)
    code, _, err = finish(proc)
    (checkpoint,) = (Path(state) / "replays").glob("*.json")
    replay_id = checkpoint.stem
    if code != 0:  # stopped: one line, and the checkpoint resumes it
        one_line_failure(code, err)
        assert json.loads(checkpoint.read_text())["done"] is False
        resumed = subprocess.run(
            [sys.executable, "-m", "evtui", "replay", "-b", broker.bootstrap, "--resume",
             replay_id, "--execute"], capture_output=True, env={**os.environ, **env},
            timeout=300,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr.decode()
    exactly_once(broker.bootstrap, "faults-src", "faults-dst", replay_id)


def test_lag_watch_goes_on_through_a_restart(broker, tmp_path):
    from confluent_kafka import Consumer, TopicPartition

    make_topic(broker, "faults-lag", 300)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "faults-g"})
    consumer.commit(offsets=[TopicPartition("faults-lag", p, 10) for p in range(3)],
                    asynchronous=False)  # fmt: skip
    consumer.close()
    out_path = tmp_path / "lag.out"
    with out_path.open("wb") as out_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evtui", "lag", "-b", broker.bootstrap, "--group", "faults-g",
             "--watch", "--interval", "1", "-F", "json"], stdout=out_file, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert wait_until(lambda: out_path.read_bytes().count(b"\n") >= 2)
            restart_under(broker, proc)
            seen = out_path.read_bytes().count(b"\n")
            assert wait_until(lambda: out_path.read_bytes().count(b"\n") >= seen + 3, 120)
        finally:
            proc.terminate()
            proc.wait(30)
    reports = [json.loads(line) for line in out_path.read_text().splitlines()]
    last = reports[-1]
    assert [g["group"] for g in last["groups"]] == ["faults-g"]
    assert last["groups"][0]["lag"] == 300 - 30  # correct again after the restart


def produce_traced(broker: OwnBroker, topic: str, start: int, n: int) -> None:
    """``n`` records of one transaction (its correlation id in every value), each key's
    sequence counting 1, 2, 3...: nothing for the checks to find, before or after a restart."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for i in range(start, start + n):
        value = {"eventId": f"e{i}", "correlationId": "faults-corr", "sequence": i // 7 + 1}
        producer.produce(topic, json.dumps(value).encode(), f"k{i % 7}".encode())
    assert producer.flush(60) == 0


@pytest.mark.parametrize("command", ["trace", "check"])
def test_a_scan_reads_on_through_a_restart_or_fails_in_one_line(broker, command):
    """The scan's range ends in the future, so the restart lands while it reads; the records
    written after the restart must be read too (the whole range, and no finding made of the
    restart: re-read records are no duplicates), or the run fails with exit 3 in one line.

    The range ends at an offset not written yet (one partition), not at a time: a time
    a few seconds ahead made the outcome depend on how fast the broker restarted (a slow
    machine wrote the second half after it, out of the range)."""
    topic = f"faults-{command}"
    make_topic(broker, topic, 0, partitions=1)
    produce_traced(broker, topic, 0, 1_000)
    args = ["trace", "faults-corr"] if command == "trace" else ["check"]
    proc = start(*args, topic, "-b", broker.bootstrap, "--from", "beginning", "--until", "1999",
                 "-F", "json", "--timeout", "30")  # fmt: skip
    time.sleep(2.0)  # reading (its range ends at an offset not written yet)
    restart_under(broker, proc)
    produce_traced(broker, topic, 1_000, 1_000)  # after the restart
    code, out, err = finish(proc)
    assert "Traceback" not in err
    if code == 3:
        one_line_failure(code, err)
        return
    assert code == 0, err  # found (trace); no finding (check): a restart is no violation
    if command == "check":
        assert json.loads(out)["scanned"] == 2_000, err  # both halves: nothing lost
    else:
        events = json.loads(out)["events"]
        assert sorted(e["event_id"] for e in events) == sorted(f"e{i}" for i in range(2_000))


def test_record_on_a_full_disk_is_one_line_and_nothing_looks_complete(broker, tmp_path):
    make_topic(broker, "faults-disk", 3_000)
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        out = mount / "r.evtrec"
        done = subprocess.run(
            [sys.executable, "-m", "evtui", "record", "faults-disk", "-b", broker.bootstrap,
             "--from", "beginning", "--until", "end", "-o", str(out)],
            capture_output=True, timeout=120,
        )  # fmt: skip
        one_line_failure(done.returncode, done.stderr.decode())
        assert "No space left" in done.stderr.decode() or "no space" in done.stderr.decode()
        assert not out.exists()  # nothing half-written left under the final name
        assert list(mount.iterdir()) == []  # nor a temporary file
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
