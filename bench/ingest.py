"""bench/ingest: how fast evtui reads and decodes a topic, next to kcat on the same topic.

Produces N realistic ~300-byte JSON events with correlation headers to a real
broker, then measures in the same run, each in its own process:

  (a) kcat -C -e reading the topic to /dev/null (the reference)
  (b) evtui's Kafka source alone (records -> Events)
  (c) evtui's source + decode (every value decoded)
  (c') evtui's source + every event's ids extracted (what the console's trace
       index and `evtui trace` do to every event)
  (d) `evtui tail --format json` writing to /dev/null (the whole CLI)
  (e) evtui's source + a Checker of every ordering kind (the loop of (b))
  (f) `evtui check --format json` writing to /dev/null (the whole CLI)
  (g) evtui's source + ids + the flow model (issue 17: flow on vs off, against (c'))
  (h) `evtui flow --format json` (the whole CLI)

With --schema-registry URL (or $EVTUI_SCHEMA_REGISTRY_URL) the same events are
also written in Avro through the registry (the evtui-schema-registry plugin's
wire format, schema registered as ``<topic>-avro-value``) and read again:

  (i) kcat on the Avro topic (its reference), evtui's source + decode of every
      Avro value (against (c): the cost of Avro over JSON), and
      `evtui tail --format json` on it (the whole CLI)

and prints events/s, the ratio to kcat and each process's peak RSS. Then
(--distinct N, 1,000,000 by default) the memory goal: `evtui check -F json`
over N such events that each have a key of their own (per-key state at its
largest), its peak RSS against 400 MiB.
Without --bootstrap-servers it starts the broker with scripts/kafka-local
(and stops it again if it was not running).

The ordering checks (issue 7: "all detectors on together cost no more than
25% of ingest throughput") are costed as 1 - rate with / rate without: (e)
against (b), the goal's baseline, as the same loop over the same records, so
that the identity extraction and JSON peeks the checks need count as theirs;
(e) against (c'), the detection alone when ids are known already; (f) against
(d), command against command. The events are orders of five steps, 1,000 in
flight: per key, ``sequence`` 1..5 and ``occurredAt`` a second apart; every
step after the first names the step before it as ``causation-id`` (a real
cause, so the causal detector does its bookkeeping instead of reporting every
event an orphan). One order in 1,000 carries each of five faults (a lost cause,
an event time 5 s early, a skipped sequence number, a reused event id, a record
stamped 60 s early), so a correct run finds exactly 200 of each kind per
million events: the bench prints what was planted and what (e) and (f) found.
The producer is idempotent, so retries cannot reorder what was planted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# bench/broker.py and bench/order_events.py (tests import expected_findings and make_event
# from here)
from broker import HARNESS, start_broker  # noqa: E402
from order_events import SKEW_MS, expected_findings, fault_of, make_event  # noqa: E402


def produce(
    bootstrap: str,
    topic: str,
    count: int,
    partitions: int,
    distinct: bool = False,
    encode: Callable[[bytes], bytes] | None = None,
) -> tuple[float, int]:
    """Produce the events (``distinct``: every one with a key of its own; ``encode``: the
    value written instead of the JSON one); (seconds, bytes of values)."""
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
            "enable.idempotence": True,  # no reordering on a retry: the findings are the planted
            "acks": "all",
        }
    )
    rng = random.Random(42)
    total_bytes = 0
    started = time.perf_counter()
    for i in range(count):
        key, value, headers = make_event(i, rng)
        if distinct:
            key = f"key-{i:09d}".encode()
        if encode is not None:
            value = encode(value)
        total_bytes += len(value)
        skewed = fault_of(i) == "causal_inversion"  # 0: the producer's clock
        stamp = int(time.time() * 1000) - SKEW_MS if skewed else 0
        while True:
            try:
                producer.produce(topic, value, key, headers=headers, timestamp=stamp)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120):
        raise SystemExit("bench/ingest: producing did not finish within 120 s")
    return time.perf_counter() - started, total_bytes


def run_measured(
    argv: list[str],
    stdout: int | None = subprocess.DEVNULL,
    ok: tuple[int, ...] = (0,),
    env: dict[str, str] | None = None,
) -> tuple[float, int, str, str]:
    """Run a process; (wall seconds, peak RSS bytes, its stdout, its stderr)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=env)
    out = proc.stdout.read().decode() if stdout == subprocess.PIPE else ""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) not in ok:
        raise SystemExit(f"bench/ingest: {argv[0]} failed: {err.strip()[-500:]}")
    return elapsed, usage.ru_maxrss * 1024, out, err


