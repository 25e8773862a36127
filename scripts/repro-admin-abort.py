#!/usr/bin/env python3
"""Reproduce librdkafka's aborts on admin requests around broker restarts (issue 15).

    scripts/repro-admin-abort.py [--mode MODE] [--rounds N]

Starts its own broker (scripts/kafka-local on ports 29292-29294, or $EVTUI_REPRO_PORT and
the next two; state in a temp dir, deleted at the end), commits an offset for one group,
then runs a child process with one AdminClient that, each round, while the broker is
stopped, asks
``describe_consumer_groups`` and ``list_consumer_group_offsets`` and waits 3 s for them:

- ``timeout``: the requests carry ``request_timeout=2`` and time out in librdkafka
  (what evtui did). The coordinator lookup behind them is never cancelled (librdkafka's
  ``rd_kafka_coord_req`` has no timeout of its own): once the broker is back it sends
  the request for an admin operation that was already destroyed, frees the operation's
  ``eonce`` and then reads it again in ``rd_kafka_admin_coord_response_parse``:
  ``rd_kafka_enq_once_del_source_return: Assertion 'eonce->refcnt > 0' failed``, SIGABRT.
- ``abandon``: the requests carry a request timeout far beyond the wait, so librdkafka never
  times them out; the caller gives up after its own 3 s and drops the AdminClient (destroying
  it fails the pending coordinator lookups once, cleanly) and makes a new one (what evtui
  does now).
- ``describe-cluster``: ``describe_cluster`` is asked again and again (as evtui's pollers
  did, as a reachability check) while the broker restarts. A broker that has just started
  may answer Metadata with no brokers and no topics; librdkafka's metadata parser says
  "should retry" without marking the reply as failed, the DescribeCluster parser then
  returns neither an error nor a result: ``rd_kafka_admin_response_parse: Assertion
  'rko_result' failed``, SIGABRT.
- ``list-topics``: the same with ``list_topics`` (what evtui asks now), which retries.
- ``offsets``: ``list_consumer_group_offsets`` asked again and again. When its OffsetFetch
  answer carries a coordinator error (the coordinator is loading, or moved), librdkafka
  asks the client's consumer group to look the coordinator up again, and an AdminClient
  has none: SIGSEGV in ``rd_kafka_cgrp_op`` (it may take many restarts; evtui's pollers
  hit it in 6 to 26 quick restarts).

Prints one line per round and exits 0 when the child survived every round, 1 when it died
(with the child's exit status and its last stderr line).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PORT = int(os.environ.get("EVTUI_REPRO_PORT", "29292"))  # and the next two
PORTS = {"EVTUI_KAFKA_PORT": str(_PORT), "EVTUI_KAFKA_SASL_PORT": str(_PORT + 1),
         "EVTUI_KAFKA_CONTROLLER_PORT": str(_PORT + 2)}  # fmt: skip
BOOTSTRAP = f"127.0.0.1:{PORTS['EVTUI_KAFKA_PORT']}"
GROUP = "repro-group"
TOPIC = "repro-topic"

CHILD = r"""
import sys, time
import confluent_kafka as ck
from confluent_kafka.admin import AdminClient
from concurrent.futures import wait

bootstrap, mode, group = sys.argv[1:4]
props = {"bootstrap.servers": bootstrap}
admin = AdminClient(props)
print("ready", flush=True)
if mode in ("describe-cluster", "list-topics", "offsets"):
    import threading

    def ask_again_and_again():
        global admin
        while True:
            try:
                if mode == "describe-cluster":
                    wait([admin.describe_cluster(request_timeout=3600.0)], timeout=0.5)
                elif mode == "offsets":
                    request = [ck.ConsumerGroupTopicPartitions(group)]
                    futures = admin.list_consumer_group_offsets(request, request_timeout=3600.0)
                    if wait(futures.values(), timeout=0.5).not_done:
                        admin = AdminClient(props)  # evtui's way: a fresh client
                else:
                    admin.list_topics(timeout=0.5)
            except ck.KafkaException:
                pass

    threading.Thread(target=ask_again_and_again, daemon=True).start()
    for line in sys.stdin:
        print("asking all the time", flush=True)
    sys.exit(0)
for line in sys.stdin:  # one line per round: the broker is down now
    timeout = 2.0 if mode == "timeout" else 3600.0
    futures = [
        *admin.describe_consumer_groups([group], request_timeout=timeout).values(),
        *admin.list_consumer_group_offsets(
            [ck.ConsumerGroupTopicPartitions(group)], request_timeout=timeout
        ).values(),
    ]
    done, pending = wait(futures, timeout=3.0)
    errors = [f.exception() for f in done]
    timed_out = sum(1 for e in errors if e is not None)
    if mode == "abandon" and pending:
        admin = AdminClient(props)  # the old client (and its lookups) is destroyed here
    print(f"asked: {timed_out} failed, {len(pending)} pending", flush=True)
"""


def kafka(cmd: str, env: dict[str, str], *args: str) -> None:
    subprocess.run([str(ROOT / "scripts/kafka-local"), cmd, *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def seed_group() -> None:
    import confluent_kafka as ck
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(30)
    producer = ck.Producer({"bootstrap.servers": BOOTSTRAP})
    producer.produce(TOPIC, b"x")
    producer.flush(30)
    consumer = ck.Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": GROUP,
                            "enable.auto.commit": False})  # fmt: skip
    consumer.commit(offsets=[ck.TopicPartition(TOPIC, 0, 1)], asynchronous=False)
    consumer.close()


def run(mode: str, rounds: int, env: dict[str, str]) -> int:
    with tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, BOOTSTRAP, mode, GROUP],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip
        assert child.stdin and child.stdout
        child.stdout.readline()
        for n in range(1, rounds + 1):
            kafka("stop", env)
            answer = ask(child) if child.poll() is None else "-"
            kafka("start", env, "--keep")
            deadline = time.monotonic() + 20
            while child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)  # the broker is back: a dangling lookup fires now
            if child.poll() is not None:
                stderr.seek(0)
                said = [line for line in stderr.read().splitlines() if not line.startswith("%")]
                last = (said or ["?"])[-1]
                print(f"round {n}: {answer}; child died with status {child.returncode}: {last}")
                return 1
            print(f"round {n}: {answer}; child alive 20 s after the broker came back")
        child.stdin.close()
        child.wait(30)
    print(f"mode {mode}: survived {rounds} rounds")
    return 0


def ask(child: subprocess.Popen) -> str:
    """Tell the child that the broker is down; its answer (empty when it died)."""
    assert child.stdin and child.stdout
    try:
        child.stdin.write("go\n")
        child.stdin.flush()
    except BrokenPipeError:
        return "-"
    return child.stdout.readline().strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--mode",
        choices=["timeout", "abandon", "describe-cluster", "list-topics", "offsets"],
        default="timeout",
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="evtui-repro-kafka-")
    env = {**os.environ, **PORTS, "EVTUI_KAFKA_HOME": home}
    try:
        kafka("start", env)
        seed_group()
        return run(args.mode, args.rounds, env)
    finally:
        subprocess.run([str(ROOT / "scripts/kafka-local"), "stop"], env=env,
                       stdout=subprocess.DEVNULL, check=False)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
