"""bench/ingest: how fast evtui reads and decodes a topic, next to kcat on the same topic.

Produces N realistic ~300-byte JSON events with correlation headers to a real
broker, then measures in the same run, each in its own process:

  (a) kcat -C -e reading the topic to /dev/null (the reference)
  (b) evtui's Kafka source alone (records -> Events)
  (c) evtui's source + decode (every value decoded)
  (d) `evtui tail --format json` writing to /dev/null (the whole CLI)

and prints events/s, the ratio to kcat and each process's peak RSS.
Without --bootstrap-servers it starts the broker with scripts/kafka-local
(and stops it again if it was not running).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "scripts" / "kafka-local"
sys.path.insert(0, str(ROOT))

TYPES = ["OrderPlaced", "PaymentAuthorized", "StockReserved", "ShipmentCreated", "OrderShipped"]
SERVICES = ["storefront", "payment", "inventory", "shipping", "notification"]


def make_event(i: int, rng: random.Random) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    order = f"order-{rng.randrange(1_000_000):06d}"
    correlation = uuid.UUID(int=rng.getrandbits(128)).hex
    event_id = uuid.UUID(int=rng.getrandbits(128))
    service = SERVICES[i % len(SERVICES)]
    value = (
        f'{{"eventId":"{event_id}","type":"{TYPES[i % len(TYPES)]}",'
        f'"occurredAt":"2026-11-26T10:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",'
        f'"orderId":"{order}","customerId":"cust-{rng.randrange(50_000)}",'
        f'"sequence":{i},"items":[{{"sku":"sku-{rng.randrange(9999):04d}","qty":{1 + i % 3},'
        f'"price":{rng.randrange(100, 99_999) / 100}}}],'
        f'"total":{rng.randrange(100, 500_000) / 100},'
        f'"currency":"EUR","source":"{service}"}}'
    ).encode()
    headers = [
        ("traceparent", f"00-{correlation}-{rng.getrandbits(64):016x}-01".encode()),
        ("correlation-id", correlation.encode()),
        ("causation-id", str(uuid.UUID(int=rng.getrandbits(128))).encode()),
    ]
    return order.encode(), value, headers


def produce(bootstrap: str, topic: str, count: int, partitions: int) -> tuple[float, int]:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=30)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 1_000_000,
            "compression.type": "none",
            "acks": "1",
        }
    )
    rng = random.Random(42)
    total_bytes = 0
    started = time.perf_counter()
    for i in range(count):
        key, value, headers = make_event(i, rng)
        total_bytes += len(value)
        while True:
            try:
                producer.produce(topic, value, key, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120):
        raise SystemExit("bench/ingest: producing did not finish within 120 s")
    return time.perf_counter() - started, total_bytes


def run_measured(
    argv: list[str], stdout: int | None = subprocess.DEVNULL
) -> tuple[float, int, str]:
    """Run a process; (wall seconds, peak RSS bytes, its stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE)
    out = proc.stdout.read().decode() if stdout == subprocess.PIPE else ""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench/ingest: {argv[0]} failed: {err.strip()[-500:]}")
    return elapsed, usage.ru_maxrss * 1024, out


def consume_child(bootstrap: str, topic: str, mode: str) -> None:
    """Child process: read the whole topic with evtui's source; print JSON figures."""
    from evtui.config import ClientConfig
    from evtui.core.positions import BEGINNING, END
    from evtui.plugins import load_plugins
    from evtui.runtime import tune_gc
    from evtui.sources.kafka import KafkaSource

    load_plugins()
    tune_gc()  # as the evtui command does
    started = time.perf_counter()
    source = KafkaSource(ClientConfig({"bootstrap.servers": bootstrap}), [topic], BEGINNING, END)
    source.open()
    source.start()
    count = errors = 0
    decode = mode == "decode"
    while (batch := source.get_batch(0.5)) is not None:
        count += len(batch)
        if decode:
            for event in batch:
                if event.decoded.error:
                    errors += 1
    elapsed = time.perf_counter() - started
    source.stop()
    print(json.dumps({"events": count, "seconds": elapsed, "decode_errors": errors}))


def fmt_rate(events: int, seconds: float) -> str:
    return f"{events / seconds:>12,.0f} events/s"