def consume_child(bootstrap: str, topic: str, mode: str) -> None:
    """Child process: read the whole topic with evtui's source; print JSON figures.

    ``mode``: ``source`` (records -> Events), ``decode`` (+ every value
    decoded), ``ids`` (+ every event's ids extracted), ``check`` (+ every
    event offered to a Checker of all kinds, finished at the end) or ``flow``
    (+ ids, + every event offered to the flow model): the same loop each time.
    """
    from evtui.config import ClientConfig
    from evtui.core.flow import FlowModel
    from evtui.core.native import fill_ids
    from evtui.core.ordering import Checker
    from evtui.core.positions import BEGINNING, END
    from evtui.core.problems import RecordProblems
    from evtui.plugins import Settings, load_plugins
    from evtui.runtime import tune_gc
    from evtui.sources.kafka import KafkaSource

    url = os.environ.get("EVTUI_SCHEMA_REGISTRY_URL")
    if url:
        from evtui.config import parse_registry_url

        load_plugins(settings=Settings(schema_registry=parse_registry_url(url)))
    else:
        load_plugins()
    tune_gc()  # as the evtui command does
    checker = Checker() if mode == "check" else None
    problems = RecordProblems()
    started = time.perf_counter()
    source = KafkaSource(ClientConfig({"bootstrap.servers": bootstrap}), [topic], BEGINNING, END)
    source.open()
    source.start()
    count = errors = 0
    decode, ids = mode == "decode", mode == "ids"
    flow = FlowModel() if mode == "flow" else None
    while (batch := source.get_batch(0.5)) is not None:
        count += len(batch)
        if decode:
            for event in batch:
                if event.decoded.error:
                    errors += 1
        elif ids:
            fill_ids(batch)  # as the commands' scans do (core.problems.offer_all)
            for event in batch:
                event.ids  # noqa: B018 (extracted and cached)
        elif checker is not None:
            checker.offer_batch(batch, problems)  # as evtui check's scan does
        elif flow is not None:
            fill_ids(batch)  # as the console's trace index and evtui flow do
            flow.offer_batch(batch)  # as evtui flow does
    if checker is not None:
        checker.finish()
    elapsed = time.perf_counter() - started
    source.stop()
    figures = {"events": count, "seconds": elapsed, "decode_errors": errors}
    if checker is not None:
        figures |= {"findings": checker.summary(), "notes": checker.notes()}
    if flow is not None:
        graph = flow.snapshot()
        figures |= {"flow": {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}}
    print(json.dumps(figures))


def fmt_rate(events: int, seconds: float) -> str:
    return f"{events / seconds:>12,.0f} events/s"


SOURCE, DECODE, IDS = "evtui source", "evtui source+decode", "evtui source+ids"
CHECK, TAIL, CHECK_CLI = "evtui source+check", "evtui tail --format json", "evtui check -F json"
FLOW, FLOW_CLI = "evtui source+flow", "evtui flow -F json"
PYTHON = " (Python)"  # the same run with EVTUI_NATIVE=0: the Python implementation alone
# (mode, label, native hot path on)
CHILD_RUNS = (
    ("source", SOURCE, True),
    ("decode", DECODE, True),
    ("ids", IDS, True),
    ("ids", IDS + PYTHON, False),
    ("check", CHECK, True),
    ("check", CHECK + PYTHON, False),
    ("flow", FLOW, True),
)
GOAL = 0.25  # the detectors may cost at most this share of the rate without them
# issue 16: the least rate, as a share of kcat's on the same topic, of each whole command
RATE_GOALS = ((CHECK_CLI, 0.5), (TAIL, 0.33))
# cost = 1 - rate(with the detectors) / rate(without): (run, its baseline, why that baseline)
COSTS = (
    (CHECK, SOURCE, "the goal's: the same loop and records; ids and JSON peeks are the checks'"),
    (CHECK, IDS, "the detection alone: ids as the console's trace index already has them"),
    (CHECK_CLI, TAIL, "the whole CLI, scan to output"),
)


