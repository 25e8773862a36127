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
  loop stalls  bench/ui's probe: a task on the app's loop sleeps 10 ms in a
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
from collections import deque
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import ui as benchui  # noqa: E402  (bench/ui.py: broker, topics, RSS, CPU, stall probe, keys)

MIB = 2**20
KEY_TIMEOUT_S = 5.0
STALL_S = 0.1


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


class EndOffsets:
    """End offsets of every partition of the run's topics (one consumer, no group joined)."""

    def __init__(self, bootstrap: str, topics: list[str], partitions: int) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self.consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": f"evtui-bench-soak-{uuid.uuid4().hex[:8]}"}
        )
        self.tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        self.lock = threading.Lock()

    def ends(self) -> dict[tuple[str, int], int]:
        with self.lock:
            return {
                (tp.topic, tp.partition): self.consumer.get_watermark_offsets(
                    tp, timeout=10, cached=False
                )[1]
                for tp in self.tps
            }

    def close(self) -> None:
        with self.lock:
            self.consumer.close()


# -- what the console kept, checked as it is kept ----------------------------------------------


class Tail:
    """Wraps the feed's store: every kept batch is checked for offset gaps per partition."""

    def __init__(self) -> None:
        self.feed = None
        self.feeds = 0  # feeds hooked (more than one: the tail was reopened)
        self.first: dict[tuple[str, int], int] = {}
        self.last: dict[tuple[str, int], int] = {}
        self.read = 0  # events kept by the store (all of them, seen as they were kept)
        self.gaps = 0
        self.missing = 0  # offsets missing in the gaps
        self.gap_list: list[tuple[float, str, int, int, int]] = []  # (t, topic, p, after, next)
        self.clipped = 0  # kept batches larger than the window (not all seen)
        self.sampled_out_before = 0  # of earlier feeds
        self.t0 = time.perf_counter()

    def hook(self, feed) -> None:
        if self.feed is not None:
            self.sampled_out_before += self.feed.stats.sampled_out
        self.feed = feed
        self.feeds += 1
        store = feed.store
        original = store.append

        def append(events):
            before = store.next
            added = original(events)
            if added:
                if store.next - before > len(store):
                    self.clipped += store.next - before - len(store)
                self.see(store.slice(before, store.next))
            return added

        store.append = append

    def see(self, events) -> None:
        first, last = self.first, self.last
        for event in events:
            tp = (event.topic, event.partition)
            prev = last.get(tp)
            if prev is None:
                first[tp] = event.offset
            elif event.offset != prev + 1:
                self.gaps += 1
                self.missing += max(0, event.offset - prev - 1)
                if len(self.gap_list) < 50:
                    self.gap_list.append(
                        (time.perf_counter() - self.t0, tp[0], tp[1], prev, event.offset)
                    )
            last[tp] = event.offset
        self.read += len(events)

    @property
    def sampled_out(self) -> int:
        return self.sampled_out_before + (self.feed.stats.sampled_out if self.feed else 0)


class Stalls(list):
    """What bench/ui's stall probe appends, counted instead of kept (no growth over hours)."""

    def __init__(self, keys: Keys, gc_times: GcTimes) -> None:
        super().__init__()
        self.keys = keys
        self.gc_times = gc_times
        self.samples = 0
        self.worst = 0.0
        self.worst_at = 0.0
        # (t, seconds, last key, GC pauses in it, UI thread CPU seconds) for stalls over STALL_S
        self.over: list[tuple[float, float, str, str, float]] = []
        self.over_50ms = 0
        self.count_over = 0  # stalls over STALL_S (the list keeps the first 1,000)
        self.interval_worst = 0.0
        self.interval_over = 0
        self.t0 = self.beat = time.perf_counter()

    def append(self, x: float, cpu: float = 0.0) -> None:  # type: ignore[override]
        self.beat = time.perf_counter()
        self.samples += 1
        t = time.perf_counter() - self.t0
        if x > self.worst:
            self.worst, self.worst_at = x, t
        self.interval_worst = max(self.interval_worst, x)
        if x > 0.05:
            self.over_50ms += 1
        if x > STALL_S:
            self.interval_over += 1
            self.count_over += 1
            if len(self.over) < 1000:
                gcs = self.gc_times.within(x + 0.011)
                self.over.append((t, x, self.keys.last, gcs, cpu))

    def interval(self) -> tuple[float, int]:
        out = (self.interval_worst, self.interval_over)
        self.interval_worst, self.interval_over = 0.0, 0
        return out


