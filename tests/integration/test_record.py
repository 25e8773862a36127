"""``evtui record`` / ``open`` / ``replay --from-file`` on the real broker: exact round trips."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from evtui.core.positions import now_ms
from evtui.core.recording import inspect_recording, read_events
from evtui.core.replay import PROVENANCE, read_provenance
from tests.integration.kcat import kcat_records
from tests.integration.test_bad_input import assert_one_line_error

pytestmark = pytest.mark.kafka

ALL_BYTES = bytes(range(256))
# An hour ago: older timestamps than the topic's retention (7 days) get their records
# deleted by the broker's retention check at any moment, even from the active segment.
T0 = (int(time.time()) - 3600) * 1000


def read_all(bootstrap: str, topic: str) -> list:
    """Every record of ``topic`` as Events (KafkaSource, assigned, from the beginning)."""
    from evtui.config import ClientConfig
    from evtui.core.positions import BEGINNING, END
    from evtui.sources.kafka import KafkaSource

    source = KafkaSource(ClientConfig({"bootstrap.servers": bootstrap}), [topic], BEGINNING, END)
    source.open()
    events: list = []
    source.read_inline(lambda batch: events.extend(batch) or True)
    source.stop()
    return sorted(events, key=lambda e: (e.partition, e.offset))


def awkward(n: int, partitions: int) -> list[dict]:
    """Binary keys and values, null keys, tombstones, empty bytes, repeated, null and
    non-UTF-8 headers, explicit partitions and timestamps."""
    out = []
    for i in range(n):
        headers = [("h", str(i).encode()), ("h", b"again"), ("nul", None),
                   ("bin", bytes([i % 256, 0xFE, 0xFF])), ("", b"")]  # fmt: skip
        out.append(
            {
                "key": None if i % 11 == 0 else (b"" if i % 13 == 0 else ALL_BYTES[i % 200 :]),
                "value": None if i % 7 == 3 else ALL_BYTES * (i % 3) + json.dumps(i).encode(),
                "headers": headers if i % 5 else [],
                "partition": i % partitions,
                "timestamp": T0 + i * 10,
            }
        )
    return out


@pytest.fixture
def two_topics(new_topic, produce):
    """Topic ``a`` (3 partitions, CreateTime) and ``b`` (2 partitions, LogAppendTime)."""
    a = new_topic(3, "a")
    b = new_topic(2, "b", config={"message.timestamp.type": "LogAppendTime"})
    produce(a, awkward(120, 3))
    produce(b, awkward(41, 2))
    return a, b


def cli_ok(evtui_cli, *args: str):
    done = evtui_cli(*args)
    assert done.returncode == 0, done.stderr.decode()
    return done


def test_record_writes_exactly_what_the_broker_holds(
    evtui_cli, kafka_bootstrap, two_topics, tmp_path
):
    a, b = two_topics
    for name in ("slice.jsonl", "slice.jsonl.gz"):
        path = tmp_path / name
        done = cli_ok(evtui_cli, "record", a, b, "-b", kafka_bootstrap, "-o", str(path))
        summary = done.stderr.decode().strip().splitlines()[-1]
        assert summary.startswith(f"evtui record: 161 records of 2 topics (5 partitions) to {path}")
        assert f"{path.stat().st_size:,} bytes" in summary and "records/s" in summary
        header, events, trailer = read_events(path)
        on_broker = read_all(kafka_bootstrap, a) + read_all(kafka_bootstrap, b)
        key = lambda e: (e.topic, e.partition, e.offset)  # noqa: E731
        assert sorted(events, key=key) == sorted(on_broker, key=key)  # every byte, every field
        assert {e.ts_type.label for e in events if e.topic == b} == {"LogAppendTime"}
        assert {e.timestamp for e in events if e.topic == a} == {T0 + i * 10 for i in range(120)}
        for topic in (a, b):  # and what kcat, the reference, sees
            mine = sorted(
                (e.partition, e.offset, e.key, e.value) for e in events if e.topic == topic
            )
            assert mine == kcat_records(kafka_bootstrap, topic)
        assert header.topics == sorted([a, b]) and header.source == kafka_bootstrap
        assert header.cluster_id and trailer.complete and trailer.records == 161
        assert {(p.topic, p.partition): p.records for p in trailer.partitions} == {
            (a, 0): 40, (a, 1): 40, (a, 2): 40, (b, 0): 21, (b, 1): 20,
        }  # fmt: skip
    plain, gz = (read_events(tmp_path / name)[1] for name in ("slice.jsonl", "slice.jsonl.gz"))
    assert sorted(plain, key=key) == sorted(gz, key=key)
    assert (tmp_path / "slice.jsonl.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert sorted(os.listdir(tmp_path)) == ["slice.jsonl", "slice.jsonl.gz"]  # no .tmp left


def test_record_a_range_and_a_filter(evtui_cli, kafka_bootstrap, two_topics, tmp_path):
    a, _ = two_topics
    path = tmp_path / "range.jsonl"
    cli_ok(evtui_cli, "record", a, "-b", kafka_bootstrap, "-o", str(path), "--from", "5",
           "--until", "9", "--filter", "partition != 1")  # fmt: skip
    header, events, _ = read_events(path)
    assert sorted((e.partition, e.offset) for e in events) == [
        (p, o) for p in (0, 2) for o in range(5, 10)
    ]
    assert header.start == "5" and header.until == "9" and header.filter == "partition != 1"
    assert [(p.partition, p.start, p.stop) for p in header.partitions] == [
        (0, 5, 10), (1, 5, 10), (2, 5, 10),
    ]  # fmt: skip
    until = tmp_path / "time.jsonl"
    cli_ok(evtui_cli, "record", a, "-b", kafka_bootstrap, "-o", str(until),
           "--until", f"e@{T0 + 300}")  # fmt: skip
    assert sorted(e.timestamp for e in read_events(until)[1]) == [T0 + i * 10 for i in range(30)]


@pytest.fixture
def created(admin):
    """Topics a test makes evtui create: deleted afterwards."""
    names: list[str] = []
    yield names
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            with contextlib.suppress(Exception):
                future.result(timeout=30)


def test_replay_from_the_file_copies_it_exactly(
    evtui_cli, kafka_bootstrap, two_topics, created, tmp_path, monkeypatch
):
    monkeypatch.setenv("EVTUI_STATE_DIR", str(tmp_path / "state"))
    a, b = two_topics
    path = tmp_path / "both.jsonl.gz"
    cli_ok(evtui_cli, "record", a, b, "-b", kafka_bootstrap, "-o", str(path))
    target = f"{a}-copy"
    created.append(target)
    several = evtui_cli("replay", "--from-file", str(path), "--to", target, "-b", kafka_bootstrap)
    assert_one_line_error(several, f"holds 2 topics ({a}, {b}): name the one to replay", 2)
    plan = cli_ok(evtui_cli, "replay", "--from-file", str(path), a, "--to", target,
                  "-b", kafka_bootstrap, "--create-topic", "-F", "json")  # fmt: skip
    planned = json.loads(plan.stdout)["plan"]
    assert planned["records"] == 120 and planned["source"] == str(path)
    assert [(s["partition"], s["start"], s["stop"]) for s in planned["slices"]] == [
        (0, 0, 40), (1, 0, 40), (2, 0, 40),
    ]  # fmt: skip
    done = cli_ok(evtui_cli, "replay", "--from-file", str(path), a, "--to", target,
                  "-b", kafka_bootstrap, "--execute", "--create-topic", "--keep-timestamps",
                  "-F", "json")  # fmt: skip
    report = json.loads(done.stdout)["report"]
    assert report["written"] == 120 and report["failed"] == 0 and report["remaining"] == 0
    recorded = {(e.partition, e.offset): e for e in read_events(path)[1] if e.topic == a}
    copied = read_all(kafka_bootstrap, target)
    assert len(copied) == 120
    for event in copied:
        replay_id, topic, partition, offset = read_provenance(event.headers)
        original = recorded[(partition, offset)]
        assert (replay_id, topic) == (report["replay_id"], a)
        assert event.partition == original.partition and event.timestamp == original.timestamp
        assert (event.key, event.value) == (original.key, original.value)
        assert event.headers[: len(original.headers)] == original.headers
        assert [n for n, _ in event.headers[len(original.headers) :]] == list(PROVENANCE)


def test_the_checkpoint_resumes_a_replay_from_the_file(
    evtui_cli, kafka_bootstrap, new_topic, produce, tmp_path, monkeypatch
):
    """A replay from a file, interrupted, resumes exactly once (from another directory)."""
    monkeypatch.setenv("EVTUI_STATE_DIR", str(tmp_path / "state"))
    source = new_topic(2)
    produce(source, awkward(2_000, 2))
    path = tmp_path / "big.jsonl.gz"
    cli_ok(evtui_cli, "record", source, "-b", kafka_bootstrap, "-o", str(path))
    target = new_topic(2, "copy")
    proc = subprocess.Popen(
        [sys.executable, "-m", "evtui", "replay", "--from-file", str(path), "--to", target,
         "-b", kafka_bootstrap, "--execute", "--rate", "400"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(2.5)  # about half of it
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    replay_id = err.decode().split("--resume ")[1].split()[0]
    written = len(read_all(kafka_bootstrap, target))
    assert 0 < written < 2_000
    resumed = evtui_cli("replay", "--resume", replay_id, "--execute", "-b", kafka_bootstrap,
                        "--from-file", path.name, cwd=str(tmp_path))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()
    copied = read_all(kafka_bootstrap, target)
    assert sorted(read_provenance(e.headers)[2:] for e in copied) == sorted(
        (e.partition, e.offset) for e in read_events(path)[1]
    )  # each recorded record exactly once


def test_ctrl_c_keeps_what_was_read_marked_incomplete(kafka_bootstrap, two_topics, tmp_path):
    a, _ = two_topics
    path = tmp_path / "live.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evtui", "record", a, "-b", kafka_bootstrap, "-o", str(path),
         "--until", f"e@{now_ms() + 120_000}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not (tmp_path / "live.jsonl.tmp").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # all 120 read; it waits for the time bound
    assert not path.exists()  # nothing looks whole while it records
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert f"interrupted: {path} holds the 120 records read so far (marked incomplete)" in (
        err.decode()
    )
    found = inspect_recording(path)
    assert not found.trailer.complete and found.trailer.note == "interrupted (Ctrl-C)"
    assert len(read_events(path)[1]) == 120
    assert not (tmp_path / "live.jsonl.tmp").exists()


def test_bad_input_is_one_line_and_loses_nothing(
    evtui_cli, kafka_bootstrap, two_topics, tmp_path, monkeypatch
):
    monkeypatch.setenv("EVTUI_STATE_DIR", str(tmp_path / "state"))
    a, _ = two_topics
    out = tmp_path / "out.jsonl"
    unknown = evtui_cli("record", f"{a}-nope", "-b", kafka_bootstrap, "-o", str(out))
    assert_one_line_error(unknown, f"unknown topic '{a}-nope'", 1)
    unreachable = evtui_cli("record", a, "-b", "127.0.0.1:1", "--timeout", "2", "-o", str(out))
    assert_one_line_error(unreachable, "cannot reach Kafka at 127.0.0.1:1", 1)
    bad_filter = evtui_cli("record", a, "-b", kafka_bootstrap, "-o", str(out), "-f", "value ==")
    assert_one_line_error(bad_filter, "filter", 2)
    no_dir = evtui_cli("record", a, "-b", kafka_bootstrap, "-o", str(tmp_path / "x" / "y.jsonl"))
    assert_one_line_error(no_dir, "no such directory", 2)
    assert os.listdir(tmp_path) == ["state"] or os.listdir(tmp_path) == []
    out.write_text("precious\n")
    exists = evtui_cli("record", a, "-b", kafka_bootstrap, "-o", str(out))
    assert_one_line_error(exists, "the file exists (add --force to replace it)", 2)
    assert out.read_text() == "precious\n"

    missing = tmp_path / "missing.jsonl"
    for args in (
        ("open", str(missing)),
        ("replay", "--from-file", str(missing), "--to", "x", "-b", kafka_bootstrap),
    ):
        assert_one_line_error(evtui_cli(*args), f"cannot open {missing}: no such file", 1)
    for args in (
        ("open", str(out)),
        ("replay", "--from-file", str(out), "--to", "x", "-b", kafka_bootstrap),
    ):
        assert_one_line_error(evtui_cli(*args), f"{out} is not an evtui recording", 1)

    good = tmp_path / "good.jsonl"
    cli_ok(evtui_cli, "record", a, "-b", kafka_bootstrap, "-o", str(good))
    lines = good.read_bytes().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:50]))
    target = f"{a}-never"
    for args in (("open", str(cut)),
                 ("replay", "--from-file", str(cut), "--to", target, "-b", kafka_bootstrap,
                  "--execute", "--create-topic")):  # fmt: skip
        assert_one_line_error(evtui_cli(*args), f"{cut} is truncated", 1)
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_bytes(b"".join([*lines[:30], b'{"topic": 1}\n', *lines[31:]]))
    replay = evtui_cli("replay", "--from-file", str(corrupt), "--to", target,
                       "-b", kafka_bootstrap, "--execute", "--create-topic")  # fmt: skip
    assert_one_line_error(replay, f"{corrupt}: line 31: not a record", 1)
    assert target not in topics_on(kafka_bootstrap)  # nothing was created or written
    gz = tmp_path / "cut.jsonl.gz"
    gz.write_bytes(gzip.compress(good.read_bytes())[:-40])
    assert_one_line_error(evtui_cli("open", str(gz)), "truncated or corrupt", 1)
    tty = evtui_cli("open", str(good))  # a valid file, but no terminal here
    assert_one_line_error(tty, "the console needs a terminal", 2)
    other = evtui_cli("open", str(good), "-t", "zzz")
    assert_one_line_error(other, f"holds no topic 'zzz'; its topics: {a}", 2)


def topics_on(bootstrap: str) -> set[str]:
    from confluent_kafka.admin import AdminClient

    return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
