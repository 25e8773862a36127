"""bench/soak: the console on `evtui demo -b` for a long run: memory, loop stalls, lossless tail.

The issue's goal: the console on `evtui demo -b` at 5,000 events/s for 30 minutes,
every tab visited on a timer: RSS stays within the window's bound, no loop stall
over 100 ms, nothing lost in the tail (offsets contiguous per partition).

The load: `evtui demo -b BOOTSTRAP --headless --rate R --duration D` in a child
process (its own GIL), on five topics of this run (prefix soakXXXXXX-) that the
bench creates first, so the console is tailing them before the first record is
produced. The broker's end offsets, polled by the bench, say what was produced
(the demo's own rate is not taken on trust).

The console: the real EvtuiApp on a KafkaBackend, headless under Textual's test
driver in this process, tailing the demo's topics from the end with --window
(default: the console's). A thread stands in for the terminal: every
--key-interval it presses the next key of a cycle that visits every tab (1-5,
with j/k/G in the tail), opens and closes an event detail (enter, escape) and
the help (?, escape), and times each key until its effect is seen (the tab is
active, the screen is pushed or popped).

What is measured, in the app's process:

  RSS          each second (peak per interval), the curve printed every
               --interval (30 s). The bound: RSS once the app is up and every
               tab has been visited (before the first event), plus the window
               times the bytes per kept event, measured when the window is
               first half full ((RSS then - RSS at start) / events kept then;
               it includes everything that grows with the kept events: the
               store, the trace index, the checks' state), times (1 + --margin).
               Whatever the first half window costs, the whole window may cost
               that twice, with the margin for the allocator's slack.
  loop stalls  bench/instruments' probe: a task on the app's loop sleeps 10 ms in a
               loop; a stall is the oversleep. Count over 100 ms, worst, when,
               and which key was last pressed then.
  lossless     every batch the store keeps is read as it is kept (a wrapper on
               the store's append, so the window's eviction hides nothing):
               per partition the offsets must follow each other from the first
               seen to the last (a gap counts the offsets missing); the feed's
               own sampled_out (events dropped because the UI fell behind) is a
               loss too, as is a reopened tail. After the flow, each partition's
               last offset seen must be the broker's end offset - 1 (within
               --settle seconds), and the first the end offset when the tail
               opened.
  rates        events read by the console and produced to the broker, per
               interval and over the flow.

Then PASS/MISS per goal; the exit status is 1 when a goal is missed, 2 when the
bench could not run. Without --bootstrap-servers it starts the broker with
scripts/kafka-local (its EVTUI_KAFKA_* environment applies) and stops it again
only if it was not running. --quick: 2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

# bench/broker, bench/instruments (shared with bench/ui) and this bench's parts
from broker import HARNESS, EndOffsets, create_topic, delete_topic, start_broker  # noqa: E402
from instruments import (  # noqa: E402
    MIB,
    cpu_groups,
    machine_cpu,
    pct,
    rss_bytes,
    stall_probe,
    thread_cpu,
)
from soak_keys import KEY_TIMEOUT_S, Keys  # noqa: E402
from soak_report import report  # noqa: E402
from soak_watch import GcTimes, Stalls, Tail, Watchdog, tracked_types  # noqa: E402


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (e.g. 90s, 30m, 1h)")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


# -- the load ---------------------------------------------------------------------------------


class Demo:
    """`evtui demo -b ... --headless` in a child process."""

    def __init__(self, args: argparse.Namespace, bootstrap: str, prefix: str) -> None:
        evtui = ROOT / ".venv" / "bin" / "evtui"
        if evtui.exists():
            cmd = [str(evtui)]
        elif shutil.which("evtui"):
            cmd = [shutil.which("evtui") or "evtui"]
        else:
            cmd = [sys.executable, "-m", "evtui"]
        self.argv = [
            *cmd, "demo", "-b", bootstrap, "--headless",
            "--rate", f"{args.rate:g}", "--duration", f"{args.duration:g}s",
            "--topic-prefix", prefix, "--group-prefix", prefix,
            "--partitions", str(args.partitions), "--seed", "7",
        ]  # fmt: skip
        self.out = tempfile.TemporaryFile("w+")  # noqa: SIM115  (closed in close())
        self.usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT
        )
        self.started = time.perf_counter()
        self.ended: float | None = None
        self.cpu_s = 0.0

    def wait(self, timeout: float) -> int | None:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.ended = time.perf_counter()
        u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_s = (u1.ru_utime + u1.ru_stime) - (self.usage0.ru_utime + self.usage0.ru_stime)
        return code

    def output(self) -> str:
        self.out.seek(0)
        return self.out.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


# -- the run ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, bootstrap: str, topics: list[str], prefix: str) -> dict:
    from textual.widgets import TabbedContent  # noqa: F401  (loaded before the baseline)

    from evtui.config import resolve_client_config
    from evtui.core.positions import END
    from evtui.sources.base import SourceState
    from evtui.tui.app import EvtuiApp
    from evtui.tui.backend import KafkaBackend

    config = resolve_client_config(bootstrap=bootstrap, cluster=None, x_options=[], config=None)
    app = EvtuiApp(KafkaBackend(config), topics=topics, start=END, capacity=args.window)
    offsets = EndOffsets(bootstrap, topics, args.partitions)
    tail = Tail()
    gc_times = GcTimes()
    demo: Demo | None = None
    keys: Keys | None = None
    stop_tasks = asyncio.Event()
    flowing = threading.Event()
    rows: list[dict] = []
    rss_points: list[tuple[float, int]] = []  # (t, RSS) each second while flowing
    mem: dict = {
        "bound": None, "per_event": None, "at_half": None, "peak": 0, "over": [], "over_s": 0,
    }  # fmt: skip
    try:
        async with app.run_test(size=(160, 50)):
            deadline = time.monotonic() + 30
            while app.tail.feed is None or app.tail.feed.state is not SourceState.CONNECTED:
                if time.monotonic() > deadline:
                    raise SystemExit(f"bench/soak: the tail did not open: {app.tail.message}")
                await asyncio.sleep(0.05)
            keys = Keys(app, args.key_interval)
            keys.warm_up()
            await asyncio.sleep(3.0)  # the tail's partitions assigned at their end; paints settle
            tail.hook(app.tail.feed)
            base = await asyncio.to_thread(offsets.ends)
            gc.collect()
            rss_start = rss_bytes()
            stalls = Stalls(keys, gc_times)
            gc.callbacks.append(gc_times)
            tasks = [asyncio.create_task(stall_probe(stalls, flowing, stop_tasks, True))]
            watchdog = Watchdog(stalls, flowing)
            watchdog.thread.start()
            cpu0, machine0 = thread_cpu(), machine_cpu()
            demo = Demo(args, bootstrap, prefix)
            t_go = time.perf_counter()
            tail.t0 = stalls.t0 = keys.t0 = t_go
            flowing.set()
            gc_times.on = True
            keys.thread.start()
            print(
                f"bench/soak: the demo is producing ({' '.join(demo.argv[1:])}); "
                f"RSS at start {rss_start / MIB:.0f} MiB",
                file=sys.stderr,
            )
            print(
                f"  {'t':>6} {'RSS MiB':>8} {'peak':>6} {'bound':>6} {'kept':>8} {'read/s':>8} "
                f"{'prod/s':>8} {'lag':>8} {'stalls>100':>10} {'worst ms':>9} {'gaps':>5} "
                f"{'dropped':>8} {'load1':>5}",
                flush=True,
            )
            last_row_t, last_read, last_prod = t_go, 0, 0
            interval_peak = 0
            demo_code: int | None = None
            flow_end: float | None = None
            settle_deadline: float | None = None
            produced_total = 0
            while True:
                await asyncio.sleep(1.0)
                now = time.perf_counter()
                feed = app.tail.feed
                if feed is not None and feed is not tail.feed:
                    tail.hook(feed)  # a reopened tail: its events are checked too
                rss = rss_bytes()
                interval_peak = max(interval_peak, rss)
                mem["peak"] = max(mem["peak"], rss)
                rss_points.append((now - t_go, rss))
                kept = len(feed.store) if feed is not None else 0
                if mem["bound"] is None and kept >= args.window // 2:
                    per_event = max(0, rss - rss_start) / kept
                    mem.update(
                        per_event=per_event,
                        at_half=(now - t_go, rss, kept),
                        bound=rss_start + args.window * per_event * (1 + args.margin),
                    )
                if mem["bound"] is not None and rss > mem["bound"]:
                    mem["over_s"] += 1  # seconds sampled over the bound
                    if len(mem["over"]) < 100:
                        mem["over"].append((now - t_go, rss))
                if flow_end is None:
                    demo_code = await asyncio.to_thread(demo.wait, 0)
                    if demo_code is not None:
                        flow_end = now
                        flowing.clear()
                        keys.stop.set()
                        settle_deadline = now + args.settle
                        print("bench/soak: the demo ended; settling", file=sys.stderr)
                    elif now - t_go > args.duration + 300:
                        raise SystemExit(
                            "bench/soak: the demo did not end 5 minutes after its time"
                        )
                done = settle_deadline is not None and (
                    now >= settle_deadline or tail.read + tail.sampled_out >= produced_total
                )
                if now - last_row_t >= args.interval - 0.5 or done:
                    ends = await asyncio.to_thread(offsets.ends)
                    produced_total = sum(ends.values()) - sum(base.values())
                    worst, over = stalls.interval()
                    span = now - last_row_t
                    row = {
                        "t": round(now - t_go, 1),
                        "rss_mib": round(rss / MIB, 1),
                        "peak_mib": round(interval_peak / MIB, 1),
                        "kept": kept,
                        "read_per_s": round((tail.read - last_read) / span),
                        "produced_per_s": round((produced_total - last_prod) / span),
                        "lag": produced_total - tail.read - tail.sampled_out,
                        "stalls_over_100ms": over,
                        "worst_stall_ms": round(worst * 1000, 1),
                        "gaps": tail.gaps,
                        "sampled_out": tail.sampled_out,
                        "load1": os.getloadavg()[0],  # the machine's (others share it)
                    }
                    rows.append(row)
                    bound = f"{mem['bound'] / MIB:.0f}" if mem["bound"] else "-"
                    print(
                        f"  {row['t']:>6.0f} {row['rss_mib']:>8.1f} {row['peak_mib']:>6.0f} "
                        f"{bound:>6} {kept:>8,} {row['read_per_s']:>8,} "
                        f"{row['produced_per_s']:>8,} {row['lag']:>8,} {over:>10} "
                        f"{row['worst_stall_ms']:>9.1f} {tail.gaps:>5} {tail.sampled_out:>8,} "
                        f"{row['load1']:>5.1f}",
                        flush=True,
                    )
                    last_row_t, last_read, last_prod = now, tail.read, produced_total
                    interval_peak = 0
                    if done:
                        break
                    if settle_deadline is not None:  # settling: look again each second
                        last_row_t = now - args.interval
            t_end = time.perf_counter()
            cpu1, machine1 = thread_cpu(), machine_cpu()
            stop_tasks.set()
            await asyncio.gather(*tasks)
            watchdog.stop.set()
            await asyncio.to_thread(keys.thread.join, KEY_TIMEOUT_S + 1)
            ends = await asyncio.to_thread(offsets.ends)
            rss_end = rss_bytes()
            tracked = tracked_types()  # what full collections walk, after the flow
            feed = app.tail.feed
            store = feed.store if feed is not None else None
            feed_stats = {
                "received": feed.stats.received if feed else 0,
                "sampled_out": tail.sampled_out,
                "holes": len(feed.holes) if feed else 0,
                "not_indexed": feed.stats.not_indexed if feed else 0,
                "not_flowed": feed.stats.not_flowed if feed else 0,
                "kept_max": max((r["kept"] for r in rows), default=0),
                "store_total": store.stats.total if store else 0,
                "evicted": store.stats.evicted if store else 0,
                "duplicates_dropped": store.stats.duplicates_dropped if store else 0,
            }
    finally:
        flowing.clear()
        if gc_times in gc.callbacks:
            gc.callbacks.remove(gc_times)
        if keys is not None:
            keys.stop.set()
        demo_out = ""
        if demo is not None:
            demo_out = demo.output().strip()
            demo.close()
        offsets.close()
    flow_s = (flow_end or t_end) - t_go
    produced = sum(ends.values()) - sum(base.values())
    # per partition: from the end offset when the tail opened to the end after the flow
    partitions = {}
    for tp, end in sorted(ends.items()):
        first, last = tail.first.get(tp), tail.last.get(tp)
        partitions[f"{tp[0]}/{tp[1]}"] = {
            "start": base[tp],
            "end": end,
            "first_seen": first,
            "last_seen": last,
            "missed_at_start": (first - base[tp]) if first is not None else end - base[tp],
            "missed_at_end": end - 1 - last if last is not None else end - base[tp],
        }
    busy = (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1])
    demo_rate = re.search(r"([\d,]+) records in", demo_out)
    return {
        "rss_start": rss_start,
        "rss_end": rss_end,
        "mem": mem,
        "rss_points": rss_points,
        "rows": rows,
        "flow_s": flow_s,
        "produced": produced,
        "demo_records": int(demo_rate.group(1).replace(",", "")) if demo_rate else None,
        "demo_code": demo_code,
        "demo_out": demo_out[-2000:],
        "demo_cpu_cores": demo.cpu_s / flow_s if demo is not None and flow_s else 0.0,
        "read": tail.read,
        "gaps": tail.gaps,
        "missing": tail.missing,
        "gap_list": tail.gap_list,
        "clipped": tail.clipped,
        "feeds": tail.feeds,
        "feed": feed_stats,
        "partitions": partitions,
        "stalls": {
            "samples": stalls.samples,
            "over_100ms": stalls.count_over,
            "over_50ms": stalls.over_50ms,
            "worst_ms": stalls.worst * 1000,
            "worst_at_s": stalls.worst_at,
            "list": stalls.over,
            "where": sorted(watchdog.seen.items(), key=lambda kv: -kv[1]),
        },
        "gc": {
            "tracked": tracked,
            "counts": gc_times.count,
            "worst_ms": gc_times.worst * 1000,
            "total_s": gc_times.total,
            "full": gc_times.full,
        },
        "keys": {
            "pressed": keys.pressed,
            "visits": keys.visits,
            "missed": keys.missed,
            "times": {
                k: {
                    "n": len(v),
                    "p50_ms": pct(v, 50) * 1000,
                    "p99_ms": pct(v, 99) * 1000,
                    "max_ms": max(v) * 1000,
                }
                for k, v in keys.times.items()
            },
        },
        "cpu": {k: v / (t_end - t_go) for k, v in cpu_groups(cpu0, cpu1).items()},
        "machine_busy_cores": busy * (os.cpu_count() or 1),
    }


def main() -> None:
    from evtui.commands.console import DEFAULT_WINDOW

    parser = argparse.ArgumentParser(prog="bench/soak", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5_000, help="events/s the demo produces")
    parser.add_argument(
        "--duration", type=parse_duration, default=1800.0, help="how long (30m, 90s) [30m]"
    )
    parser.add_argument("--quick", action="store_true", help="2 minutes (overrides --duration)")
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="the console's window")
    parser.add_argument("-p", "--partitions", type=int, default=3, help="per demo topic")
    parser.add_argument("-b", "--bootstrap-servers", default=os.environ.get("EVTUI_TEST_BOOTSTRAP"))
    parser.add_argument("--key-interval", type=float, default=2.0, help="seconds between keys")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds per curve row")
    parser.add_argument("--margin", type=float, default=0.25, help="slack on the RSS bound")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds after the flow")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the topics afterwards")
    args = parser.parse_args()
    if args.quick:
        args.duration = 120.0
    if args.rate <= 0 or args.duration <= 0 or args.window < 1 or args.partitions < 1:
        parser.error("--rate, --duration, --window and --partitions must be positive")
    from evtui.commands.demo import topic_names
    from evtui.plugins import load_plugins
    from evtui.runtime import tune_gc

    load_plugins()
    tune_gc()  # as the evtui command does
    started_here = False
    bootstrap = args.bootstrap_servers
    if not bootstrap:
        bootstrap, started_here = start_broker()
    prefix = f"soak{uuid.uuid4().hex[:6]}-"
    topics = topic_names(prefix).all()
    ok = False
    try:
        for topic in topics:
            create_topic(bootstrap, topic, args.partitions)
        result = asyncio.run(run(args, bootstrap, topics, prefix))
        ok = report(args, result)
        if args.json:
            out = {
                "rate": args.rate,
                "duration_s": args.duration,
                "window": args.window,
                "partitions": args.partitions,
                "pass": ok,
                **{k: v for k, v in result.items() if k != "rss_points"},
                "rss_points": [(round(t, 1), y) for t, y in result["rss_points"][::5]],
            }
            Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n")
    finally:
        if not args.keep:
            for topic in topics:
                delete_topic(bootstrap, topic)
        if started_here:
            subprocess.run([HARNESS, "stop"], capture_output=True, check=False)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    try:
        main()
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            sys.exit(2)
        raise
