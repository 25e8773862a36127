"""bench/ui's producer: a separate process (its own GIL) that sends paced events.

``ProducerProcess`` starts this file as a child (``producer_child``): it makes a pool of
bench/ingest's realistic events, says "ready", waits for "go", sends them at a paced rate
and prints its figures as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POOL = 20_000  # distinct pre-made events the producer cycles through


def producer_child(bootstrap: str, topic: str, rate: float, seconds: float) -> None:
    """Child process: make events, say "ready", wait for "go", send paced; print JSON."""
    from confluent_kafka import Producer
    from order_events import make_event

    rng = random.Random(7)
    pool = [make_event(i, rng) for i in range(POOL)]
    avg_value = sum(len(v) for _, v, _ in pool) / len(pool)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 1_000_000,
            "compression.type": "none",
            "acks": "1",
        }
    )
    producer.list_topics(topic, timeout=10)  # connected before the clock starts
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    total = int(rate * seconds)
    produce, poll = producer.produce, producer.poll
    sent = 0
    step = 0.005
    started = time.perf_counter()
    while sent < total:
        due = min(total, int(rate * (time.perf_counter() - started)) + 1)
        while sent < due:
            key, value, headers = pool[sent % POOL]
            try:
                produce(topic, value, key, headers=headers)
            except BufferError:
                poll(0.01)
                continue
            sent += 1
        poll(0)
        ahead = (sent / rate) - (time.perf_counter() - started)
        time.sleep(max(step, ahead) if ahead > 0 else 0)
    produced = time.perf_counter()
    left = producer.flush(60)
    flushed = time.perf_counter()
    usage = os.times()
    print(
        json.dumps(
            {
                "sent": sent,
                "undelivered": left,
                "produce_s": produced - started,
                "flush_s": flushed - started,
                "started": started,
                "avg_value": avg_value,
                "cpu_s": usage.user + usage.system,
            }
        ),
        flush=True,
    )


class ProducerProcess:
    def __init__(self, args: argparse.Namespace, bootstrap: str, topic: str) -> None:
        me = str(Path(__file__).resolve())
        argv = [sys.executable, me, bootstrap, topic, str(args.rate), str(args.seconds)]
        # a file, never a pipe nobody drains; closed in kill()
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True
        )
        line = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        if line != "ready":
            errors = self.errors()
            self.kill()
            raise SystemExit(f"bench/ui: the producer did not start: {errors}")

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().strip()[-800:]

    def go(self) -> None:
        self.proc.stdin.write("go\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def result(self) -> dict:
        """Blocks until the producer is done (call from a thread)."""
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        self.proc.wait()
        if not line:
            raise SystemExit(f"bench/ui: the producer failed: {self.errors()}")
        result = json.loads(line)
        if result["undelivered"]:
            print(f"bench/ui: warning: {result['undelivered']} events undelivered", file=sys.stderr)
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


if __name__ == "__main__":
    producer_child(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