class Watchdog:
    """While the loop is stalled (no probe for 250 ms), where the UI thread is: once a stall."""

    def __init__(self, stalls: Stalls, flowing: threading.Event) -> None:
        self.stalls = stalls
        self.flowing = flowing
        self.main = threading.main_thread().ident
        self.seen: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-soak-watchdog", daemon=True)

    def _run(self) -> None:
        import traceback

        captured = 0.0
        while not self.stop.wait(0.05):
            beat = self.stalls.beat
            if not self.flowing.is_set() or beat == captured:
                continue
            if time.perf_counter() - beat < 0.25:
                continue
            captured = beat
            frame = sys._current_frames().get(self.main)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            del frame
            ours = [
                f"{Path(f.filename).name}:{f.lineno} {f.name}"
                for f in stack
                if "/evtui/" in f.filename
            ][-3:]
            inner = " < ".join(
                f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack[-2:][::-1]
            )
            where = " < ".join(reversed(ours)) or "(no evtui frame)"
            where += f"  [innermost: {inner}]"
            self.seen[where] = self.seen.get(where, 0) + 1


class GcTimes:
    def __init__(self) -> None:
        self.started = 0.0
        self.count = [0, 0, 0]
        self.worst = 0.0
        self.total = 0.0
        self.on = False
        self.recent: deque[tuple[float, int, float]] = deque(maxlen=50)  # (end, gen, seconds)
        self.cpu_started = 0.0
        self.full: list[tuple[float, float, int]] = []  # full passes: (wall s, CPU s, collected)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            self.cpu_started = time.thread_time()
        elif self.on:
            took = time.perf_counter() - self.started
            self.count[info["generation"]] += 1
            if info["generation"] == 2:
                cpu = time.thread_time() - self.cpu_started
                self.full.append((took, cpu, info["collected"]))
            self.worst = max(self.worst, took)
            self.total += took
            self.recent.append((time.perf_counter(), info["generation"], took))

    def within(self, seconds: float) -> str:
        """The collections that ended in the last ``seconds`` (what a stall spent in GC)."""
        since = time.perf_counter() - seconds
        return " ".join(f"gen{g} {took * 1000:.0f} ms" for t, g, took in self.recent if t >= since)


# -- keys: every tab on a timer -----------------------------------------------------------------


TABS = {"1": "overview", "2": "tail", "3": "lag", "4": "violations", "5": "flow"}
CYCLE = [
    "1", "2", "k", "k", "j", "enter", "escape", "G", "3", "4", "5",
    "question_mark", "escape", "2", "g", "enter", "escape", "G",
]  # fmt: skip