def run_child(
    args: argparse.Namespace, bootstrap: str, topic: str, mode: str, native: bool = True
) -> tuple:
    """One ``_consume`` child: ((events, seconds, peak RSS), its figures)."""
    me = str(Path(__file__).resolve())
    argv = [sys.executable, me, "_consume", bootstrap, topic, mode]
    env = {**os.environ, "EVTUI_NATIVE": "1" if native else "0"}
    _, rss, out, _ = run_measured(argv, stdout=subprocess.PIPE, env=env)
    figures = json.loads(out)
    if figures["events"] != args.count:
        raise SystemExit(f"bench/ingest: {mode} read {figures['events']}, expected {args.count}")
    return (figures["events"], figures["seconds"], rss), figures


def cli_argv(bootstrap: str, topic: str, command: str) -> list[str]:
    """``evtui tail``, ``check`` or ``flow`` over the whole topic, JSON out."""
    bounds = ["--from", "beginning", "--until", "end"]
    return [sys.executable, "-m", "evtui", command, topic, "-b", bootstrap, *bounds, "-F", "json"]


def check_cli_findings(stderr: str) -> tuple[dict[str, int], list[str]]:
    """The summary `evtui check` prints on stderr: findings by kind, and its notes."""
    found: dict[str, int] = {}
    notes = [line.split("note: ", 1)[1] for line in stderr.splitlines() if " note: " in line]
    match = re.search(r"findings: (.*)", stderr)
    for part in (match[1].split(" (")[0] if match else "").split(", "):
        kind, _, n = part.rpartition(" ")
        if kind:
            found[kind] = int(n.replace(",", ""))
    return found, notes


def measure(args: argparse.Namespace, bootstrap: str, topic: str) -> tuple[dict, dict]:
    """Every reader ``args.repeat`` times: (the best run of each, the findings of each check)."""
    results: dict = {}
    findings: dict = {}
    kcat = shutil.which("kcat")
    if kcat is None:
        raise SystemExit("bench/ingest: kcat is required as the reference (apt-get install kcat)")
    kcat_argv = [kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q"]
    for _ in range(args.repeat):
        secs, rss, _, _ = run_measured(kcat_argv)
        results.setdefault("kcat -C -e", []).append((args.count, secs, rss))
        for mode, label, native in CHILD_RUNS:
            run, figures = run_child(args, bootstrap, topic, mode, native)
            results.setdefault(label, []).append(run)
            if mode == "check":
                findings[label] = (figures["findings"], figures["notes"])
            if mode == "flow":
                findings[FLOW] = figures["flow"]
        secs, rss, _, _ = run_measured(cli_argv(bootstrap, topic, "tail"))
        results.setdefault(TAIL, []).append((args.count, secs, rss))
        secs, rss, _, err = run_measured(cli_argv(bootstrap, topic, "check"), ok=(0, 1))
        results.setdefault(CHECK_CLI, []).append((args.count, secs, rss))
        findings[CHECK_CLI] = check_cli_findings(err)
        secs, rss, _, _ = run_measured(cli_argv(bootstrap, topic, "flow"))
        results.setdefault(FLOW_CLI, []).append((args.count, secs, rss))
    return {label: min(runs, key=lambda r: r[1]) for label, runs in results.items()}, findings


def report(args: argparse.Namespace, best: dict, produce_s: float, avg_size: float) -> dict:
    ref = args.count / best["kcat -C -e"][1]
    print(
        f"bench/ingest: {args.count:,} events, value avg {avg_size:.0f} B + 2-3 headers, "
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
        " kcat, tail and check rows are whole-process wall time)"
    )
    return summary


def report_detectors(args: argparse.Namespace, best: dict, findings: dict, summary: dict) -> None:
    """The detectors' cost against the goal, and what they found against what was planted."""
    rate = {label: events / secs for label, (events, secs, _) in best.items()}
    print(f"  detectors (a Checker of every kind): cost = 1 - rate with / rate without, goal <= "
          f"{GOAL:.0%}")  # fmt: skip
    summary["detector_cost"] = {}
    for run, baseline, why in COSTS:
        cost = 1 - rate[run] / rate[baseline]
        verdict = "PASS" if cost <= GOAL else "MISS"
        print(f"    {run} vs {baseline}: {cost:6.1%}  {verdict}   ({why})")
        summary["detector_cost"][run] = {"baseline": baseline, "cost": round(cost, 4)}
    ref = rate["kcat -C -e"]
    print("  commands against kcat on the same topic (issue 16's goals):")
    for label, least in RATE_GOALS:
        ratio = rate[label] / ref
        verdict = "PASS" if ratio >= least else "MISS"
        print(f"    {label}: {ratio:.2f}x kcat, goal >= {least:.2f}x  {verdict}")
        summary["detector_cost"][label] = {"ratio_to_kcat": round(ratio, 3), "goal": least}
    flow = findings.pop(FLOW, None)
    if flow is not None:  # issue 17: the flow model's bookkeeping, on vs off (no goal stated)
        cost = 1 - rate[FLOW] / rate[IDS]
        print(f"  flow model: {FLOW} vs {IDS}: cost {cost:.1%} ({flow['nodes']} nodes, "
              f"{flow['edges']} edges); {FLOW_CLI}: {rate[FLOW_CLI] / ref:.2f}x kcat")  # fmt: skip
        summary["flow"] = {"cost_vs_ids": round(cost, 4), **flow}
    expected = expected_findings(args.count)
    print(f"  findings planted: {_kinds(expected)}")
    for label, (found, notes) in findings.items():
        same = "as planted" if found == expected else "DIFFERENT from what was planted"
        print(f"    {label}: {_kinds(found)}: {same}")
        for note in notes:
            print(f"      note: {note}")
    summary["findings"] = {"expected": expected} | {k: v[0] for k, v in findings.items()}


MEMORY_GOAL_MIB, MEMORY_GOAL_EVENTS = 400, 1_000_000  # issue 16: check's peak RSS, 1M keys


def measure_memory(args: argparse.Namespace, bootstrap: str, summary: dict) -> None:
    """`evtui check` over ``args.distinct`` events that each have a key of their own: the
    per-key state at its largest (the goal: <= 400 MiB peak RSS at 1,000,000)."""
    topic = f"evtui-bench-ingest-keys-{uuid.uuid4().hex[:8]}"
    n = args.distinct
    try:
        produce(bootstrap, topic, n, args.partitions, distinct=True)
        secs, rss, _, _ = run_measured(cli_argv(bootstrap, topic, "check"), ok=(0, 1))
    finally:
        if not args.keep:
            from confluent_kafka.admin import AdminClient

            AdminClient({"bootstrap.servers": bootstrap}).delete_topics([topic])
    mib = rss / 2**20
    if n >= MEMORY_GOAL_EVENTS:
        verdict = "PASS" if mib <= MEMORY_GOAL_MIB else "MISS"
    else:
        verdict = f"(the goal is for {MEMORY_GOAL_EVENTS:,} events: run with --distinct 1000000)"
    print(f"  memory: {CHECK_CLI} over {n:,} events with {n:,} distinct keys: {secs:.2f} s, peak "
          f"RSS {mib:.0f} MiB, goal <= {MEMORY_GOAL_MIB} MiB  {verdict}")  # fmt: skip
    summary["memory"] = {"events": n, "distinct_keys": n, "peak_rss_mib": round(mib, 1)}


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n:,}" for kind, n in counts.items()) or "none"


