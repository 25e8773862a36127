"""ACLs on the real broker: carol (PLAIN, no super user) may read topic A and describe
group g1, nothing else. evtui reads what she may, says "not authorized" once for the
rest, and a replay into a topic she may not write fails before writing anything."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass

import pytest

from tests.integration.test_bad_input import assert_one_line_error

pytestmark = pytest.mark.kafka

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@dataclass
class Acls:
    a: str  # carol: READ, DESCRIBE
    b: str  # carol: nothing
    c: str  # carol: DESCRIBE only (she sees it, but may not read it)
    target: str  # carol: DESCRIBE only (no WRITE)
    g1: str  # carol: READ, DESCRIBE
    g2: str  # carol: nothing
    config: str  # a config file with the profile "carol" on SASL_PLAINTEXT
    alice: dict  # librdkafka settings of alice (a super user) on SASL_PLAINTEXT


def _alice(bootstrap: str) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "alice",
        "sasl.password": "alice-secret",
    }


@pytest.fixture
def acls(tmp_path, kafka_sasl_bootstrap):
    """Topics, records, committed offsets and carol's ACLs, made by alice (removed after)."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import (
        AclBinding,
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        AdminClient,
        NewTopic,
        ResourcePatternType,
        ResourceType,
    )

    alice = _alice(kafka_sasl_bootstrap)
    admin = AdminClient(alice)
    tag = uuid.uuid4().hex[:8]
    a, b, target = f"authz-a-{tag}", f"authz-b-{tag}", f"authz-target-{tag}"
    c = f"authz-c-{tag}"
    g1, g2 = f"authz-g1-{tag}", f"authz-g2-{tag}"
    for future in admin.create_topics([NewTopic(t, 1, 1) for t in (a, b, c, target)]).values():
        future.result(timeout=30)

    def allow(kind, name, op):
        return AclBinding(
            kind, name, ResourcePatternType.LITERAL, "User:carol", "*", op, AclPermissionType.ALLOW
        )

    bindings = [
        allow(ResourceType.TOPIC, a, AclOperation.READ),
        allow(ResourceType.TOPIC, a, AclOperation.DESCRIBE),
        allow(ResourceType.TOPIC, target, AclOperation.DESCRIBE),
        allow(ResourceType.TOPIC, c, AclOperation.DESCRIBE),
        allow(ResourceType.GROUP, g1, AclOperation.READ),
        allow(ResourceType.GROUP, g1, AclOperation.DESCRIBE),
    ]
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)
    _wait_until_carol_sees(kafka_sasl_bootstrap, [a, c, target])

    producer = Producer(alice)
    for topic in (a, b, c):
        for n in range(3):
            producer.produce(
                topic,
                key=f"k{n}".encode(),
                value=json.dumps({"topic": topic, "n": n}).encode(),
                headers=[("traceparent", f"00-{TRACE_ID}-00f067aa0ba902b{n}-01")],
            )
    assert producer.flush(30) == 0
    for group, topic in ((g1, a), (g2, b)):
        consumer = Consumer({**alice, "group.id": group, "enable.auto.commit": False})
        consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
        consumer.close()

    config = tmp_path / "config.toml"
    config.write_text(f"""
[clusters.carol]
bootstrap = "{kafka_sasl_bootstrap}"
security_protocol = "SASL_PLAINTEXT"
sasl_mechanism = "PLAIN"
username = "carol"
password_env = "EVTUI_TEST_CAROL_PASSWORD"
""")
    yield Acls(a, b, c, target, g1, g2, str(config), alice)
    with contextlib.suppress(Exception):
        for future in admin.delete_acls(
            [
                AclBindingFilter(
                    ResourceType.ANY,
                    None,
                    ResourcePatternType.ANY,
                    "User:carol",
                    None,
                    AclOperation.ANY,
                    AclPermissionType.ANY,
                )
            ]
        ).values():
            future.result(timeout=30)
    with contextlib.suppress(Exception):
        admin.delete_consumer_groups([g1, g2])
    for future in admin.delete_topics([a, b, c, target]).values():
        with contextlib.suppress(Exception):
            future.result(timeout=30)


def _wait_until_carol_sees(bootstrap: str, topics: list[str], timeout: float = 30) -> None:
    """ACLs reach the broker's authorizer through the metadata log a moment after
    create_acls returns: wait until carol may describe the topics granted to her."""
    from confluent_kafka import Consumer

    carol = {
        **_alice(bootstrap),
        "sasl.username": "carol",
        "sasl.password": "carol-secret",
        "group.id": f"authz-wait-{uuid.uuid4().hex[:6]}",
    }
    consumer = Consumer(carol)
    deadline = time.monotonic() + timeout
    try:
        for topic in topics:
            while True:
                found = consumer.list_topics(topic, timeout=10).topics.get(topic)
                if found is not None and found.error is None:
                    break
                assert time.monotonic() < deadline, f"carol still may not see {topic}"
                time.sleep(0.1)
    finally:
        consumer.close()