class Keys:
    """The terminal's input thread: a key every interval, timed until its effect shows."""

    def __init__(self, app, interval: float) -> None:
        from textual.widgets import TabbedContent

        from evtui.tui.widgets.tail import TailLog

        self.app = app
        self.log = app.query_one(TailLog)
        self.interval = interval
        self.tabs = app.query_one(TabbedContent)
        self.stop = threading.Event()
        self.last = "-"
        self.pressed = 0
        self.times: dict[str, list[float]] = {}  # kind -> seconds until the effect showed
        self.missed: list[tuple[float, str, str]] = []  # (t, key, what was seen instead)
        self.visits = dict.fromkeys(TABS.values(), 0)
        self.t0 = time.perf_counter()
        self.thread = threading.Thread(target=self._run, name="bench-soak-keys", daemon=True)

    def warm_up(self) -> None:
        """Visit every tab once (before the RSS baseline: first visits build widgets)."""
        for key in [*TABS, "2"]:
            self.app.action_show_tab(TABS[key])

    def _effect(self, key: str):
        app = self.app
        depth = len(app.screen_stack)
        if key in TABS:
            want = TABS[key]
            return "tab", lambda: self.tabs.active == want and len(app.screen_stack) == 1
        if key == "enter":
            return "detail", lambda: type(app.screen).__name__ == "DetailScreen"
        if key == "question_mark":
            return "help", lambda: type(app.screen).__name__ == "HelpScreen"
        if key == "escape":
            return "close", lambda: len(app.screen_stack) < depth
        return "nav", None

    def _run(self) -> None:
        driver = self.app._driver
        i = 0
        while not self.stop.is_set():
            key = CYCLE[i % len(CYCLE)]
            i += 1
            if key == "escape" and len(self.app.screen_stack) == 1:
                continue  # the screen it would close did not open (counted there)
            if key == "enter" and (self.tabs.active != "tail" or not self.log.rows):
                continue  # no row to open
            kind, done = self._effect(key)
            t0 = time.perf_counter()
            self.last = key
            driver.process_message(benchui.make_key_event(key))
            self.pressed += 1
            if done is not None:
                deadline = t0 + KEY_TIMEOUT_S
                while not done() and time.perf_counter() < deadline and not self.stop.is_set():
                    time.sleep(0.002)
                if done():
                    self.times.setdefault(kind, []).append(time.perf_counter() - t0)
                    if key in TABS:
                        self.visits[TABS[key]] += 1
                else:
                    seen = f"tab {self.tabs.active}, screen {type(self.app.screen).__name__}"
                    self.missed.append((t0 - self.t0, key, seen))
                    if len(self.app.screen_stack) > 1:  # back to a known state
                        driver.process_message(benchui.make_key_event("escape"))
            self.stop.wait(max(0.0, self.interval - (time.perf_counter() - t0)))


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
            rss_start = benchui.rss_bytes()
            stalls = Stalls(keys, gc_times)
            gc.callbacks.append(gc_times)
            tasks = [asyncio.create_task(benchui.stall_probe(stalls, flowing, stop_tasks, True))]
            watchdog = Watchdog(stalls, flowing)
            watchdog.thread.start()
            cpu0, machine0 = benchui.thread_cpu(), benchui.machine_cpu()
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
                rss = benchui.rss_bytes()
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
            cpu1, machine1 = benchui.thread_cpu(), benchui.machine_cpu()
            stop_tasks.set()
            await asyncio.gather(*tasks)
            watchdog.stop.set()
            await asyncio.to_thread(keys.thread.join, KEY_TIMEOUT_S + 1)
            ends = await asyncio.to_thread(offsets.ends)
            rss_end = benchui.rss_bytes()
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
                    "p50_ms": benchui.pct(v, 50) * 1000,
                    "p99_ms": benchui.pct(v, 99) * 1000,
                    "max_ms": max(v) * 1000,
                }
                for k, v in keys.times.items()
            },
        },
        "cpu": {k: v / (t_end - t_go) for k, v in benchui.cpu_groups(cpu0, cpu1).items()},
        "machine_busy_cores": busy * (os.cpu_count() or 1),
    }


def tracked_types(top: int = 8) -> tuple[int, list[tuple[str, int]]]:
    """How many objects the cyclic collector tracks, and the most common types among them."""
    from collections import Counter

    objects = gc.get_objects()
    counts = Counter(type(o).__name__ for o in objects)
    return len(objects), counts.most_common(top)