AVRO_SCHEMA = {
    "type": "record",
    "name": "BenchEvent",
    "namespace": "evtui.bench",
    "fields": [
        {"name": "eventId", "type": "string"},
        {"name": "type", "type": "string"},
        {"name": "occurredAt", "type": "string"},
        {"name": "orderId", "type": "string"},
        {"name": "customerId", "type": "string"},
        {"name": "sequence", "type": "long"},
        {"name": "items", "type": {"type": "array", "items": {
            "type": "record", "name": "Item", "fields": [
                {"name": "sku", "type": "string"}, {"name": "qty", "type": "int"},
                {"name": "price", "type": "double"}]}}},
        {"name": "total", "type": "double"},
        {"name": "currency", "type": "string"},
        {"name": "source", "type": "string"},
    ],
}  # fmt: skip
AVRO_DECODE, AVRO_KCAT, AVRO_TAIL = (
    "evtui source+decode (Avro)",
    "kcat -C -e (Avro topic)",
    "evtui tail -F json (Avro)",
)


def produce_avro(
    bootstrap: str, registry: str, topic: str, count: int, partitions: int
) -> tuple[float, int]:
    """The same events as :func:`produce`, their values in Avro through the registry."""
    import io

    import fastavro
    from confluent_kafka.schema_registry import Schema
    from evtui_schema_registry.store import new_client

    from evtui.config import parse_registry_url

    client = new_client(parse_registry_url(registry).client_conf())
    schema_id = client.register_schema(f"{topic}-value", Schema(json.dumps(AVRO_SCHEMA), "AVRO"))
    header = b"\x00" + schema_id.to_bytes(4, "big")
    parsed = fastavro.parse_schema(AVRO_SCHEMA)

    def avro(value: bytes) -> bytes:
        out = io.BytesIO()
        out.write(header)
        fastavro.schemaless_writer(out, parsed, json.loads(value))
        return out.getvalue()

    return produce(bootstrap, topic, count, partitions, encode=avro)


