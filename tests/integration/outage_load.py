"""The load of the restart test, in a process of its own.

``python -m tests.integration.outage_load BOOTSTRAP TOPIC GROUP`` produces to
TOPIC and consumes it in the committing consumer group GROUP, carrying on
through broker outages, until it is killed (or its stdin closes). It runs apart
from the console so that a native abort in either names its process and keeps
its stderr (a librdkafka assertion is printed there, and pytest's capture loses
it when the process it captures dies).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading

from confluent_kafka import Consumer, Producer

QUIET = logging.getLogger("outage.load")  # the clients' complaints about the outage
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False


def produce(bootstrap: str, topic: str, stop: threading.Event) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "logger": QUIET})
    n = 0
    while not stop.is_set():
        try:
            producer.produce(topic, key=f"k{n % 7}".encode(), value=f"v{n}".encode())
            n += 1
        except BufferError:
            pass  # the broker is down and the queue is full: wait
        producer.poll(0.02)
    producer.flush(10)


def consume(bootstrap: str, topic: str, group: str, stop: threading.Event) -> None:
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group,
        "auto.offset.reset": "earliest", "enable.auto.commit": False, "logger": QUIET,
    })  # fmt: skip
    consumer.subscribe([topic])
    try:
        while not stop.is_set():
            if consumer.consume(100, 0.2):
                with contextlib.suppress(Exception):  # no coordinator now: commit later
                    consumer.commit(asynchronous=True)
    finally:
        consumer.close()


def main(bootstrap: str, topic: str, group: str) -> None:
    stop = threading.Event()
    threads = [
        threading.Thread(target=produce, args=(bootstrap, topic, stop), daemon=True),
        threading.Thread(target=consume, args=(bootstrap, topic, group, stop), daemon=True),
    ]
    for thread in threads:
        thread.start()
    print("running", flush=True)
    sys.stdin.read()  # until the test closes our stdin (or dies)
    stop.set()
    for thread in threads:
        thread.join(60)


if __name__ == "__main__":
    main(*sys.argv[1:4])