def measure(args: argparse.Namespace, bootstrap: str, topic: str) -> dict:
    results: dict = {}
    kcat = shutil.which("kcat")
    if kcat is None:
        raise SystemExit("bench/ingest: kcat is required as the reference (apt-get install kcat)")
    kcat_argv = [kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q"]
    py = sys.executable
    me = str(Path(__file__).resolve())
    for _ in range(args.repeat):
        secs, rss, _ = run_measured(kcat_argv)
        results.setdefault("kcat -C -e", []).append((args.count, secs, rss))
        for mode, label in (("source", "evtui source"), ("decode", "evtui source+decode")):
            _, rss, out = run_measured(
                [py, me, "_consume", bootstrap, topic, mode], stdout=subprocess.PIPE
            )
            figures = json.loads(out)
            if figures["events"] != args.count:
                raise SystemExit(
                    f"bench/ingest: {label} read {figures['events']} events, expected {args.count}"
                )
            results.setdefault(label, []).append((figures["events"], figures["seconds"], rss))
        secs, rss, _ = run_measured(
            [
                py,
                "-m",
                "evtui",
                "tail",
                topic,
                "-b",
                bootstrap,
                "--from",
                "beginning",
                "--until",
                "end",
                "--format",
                "json",
            ]
        )
        results.setdefault("evtui tail --format json", []).append((args.count, secs, rss))
    return {label: min(runs, key=lambda r: r[1]) for label, runs in results.items()}


def report(args: argparse.Namespace, best: dict, produce_s: float, avg_size: float) -> None:
    ref = args.count / best["kcat -C -e"][1]
    print(
        f"bench/ingest: {args.count:,} events, value avg {avg_size:.0f} B + 3 headers, "
        f"{args.partitions} partitions; best of {args.repeat}"
    )
    print(f"  {'produce (setup)':<28}{produce_s:>8.2f} s {fmt_rate(args.count, produce_s)}")
    summary = {
        "count": args.count,
        "partitions": args.partitions,
        "avg_value_bytes": avg_size,
        "results": {},
    }
    for label, (events, secs, rss) in best.items():
        rate = events / secs
        print(
            f"  {label:<28}{secs:>8.2f} s {fmt_rate(events, secs)}"
            f"  {rate / ref:>5.2f}x kcat   peak RSS {rss / 2**20:>6.0f} MiB"
        )
        summary["results"][label] = {
            "seconds": round(secs, 3),
            "events_per_s": round(rate),
            "ratio_to_kcat": round(rate / ref, 3),
            "peak_rss_mib": round(rss / 2**20, 1),
        }
    print(
        "  (evtui source rows are timed from connect to the last event, in a fresh process;"
        " kcat and tail rows are whole-process wall time)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")


def start_broker() -> tuple[str, bool]:
    was_running = subprocess.run([HARNESS, "status"], capture_output=True).returncode == 0
    out = subprocess.run([HARNESS, "start"], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1], not was_running


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_consume":
        consume_child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(prog="bench/ingest", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1_000_000)
    parser.add_argument("-p", "--partitions", type=int, default=4)
    parser.add_argument("-b", "--bootstrap-servers", default=os.environ.get("EVTUI_TEST_BOOTSTRAP"))
    parser.add_argument("--repeat", type=int, default=1, help="runs per reader; the best counts")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the topic afterwards")
    args = parser.parse_args()
    if args.count < 1 or args.partitions < 1 or args.repeat < 1:
        parser.error("--count, --partitions and --repeat must be >= 1")
    started_here = False
    bootstrap = args.bootstrap_servers
    if not bootstrap:
        bootstrap, started_here = start_broker()
    topic = f"evtui-bench-ingest-{uuid.uuid4().hex[:8]}"
    try:
        produce_s, total_bytes = produce(bootstrap, topic, args.count, args.partitions)
        best = measure(args, bootstrap, topic)
        report(args, best, produce_s, total_bytes / args.count)
    finally:
        if not args.keep:
            from confluent_kafka.admin import AdminClient

            AdminClient({"bootstrap.servers": bootstrap}).delete_topics([topic])
        if started_here:
            subprocess.run([HARNESS, "stop"], capture_output=True, check=False)


if __name__ == "__main__":
    main()