def _carol(evtui_cli, acls: Acls, *args: str):
    return evtui_cli(
        *args,
        "--cluster",
        "carol",
        "--config",
        acls.config,
        "--timeout",
        "10",
        env={"EVTUI_TEST_CAROL_PASSWORD": "carol-secret"},
    )


def test_tail_reads_the_allowed_topic_and_says_once_the_other_is_not_authorized(acls, evtui_cli):
    proc = _carol(
        evtui_cli, acls, "tail", acls.a, acls.b, "--from", "beginning", "--until", "end",
        "--format", "json",
    )  # fmt: skip
    err = proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [(r["topic"], r["value"]["n"]) for r in rows] == [(acls.a, 0), (acls.a, 1), (acls.a, 2)]
    assert err.count("not authorized") == 1, err
    assert f"not authorized to read topic '{acls.b}'" in err, err
    assert "Traceback" not in err
    # a topic not read is a failure of the command, told by the exit code at the end
    assert proc.returncode == 1, err
    assert err.splitlines()[-1].startswith("evtui: error: 1 topic(s) could not be read"), err


def test_tail_of_a_topic_carol_sees_but_may_not_read(acls, evtui_cli):
    # the broker lists it and refuses the fetch: said once, and the tail still ends
    proc = _carol(
        evtui_cli, acls, "tail", acls.a, acls.c, "--from", "beginning", "--until", "end",
        "--format", "json",
    )  # fmt: skip
    err = proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [(r["topic"], r["value"]["n"]) for r in rows] == [
        (acls.a, 0),
        (acls.a, 1),
        (acls.a, 2),
    ], err
    assert err.count("not authorized") == 1, err
    assert f"not authorized to read topic '{acls.c}'" in err, err
    assert "Group authorization" not in err and "None[" not in err, err
    assert proc.returncode == 1, err


def test_tail_of_only_a_denied_topic_is_one_line(acls, evtui_cli):
    proc = _carol(evtui_cli, acls, "tail", acls.b, "--from", "beginning", "--until", "end")
    assert_one_line_error(proc, f"not authorized to read topic '{acls.b}'", code=1)
    assert proc.stdout == b""


def test_lag_shows_the_allowed_group_and_names_a_denied_one(acls, evtui_cli):
    proc = _carol(evtui_cli, acls, "lag", "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    shown = proc.stdout.decode()
    assert acls.g1 in shown
    # the broker lists only the groups carol may describe: g2 is not even named
    assert acls.g2 not in shown and acls.g2 not in proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()

    one = _carol(evtui_cli, acls, "lag", "--group", acls.g1, "--format", "json")
    assert one.returncode == 0, one.stderr.decode()
    assert acls.g1 in one.stdout.decode()

    denied = _carol(evtui_cli, acls, "lag", "--group", acls.g2)
    assert_one_line_error(denied, f"not authorized to describe consumer group '{acls.g2}'", code=1)


def test_trace_finds_the_trace_in_the_allowed_topic_and_notes_the_denied_one(acls, evtui_cli):
    proc = _carol(
        evtui_cli, acls, "trace", TRACE_ID, acls.a, acls.b, "--from", "beginning",
        "--format", "json",
    )  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 0, err  # found: the trace is there, in what could be read
    assert f"not authorized to read topic '{acls.b}'" in err, err
    assert err.count("not authorized") == 1, err
    text = proc.stdout.decode()
    assert acls.a in text and acls.b not in text

    # a pattern matches only the topics the broker lets carol see: B is not among them
    pattern = _carol(
        evtui_cli, acls, "trace", TRACE_ID, f"^authz-(a|b)-{acls.a.rsplit('-', 1)[1]}$",
        "--from", "beginning", "--format", "json",
    )  # fmt: skip
    assert pattern.returncode == 0, pattern.stderr.decode()
    assert acls.a in pattern.stdout.decode() and acls.b not in pattern.stdout.decode()


def _target_records(acls: Acls) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**acls.alice, "group.id": f"authz-check-{uuid.uuid4().hex[:6]}"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(acls.target, 0), timeout=10)
    finally:
        consumer.close()
    return high - low


def test_replay_into_a_topic_carol_may_not_write_fails_before_writing(acls, evtui_cli):
    proc = _carol(evtui_cli, acls, "replay", acls.a, "--to", acls.target, "--execute")
    line = assert_one_line_error(
        proc, f"not authorized to write to target topic '{acls.target}'", code=1
    )
    assert "nothing was written" in line
    assert _target_records(acls) == 0  # checked as alice

    hidden = _carol(evtui_cli, acls, "replay", acls.a, "--to", acls.b, "--execute")
    assert_one_line_error(hidden, f"not authorized to describe target topic '{acls.b}'", code=1)