def report(args: argparse.Namespace, r: dict) -> bool:
    mem, st, parts = r["mem"], r["stalls"], r["partitions"]
    flow = r["flow_s"]
    produced_rate = r["produced"] / flow if flow else 0.0
    read_rate = r["read"] / flow if flow else 0.0
    print(
        f"bench/soak: evtui demo --rate {args.rate:,.0f} for {args.duration:g} s on "
        f"{len(parts)} partitions ({args.partitions} per topic), console window "
        f"{args.window:,}, a key every {args.key_interval:g} s"
    )
    said = f"{r['demo_records']:,}" if r["demo_records"] is not None else "?"
    print(
        f"  flow {flow:.0f} s: produced {r['produced']:,} ({produced_rate:,.0f} ev/s at the "
        f"broker; the demo says {said} records), the console read {r['read']:,} "
        f"({read_rate:,.0f} ev/s)"
    )
    f = r["feed"]
    print(
        f"  store: kept max {f['kept_max']:,} / window {args.window:,}, evicted {f['evicted']:,}, "
        f"re-deliveries dropped {f['duplicates_dropped']:,}; feed sampled_out "
        f"{f['sampled_out']:,}; trace index skipped {f['not_indexed']:,}, flow model skipped "
        f"{f['not_flowed']:,}; tail opened {r['feeds']} time(s)"
    )
    if mem["bound"] is not None:
        t_half, rss_half, kept_half = mem["at_half"]
        print(
            f"  RSS bound: {r['rss_start'] / MIB:.0f} MiB at start (all tabs visited, no event) "
            f"+ window {args.window:,} x {mem['per_event']:,.0f} B/event (measured at "
            f"{t_half:.0f} s: {rss_half / MIB:.0f} MiB with {kept_half:,} kept) x "
            f"{1 + args.margin:g} = {mem['bound'] / MIB:.0f} MiB"
        )
    else:
        print("  RSS bound: none (the window never got half full: no per-event figure)")
    pts = r["rss_points"]
    full = [(t, y) for t, y in pts if mem["at_half"] and t >= 2 * mem["at_half"][0]]
    late = full[len(full) // 2 :]
    growth = benchui.slope(late) * 3600 / MIB if len(late) >= 3 else float("nan")
    print(
        f"  RSS: start {r['rss_start'] / MIB:.0f}, peak {mem['peak'] / MIB:.0f}, end "
        f"{r['rss_end'] / MIB:.0f} MiB; trend over the late half of the full window "
        f"{growth:+.1f} MiB/hour"
    )
    print(
        f"  loop: {st['samples']:,} probes, stalls > 100 ms: {st['over_100ms']}, > 50 ms: "
        f"{st['over_50ms']}, worst {st['worst_ms']:.1f} ms at {st['worst_at_s']:.0f} s"
    )
    for t, x, key, in_gc, cpu in sorted(st["list"], key=lambda s: -s[1])[:10]:
        print(
            f"    stall {x * 1000:.0f} ms at {t:.1f} s (last key {key!r}; GC in it: "
            f"{in_gc or 'none'}; UI thread on the CPU {cpu * 1000:.0f} ms)"
        )
    in_gc = sum(1 for _, _, _, g, _ in st["list"] if g)
    waiting = sum(1 for _, x, _, _, cpu in st["list"] if cpu < x / 2)
    if st["list"]:
        print(
            f"    {waiting} of them had the UI thread on the CPU for less than half of the stall "
            "(waiting for a core or the GIL)"
        )
    if st["list"]:
        print(
            f"    {in_gc} of the {len(st['list'])} stalls over 100 ms listed had a collection "
            f"in them"
        )
    if st["where"]:
        print("  where the UI thread was 250 ms into a stall (times seen):")
        for where, n in st["where"][:8]:
            print(f"    {n:>4}  {where}")
    g = r["gc"]
    print(
        f"  GC: gen0/1/2 {g['counts'][0]}/{g['counts'][1]}/{g['counts'][2]}, worst "
        f"{g['worst_ms']:.1f} ms, total {g['total_s']:.2f} s"
    )
    if g["full"]:
        n = len(g["full"])
        wall, cpu, freed = (sum(x[i] for x in g["full"]) / n for i in range(3))
        print(
            f"  GC: full passes took {wall * 1000:.0f} ms on average, {cpu * 1000:.0f} ms of it "
            f"on the CPU (the rest: the thread waited for a core), and freed {freed:,.0f} "
            "objects each"
        )
    total, top = g["tracked"]
    print(
        f"  GC: {total:,} objects tracked after the flow (what a full collection walks); "
        "most: " + ", ".join(f"{name} {n:,}" for name, n in top)
    )
    k = r["keys"]
    times = ", ".join(
        f"{kind} {v['p50_ms']:.0f}/{v['p99_ms']:.0f}/{v['max_ms']:.0f}"
        for kind, v in k["times"].items()
    )
    print(
        f"  keys: {k['pressed']} pressed; tab visits {k['visits']}; until the effect showed "
        f"(p50/p99/max ms): {times}; not handled in {KEY_TIMEOUT_S:g} s: {len(k['missed'])}"
    )
    for t, key, seen in k["missed"][:5]:
        print(f"    key {key!r} at {t:.0f} s not handled ({seen})")
    loads = [row["load1"] for row in r["rows"]]
    if loads:
        print(
            f"  machine load average (1 min) over the run: min {min(loads):.1f}, mean "
            f"{sum(loads) / len(loads):.1f}, max {max(loads):.1f} on {os.cpu_count()} cores "
            f"(other work on the machine competes with the console, the demo and the broker)"
        )
    cpu = ", ".join(f"{g} {v:.2f}" for g, v in r["cpu"].items())
    print(
        f"  CPU (cores): {cpu}; the demo process {r['demo_cpu_cores']:.2f}; machine busy "
        f"{r['machine_busy_cores']:.2f} of {os.cpu_count()}"
    )
    miss_start = sum(p["missed_at_start"] for p in parts.values())
    miss_end = sum(p["missed_at_end"] for p in parts.values())
    print(
        f"  tail: {r['gaps']} gap(s), {r['missing']:,} offsets missing in them; not read at the "
        f"start {miss_start:,}, at the end {miss_end:,} (after {args.settle:g} s of settle)"
    )
    for t, topic, p, after, nxt in r["gap_list"][:10]:
        print(f"    gap at {t:.0f} s: {topic}/{p} offset {after} then {nxt}")
    if r["demo_code"]:
        print(f"  the demo exited {r['demo_code']}: {r['demo_out'][-500:]}")

    verdict = {True: "PASS", False: "MISS"}
    load_ok = produced_rate >= 0.95 * args.rate and not r["demo_code"]
    rss_ok = mem["bound"] is not None and not mem["over"]
    stall_ok = st["over_100ms"] == 0
    lossless = (
        r["gaps"] == 0
        and f["sampled_out"] == 0
        and r["clipped"] == 0
        and r["feeds"] == 1
        and miss_start == 0
        and miss_end == 0
    )
    print("  goals:")
    print(
        f"    {verdict[load_ok]} the load: {args.rate:,.0f} ev/s asked, {produced_rate:,.0f} ev/s "
        f"reached the broker over {flow:.0f} s (the console read {read_rate:,.0f} ev/s)"
    )
    over = mem["over"]
    print(
        f"    {verdict[rss_ok]} RSS within the window's bound "
        + (
            f"(peak {mem['peak'] / MIB:.0f} MiB <= {mem['bound'] / MIB:.0f} MiB"
            + (f"; over it {mem['over_s']} s, first at {over[0][0]:.0f} s" if over else "")
            + ")"
            if mem["bound"] is not None
            else "(no bound: the window never got half full)"
        )
    )
    print(
        f"    {verdict[stall_ok]} no loop stall over 100 ms ({st['over_100ms']}, worst "
        f"{st['worst_ms']:.1f} ms)"
    )
    print(
        f"    {verdict[lossless]} nothing lost in the tail ({r['gaps']} gaps, "
        f"{f['sampled_out']:,} sampled out, {miss_start + miss_end:,} not read at the ends, "
        f"tail opened {r['feeds']} time(s))"
    )
    return load_ok and rss_ok and stall_ok and lossless


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
        bootstrap, started_here = benchui.start_broker()
    prefix = f"soak{uuid.uuid4().hex[:6]}-"
    topics = topic_names(prefix).all()
    ok = False
    try:
        for topic in topics:
            benchui.create_topic(bootstrap, topic, args.partitions)
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
                benchui.delete_topic(bootstrap, topic)
        if started_here:
            subprocess.run([benchui.HARNESS, "stop"], capture_output=True, check=False)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    try:
        main()
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            sys.exit(2)
        raise