def measure_avro(args: argparse.Namespace, bootstrap: str, topic: str, best: dict) -> dict:
    """Row (i): the Avro topic read by kcat, evtui's source + decode, and evtui tail."""
    kcat = shutil.which("kcat")
    assert kcat is not None
    env = {**os.environ, "EVTUI_SCHEMA_REGISTRY_URL": args.schema_registry}
    results: dict = {}
    me = str(Path(__file__).resolve())
    for _ in range(args.repeat):
        argv = [kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q"]
        secs, rss, _, _ = run_measured(argv)
        results.setdefault(AVRO_KCAT, []).append((args.count, secs, rss))
        argv = [sys.executable, me, "_consume", bootstrap, topic, "decode"]
        _, rss, out, _ = run_measured(argv, stdout=subprocess.PIPE, env=env)
        figures = json.loads(out)
        if figures["events"] != args.count or figures["decode_errors"]:
            raise SystemExit(f"bench/ingest: Avro decode read {figures}")
        results.setdefault(AVRO_DECODE, []).append((figures["events"], figures["seconds"], rss))
        secs, rss, _, _ = run_measured(cli_argv(bootstrap, topic, "tail"), env=env)
        results.setdefault(AVRO_TAIL, []).append((args.count, secs, rss))
    return {label: min(runs, key=lambda r: r[1]) for label, runs in results.items()}


def report_avro(args: argparse.Namespace, avro: dict, best: dict, summary: dict) -> None:
    ref = args.count / avro[AVRO_KCAT][1]
    json_decode = best[DECODE][0] / best[DECODE][1]
    print(f"  Avro through the registry ({args.schema_registry.split('@')[-1]}):")
    for label, (events, secs, rss) in avro.items():
        rate = events / secs
        print(
            f"  {label:<28}{secs:>8.2f} s {fmt_rate(events, secs)}"
            f"  {rate / ref:>5.2f}x kcat   peak RSS {rss / 2**20:>6.0f} MiB"
        )
        summary["results"][label] = {
            "seconds": round(secs, 3), "events_per_s": round(rate),
            "ratio_to_kcat": round(rate / ref, 3), "peak_rss_mib": round(rss / 2**20, 1),
        }  # fmt: skip
    avro_decode = avro[AVRO_DECODE][0] / avro[AVRO_DECODE][1]
    print(f"  Avro decode rate / JSON decode rate: {avro_decode / json_decode:.2f}")
    summary["avro_vs_json_decode"] = round(avro_decode / json_decode, 3)


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
    parser.add_argument(
        "--schema-registry",
        default=os.environ.get("EVTUI_SCHEMA_REGISTRY_URL"),
        help="also measure Avro values through this registry (user:pass@ in the URL if needed)",
    )
    parser.add_argument(
        "--distinct", type=int, default=1_000_000,
        help="events (each with a key of its own) for the memory goal; 0: skip it",
    )  # fmt: skip
    args = parser.parse_args()
    if args.count < 1 or args.partitions < 1 or args.repeat < 1 or args.distinct < 0:
        parser.error("--count, --partitions and --repeat must be >= 1, --distinct >= 0")
    started_here = False
    bootstrap = args.bootstrap_servers
    if not bootstrap:
        bootstrap, started_here = start_broker()
    topic = f"evtui-bench-ingest-{uuid.uuid4().hex[:8]}"
    topics = [topic]
    try:
        produce_s, total_bytes = produce(bootstrap, topic, args.count, args.partitions)
        best, findings = measure(args, bootstrap, topic)
        summary = report(args, best, produce_s, total_bytes / args.count)
        if args.schema_registry:
            avro_topic = f"{topic}-avro"
            topics.append(avro_topic)
            produce_avro(bootstrap, args.schema_registry, avro_topic, args.count, args.partitions)
            report_avro(args, measure_avro(args, bootstrap, avro_topic, best), best, summary)
        report_detectors(args, best, findings, summary)
        if args.distinct:
            measure_memory(args, bootstrap, summary)
        if args.json:
            Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        if not args.keep:
            from confluent_kafka.admin import AdminClient

            AdminClient({"bootstrap.servers": bootstrap}).delete_topics(topics)
        if started_here:
            subprocess.run([HARNESS, "stop"], capture_output=True, check=False)


if __name__ == "__main__":
    main()
