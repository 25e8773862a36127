"""bench/traces: the causal-trace engine's speed (evtui.core.traces), no broker needed.

  (1) TraceIndex holding 1,000,000 events of the seeded demo shop (run at a high
      rate through DemoSource.batches(), all topics): add rate, then lookup
      latency p50/p99/max over random correlation ids (goal: p99 < 1 ms), and
      the type-ahead ``ids(prefix)``;
  (2) build_trace + waterfall + render_tree of a 10,000-event trace (a bulk
      import fanning out into order flows; goal: < 1 s together);
  (3) TraceCollector.offer throughput over fresh demo events, identity
      extraction included as in `evtui trace` (goal: >= 100,000 events/s), and
      over events whose ids are already known (the collector's own cost).

Prints the figures and PASS/MISS per goal; always exits 0.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evtui.core.event import Event  # noqa: E402
from evtui.core.traces import (  # noqa: E402
    TraceCollector,
    TraceIndex,
    build_trace,
    render_tree,
    waterfall,
)
from evtui.runtime import tune_gc  # noqa: E402
from evtui.sim.shop import ShopSimulator  # noqa: E402
from evtui.sources.demo import DemoSource  # noqa: E402

GOAL_LOOKUP_MS = 1.0
GOAL_TRACE_S = 1.0
GOAL_SCAN_RATE = 100_000


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def demo_events(count: int, seed: int, rate: float) -> tuple[ShopSimulator, list[Event]]:
    """``count`` demo events (all topics), unpaced."""
    sim = ShopSimulator(seed=seed, rate=rate)
    source = DemoSource(sim, partitions=6, stop_group_after_ms=None)
    events: list[Event] = []
    for batch in source.batches():
        events += batch
        if len(events) >= count:
            break
    return sim, events[:count]


def fresh(events: list[Event]) -> list[Event]:
    """The same records as new Events: nothing extracted or decoded yet."""
    return [
        Event(
            e.topic, e.partition, e.offset, e.timestamp, e.timestamp_type, e.key, e.value, e.headers
        )
        for e in events
    ]


def bench_index(args: argparse.Namespace) -> bool:
    print(f"(1) TraceIndex with {args.events:,} demo events kept")
    started = time.perf_counter()
    sim, events = demo_events(args.events, args.seed, args.rate)
    print(f"    simulated {len(events):,} events in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for e in events:
        e.ids  # noqa: B018 - extraction timed on its own
    extract_s = time.perf_counter() - started
    index = TraceIndex(max_events=args.events)
    started = time.perf_counter()
    for e in events:
        index.add(e)
    add_s = time.perf_counter() - started
    print(
        f"    ids extraction {len(events) / extract_s:>12,.0f} events/s"
        f"   index.add {len(events) / add_s:>12,.0f} events/s"
        f"   kept {index.kept:,}, evicted {index.evicted:,}, {index.stats.correlation_ids:,} ids"
    )
    flows = [c for c, ids in sim.truth.flows.items() if ids]
    rng = random.Random(args.seed)
    wanted = rng.choices(flows, k=args.lookups)
    times, sizes = [], 0
    for corr in wanted:
        t0 = time.perf_counter()
        found = index.lookup(corr)
        times.append((time.perf_counter() - t0) * 1000)
        sizes += len(found)
    p50, p99, worst = pct(times, 50), pct(times, 99), max(times)
    ok = p99 < GOAL_LOOKUP_MS
    print(
        f"    lookup x{len(times):,} (avg {sizes / len(times):.1f} events): "
        f"p50 {p50:.3f} ms  p99 {p99:.3f} ms  max {worst:.3f} ms   "
        f"goal p99 < {GOAL_LOOKUP_MS:g} ms: {verdict(ok)}"
    )
    typeahead = []
    for corr in wanted[:200]:
        for prefix in (corr[:1], corr[:3], corr[:6]):
            t0 = time.perf_counter()
            index.ids(prefix)
            typeahead.append((time.perf_counter() - t0) * 1000)
    print(
        f"    ids(prefix) x{len(typeahead)} (1/3/6 chars): p50 {pct(typeahead, 50):.3f} ms  "
        f"p99 {pct(typeahead, 99):.3f} ms  max {max(typeahead):.3f} ms"
    )
    print(f"    peak RSS {rss_mb():,.0f} MB")
    return ok


def bulk_import(size: int, seed: int) -> list[Event]:
    """One bulk import: a root event fanning out into 4-event order flows, ids in headers."""
    rng = random.Random(seed)
    t0 = 1_767_225_600_000
    corr = f"{rng.getrandbits(128):032x}"
    steps = [
        ("orders", "storefront", "OrderPlaced"),
        ("inventory", "inventory", "StockReserved"),
        ("payments", "payment", "PaymentAuthorized"),
        ("shipments", "shipping", "ShipmentCreated"),
    ]
    offsets: dict[str, int] = {}

    def make(topic: str, service: str, etype: str, at: int, eid: str, cause: str | None) -> Event:
        headers = [
            ("event-id", eid.encode()),
            ("correlation-id", corr.encode()),
            ("event-type", etype.encode()),
            ("service", service.encode()),
        ]
        if cause:
            headers.append(("causation-id", cause.encode()))
        offset = offsets.get(topic, 0)
        offsets[topic] = offset + 1
        value = f'{{"orderId":"order-{offset:06d}","amount":{rng.randrange(500, 50_000) / 100}}}'
        return Event(topic, 0, offset, t0 + at, 1, eid[:8].encode(), value.encode(), tuple(headers))

    root = make("imports", "backoffice", "BulkImported", 0, "import-0", None)
    events = [root]
    flow = 0
    while len(events) < size:
        flow += 1
        at, cause = rng.randint(1, 5_000), root.ids.event_id
        for topic, service, etype in steps:
            if len(events) >= size:
                break
            eid = f"{flow:06d}-{etype}"
            events.append(make(topic, service, etype, at, eid, cause))
            at, cause = at + rng.randint(5, 80), eid
    return events


def bench_trace(args: argparse.Namespace) -> bool:
    events = bulk_import(args.trace_size, args.seed)
    for e in events:
        e.ids  # noqa: B018 - the collector or the index has extracted them already
    print(f"(2) a {len(events):,}-event trace (one root, flows of 4)")
    t0 = time.perf_counter()
    trace = build_trace("bulk", events)
    t1 = time.perf_counter()
    rows = waterfall(trace)
    t2 = time.perf_counter()
    text = render_tree(trace)
    t3 = time.perf_counter()
    total = t3 - t0
    ok = total < GOAL_TRACE_S
    print(
        f"    build_trace {1000 * (t1 - t0):.0f} ms  waterfall {1000 * (t2 - t1):.0f} ms "
        f"({len(rows):,} rows)  render_tree {1000 * (t3 - t2):.0f} ms "
        f"({text.count(chr(10)):,} lines)   total {1000 * total:.0f} ms   "
        f"goal < {GOAL_TRACE_S:g} s: {verdict(ok)}"
    )
    return ok


def scan(events: list[Event], wanted: str) -> tuple[float, TraceCollector]:
    collector = TraceCollector(wanted)
    offer = collector.offer
    t0 = time.perf_counter()
    for e in events:
        offer(e)
    return time.perf_counter() - t0, collector


def bench_collector(args: argparse.Namespace) -> tuple[bool, list[str]]:
    """Run first, on its own events: `evtui trace` holds no million-event index."""
    _sim, sample = demo_events(args.scan, args.seed + 1, args.rate)
    wanted = sample[len(sample) // 2].ids.correlation_id or ""
    raw = fresh(sample)
    gc.collect()
    seconds, collector = scan(raw, wanted)
    rate = len(raw) / seconds
    ok = rate >= GOAL_SCAN_RATE
    line = (
        f"    fresh events (ids extracted in offer) {rate:>12,.0f} events/s "
        f"({len(collector.result())} kept, {collector.pending:,} pending)   "
        f"goal >= {GOAL_SCAN_RATE:,}/s: {verdict(ok)}"
    )
    del collector
    raw = fresh(sample)
    gc.collect()
    t0 = time.perf_counter()
    for e in raw:
        e.ids  # noqa: B018
    extract = len(raw) / (time.perf_counter() - t0)
    gc.collect()
    seconds, _ = scan(raw, wanted)
    own = len(raw) / seconds
    lines = [
        f"(3) TraceCollector.offer over {len(sample):,} demo events (measured first)",
        line,
        f"    of which: ids extraction alone     {extract:>12,.0f} events/s",
        f"              offer, ids known         {own:>12,.0f} events/s",
    ]
    return ok, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events kept in the index")
    parser.add_argument("--lookups", type=int, default=10_000, help="random lookups timed")
    parser.add_argument("--trace-size", type=int, default=10_000, help="events in one trace")
    parser.add_argument("--scan", type=int, default=300_000, help="events offered to a collector")
    parser.add_argument("--rate", type=float, default=20_000, help="the simulator's events/s")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tune_gc()  # as the evtui command does
    scan_ok, scan_lines = bench_collector(args)
    gc.collect()
    lookup_ok = bench_index(args)
    gc.collect()
    trace_ok = bench_trace(args)
    print("\n".join(scan_lines))
    print(
        f"summary: lookup {verdict(lookup_ok)}, trace {verdict(trace_ok)}, scan {verdict(scan_ok)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
