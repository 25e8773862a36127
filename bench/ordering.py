"""bench/ordering: the ordering detectors' speed and memory bounds with 1,000,000 distinct keys.

No broker. Feeds a Checker of every kind (evtui.core.ordering) synthetic JSON
events in batches of 10,000, as a scan would, each with a key never seen
before: first a warm-up (--warmup events, by default 1,000,000: every bounded
structure is full by its end), then the measured --count events (1,000,000
more distinct keys). Every event has an event id, ``sequence`` 1, an
``occurredAt`` and a ``causation-id`` header naming the event before it (a
cause that was seen); every --lost-every'th names a cause never produced
instead, and record time moves 1 ms per 100 events, so those effects wait for
their causes (within the 60 s grace) until the waiting list is at its bound.

Prints:

  - the Checker's throughput, identity extraction included (as in `evtui check`);
  - each bounded structure's size at the end against its bound, and what the
    bound made it forget (evictions; effects dropped from the waiting list);
  - RSS at checkpoints of the measured phase and the peak RSS: flat once the
    bounds are reached;
  - with --tracemalloc, in a second, traced process (minutes), tracemalloc's
    figures: memory held after the warm-up, half-way and at the end, and the peak.

PASS/FAIL: every structure within its bound; memory flat (RSS grows at most
5% over the second half of the measured phase: the first half includes the one
rebuild of the million-entry tables, see report_memory). Only the offers are
timed (making events is not).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evtui.core.event import Event  # noqa: E402
from evtui.core.ordering import Checker  # noqa: E402
from evtui.runtime import tune_gc  # noqa: E402

TOPIC = "bench-ordering"
PARTITIONS = 4
BATCH = 10_000
BASE_MS = 1_795_687_200_000  # 2026-11-26T10:00:00Z
FLAT = 0.05  # RSS may grow this much over the measured phase and still count as flat
_PAGE = os.sysconf("SC_PAGE_SIZE")


def make_event(i: int, lost_every: int) -> Event:
    """Event ``i``: key ``key-i`` (new), caused by event ``i - 1`` or by one never produced."""
    ms = BASE_MS + i // 100
    seconds, millis = divmod(ms, 1000)
    when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
    value = (
        f'{{"eventId":"e-{i}","type":"ThingHappened","sequence":1,'
        f'"occurredAt":"{when}","payload":{{"n":{i}}}}}'
    ).encode()
    lost = i % lost_every == 0
    cause = f"lost-{i}" if lost else f"e-{i - 1}"
    headers = (("causation-id", cause.encode()), ("b3", _b3(i, lost).encode()))
    partition = i % PARTITIONS
    return Event(TOPIC, partition, i // PARTITIONS, ms, 1, f"key-{i:08d}".encode(), value, headers)


def _b3(i: int, lost: bool) -> str:
    """B3: a trace per 100 events, each event a span, its parent the span before (or none)."""
    trace, first = f"{i // 100 + 1:032x}", i % 100 == 0
    parent = f"{(1 << 63) + i:016x}" if lost else f"{i:016x}"  # event i's span is i + 1
    return f"{trace}-{i + 1:016x}-1" + ("" if first and not lost else f"-{parent}")


def batches(start: int, count: int, lost_every: int) -> Iterator[list[Event]]:
    for first in range(start, start + count, BATCH):
        yield [make_event(i, lost_every) for i in range(first, min(first + BATCH, start + count))]


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def feed(checker: Checker, start: int, count: int, lost_every: int, marks: int) -> tuple:
    """Offer ``count`` events; (seconds spent offering, [(events so far, RSS)] at ``marks``)."""
    every = max(count // marks // BATCH, 1) * BATCH if marks else 0
    spent, done, points = 0.0, 0, [(0, rss_bytes())] if marks else []
    offer = checker.offer
    for batch in batches(start, count, lost_every):
        started = time.perf_counter()
        for event in batch:
            offer(event)
        spent += time.perf_counter() - started
        done += len(batch)
        if every and (done % every == 0 or done == count):
            points.append((done, rss_bytes()))
    return spent, points


# (name, the Checker's structure, its bound, what it forgot at the bound or None, unit)
BOUNDED = (
    ("SequenceDetector.keys", "sequences.keys", "sequences.keys.limit",
     "sequences.keys.evicted", "keys"),
    ("EventTimeDetector.keys", "times.keys", "times.keys.limit", "times.keys.evicted", "keys"),
    ("DuplicateDetector.seen", "duplicates.seen", "duplicates.seen.limit",
     "duplicates.seen.evicted", "ids"),
    ("CausalDetector.known", "causes.known", "causes.known.limit", "causes.known.evicted",
     "ids"),
    ("CausalDetector.waiting", "causes.waiting", "causes.max_waiting", "causes.dropped",
     "causes"),
    ("CausalDetector._said", "causes._said", "causes._said.limit", "causes._said.evicted",
     "pairs"),
    ("CausalDetector.spans", "causes.spans", "causes.spans.limit", "causes.spans.evicted",
     "spans"),
    ("CausalDetector.span_waiting", "causes.span_waiting", "causes.max_waiting", None,
     "spans"),
    ("CausalDetector._inverted", "causes._inverted", "causes._inverted.limit",
     "causes._inverted.evicted", "pairs"),
)  # fmt: skip


def _get(obj: object, path: str) -> object:
    for name in path.split("."):
        obj = getattr(obj, name, None)
    return obj


def structures(checker: Checker) -> list[tuple[str, int, int, int | None, str]]:
    """(name, size, bound, forgotten, unit) of every bounded structure this Checker has."""
    if checker._native is not None:  # the detectors' state in the extension
        return checker._native.sizes()[0]
    rows = []
    for name, path, bound, forgotten, unit in BOUNDED:
        state = _get(checker, path)
        if state is not None:  # a structure of a version of the detectors that has it
            lost = None if forgotten is None else _get(checker, forgotten)
            rows.append((name, len(state), _get(checker, bound), lost, unit))
    return rows


def traced_child(warmup: int, count: int, lost_every: int) -> None:
    """Child process: the same run under tracemalloc; print its figures as JSON."""
    import tracemalloc

    tune_gc()
    checker = Checker()
    tracemalloc.start()
    feed(checker, 0, warmup, lost_every, 0)
    after_warmup = tracemalloc.get_traced_memory()[0]
    half = count // 2 // BATCH * BATCH
    feed(checker, warmup, half, lost_every, 0)
    after_half = tracemalloc.get_traced_memory()[0]
    feed(checker, warmup + half, count - half, lost_every, 0)
    current, peak = tracemalloc.get_traced_memory()
    figures = {"after_warmup": after_warmup, "half": half, "after_half": after_half}
    print(json.dumps(figures | {"after": current, "peak": peak}))


def mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def report_structures(checker: Checker) -> bool:
    print("  bounded structures at the end (size / bound, forgotten at the bound):")
    within = True
    for name, size, bound, forgotten, unit in structures(checker):
        ok = size <= bound
        within &= ok
        lost = "(not counted)" if forgotten is None else f"{forgotten:>11,} {unit}"
        print(f"    {name:<29}{size:>11,} / {bound:<11,}{lost:<19}{'ok' if ok else 'OVER'}")
    if checker._native is not None:
        _, gaps, partitions = checker._native.sizes()
    else:
        gaps = max((len(state.gaps) for state in checker.sequences.keys.values()), default=0)
        partitions = len(checker.detectors[-1].last)
    print(f"    open sequence gaps per key: at most {gaps}; offset state: "
          f"{partitions} partitions")  # fmt: skip
    print(f"  every structure within its bound: {'PASS' if within else 'FAIL'}")
    return within


def report_memory(points: list[tuple[int, int]]) -> bool:
    """RSS at the marks; flat when the second half of the measured phase adds at most FLAT."""
    first, half, last = points[0][1], points[len(points) // 2][1], points[-1][1]
    marks = ", ".join(f"+{done:,}: {mib(rss)}" for done, rss in points)
    print(f"  RSS during the measured phase: {marks}")
    growth = (last - half) / half
    flat = growth <= FLAT
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"  peak RSS {mib(peak)}; over the whole measured phase {(last - first) / first:+.1%}, "
        f"over its second half {growth:+.1%}: {'PASS' if flat else 'FAIL'} (flat: at most "
        f"{FLAT:.0%})"
    )
    print(
        "  (a full million-entry dict that keeps evicting and inserting is rebuilt once with a "
        "larger table when its deleted slots run out, then stays that size)"
    )
    return flat


def report_traced(args: argparse.Namespace) -> None:
    me = str(Path(__file__).resolve())
    argv = [sys.executable, me, "_traced", str(args.warmup), str(args.count), str(args.lost_every)]
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    print(
        f"  tracemalloc (a second process, {time.perf_counter() - started:.0f} s): held after the "
        f"warm-up {mib(got['after_warmup'])}, +{got['half']:,}: {mib(got['after_half'])}, at the "
        f"end {mib(got['after'])} ({mib(got['after'] - got['after_half'])} over the second "
        f"half); peak {mib(got['peak'])}"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_traced":
        traced_child(*(int(a) for a in sys.argv[2:5]))
        return
    parser = argparse.ArgumentParser(prog="bench/ordering", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1_000_000, help="measured events")
    parser.add_argument("--warmup", type=int, default=1_000_000, help="events before")
    parser.add_argument("--lost-every", type=int, default=5, help="one cause in N never produced")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also the traced run (about 5x slower)"
    )
    args = parser.parse_args()
    if args.count < BATCH or args.warmup < 0 or args.lost_every < 1:
        parser.error(f"--count must be >= {BATCH:,}, --warmup >= 0, --lost-every >= 1")
    tune_gc()  # as the evtui command does
    checker = Checker()
    warm_s, _ = feed(checker, 0, args.warmup, args.lost_every, 0)
    spent, points = feed(checker, args.warmup, args.count, args.lost_every, 4)
    print(f"bench/ordering: a Checker of every kind, {args.warmup:,} + {args.count:,} events, "
          f"every key distinct, one cause in {args.lost_every} never produced")  # fmt: skip
    if args.warmup:
        print(f"  warm-up          {args.warmup / warm_s:>10,.0f} events/s")
    print(f"  measured phase   {args.count / spent:>10,.0f} events/s "
          f"({spent / args.count * 1e6:.2f} us/event, identity extraction included)")  # fmt: skip
    within = report_structures(checker)
    flat = report_memory(points)
    findings = checker.finish()
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in checker.summary().items()) or "none"
    print(f"  findings at the end: {kinds} (orphans: the effects still waiting; "
          f"{len(findings):,} in all)")  # fmt: skip
    if args.tracemalloc:
        report_traced(args)
    print(f"  verdict: bounds {'PASS' if within else 'FAIL'}, memory flat "
          f"{'PASS' if flat else 'FAIL'}")  # fmt: skip


if __name__ == "__main__":
    main()
