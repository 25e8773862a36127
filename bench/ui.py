"""bench/ui: the console under a live stream: key round-trip, loop stalls, kept rate, memory.

The issue's goal: while 50,000 events/s flow in, a key press is handled within
100 ms at the 99th percentile and memory stays within the configured window;
when more arrives than the UI can keep, it samples and says so instead of
falling behind without limit.

One topic on a real broker; per phase, a separate producer process (its own
GIL) sends realistic ~300-byte JSON events with correlation headers (the ones
bench/ingest makes) at a paced --rate for --seconds, while the real app
(EvtuiApp + KafkaBackend, start=end, window --window) runs headless in this
process under Textual's test driver. Phases: without a filter, then with a CEL
filter that has to decode every value (--filter), then with the flow tab shown
(issue 17: the flow model fed from the same tail, redrawn twice a second; the
keys move the cursor between its nodes: j/k/h/l; --no-flow-phase skips it).

What is measured, in the app's process:

  key round-trip   A thread stands in for the terminal's input thread: every
                   --key-interval it stamps the time and hands a Key event to
                   the driver exactly as a terminal driver does
                   (driver.process_message), then waits until the key's
                   effect has happened (the TailLog/TailPane action ran, or
                   the search text changed) AND the next screen update after
                   it was composed and encoded to terminal bytes (headless
                   Textual skips that encoding; the bench does it, to count
                   what a real terminal costs). Keys: j/k, g/G and "/" search
                   strokes (type, Enter, later clear). Pilot.press is not used:
                   it waits for the process to go idle, which never happens
                   under a stream, and would add its own waits.
  key -> action    From the stamp to the moment the navigation action ran.
  loop stalls      A task on the app's event loop sleeps 10 ms in a loop; a
                   stall is the oversleep.
  GC               Every garbage collection, timed (it holds the GIL: every
                   thread, the UI loop included, waits for it).
  tick             The app's 0.1 s tail tick (drain + filter + refresh), timed.
  kept rate        Events the store kept per second of flow, next to the rate
                   the producer offered and the broker received; dropped =
                   feed.stats.sampled_out (the header says "sampling"), and
                   with a filter view.skipped (the status says "sampled"),
                   summed over the search strokes that restart the view. Each
                   0.5 s the bench checks that sampling which began earlier is
                   on the screen.
  lag              Events the broker has that the app has not yet taken off
                   its source (kept + dropped), sampled each 0.5 s; at the
                   producer's end and --settle seconds later.
  age              Now minus the producer timestamp of the newest kept event
                   and of the newest row shown (they differ while a search or
                   filter is behind): how stale the screen is.
  memory           len(store) <= window at every 0.1 s sample; RSS at start,
                   when the window first filled, peak and end.
  CPU              Per thread group of this process (the librdkafka row also
                   holds the bench's own offsets client and the app's cluster
                   poller), the producer's, and the machine's during the flow.

All figures are taken only while events flow in. Diagnosis, on stderr:
BENCH_UI_TRACE=1 (lag each 0.5 s, GC pauses, the slowest keys),
BENCH_UI_THREADS=1 (CPU per thread), BENCH_UI_SLOW=0.03 (asyncio debug mode:
logs each loop callback slower than that many seconds); --profile (cProfile of
the UI loop in one phase, 'no filter' unless named: --profile 'flow tab'; it slows
the app down).

Then kcat reads the whole topic (the reference), and a table with PASS/MISS
per goal is printed. Exit 0 either way; non-zero only if the benchmark could
not run. Without --bootstrap-servers it starts the broker with
scripts/kafka-local (and stops it again only if it was not running).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "scripts" / "kafka-local"
sys.path.insert(0, str(ROOT))

DEFAULT_FILTER = 'value.type == "OrderPlaced"'
KEY_TIMEOUT_S = 5.0
POOL = 20_000  # distinct pre-made events the producer cycles through


# -- the producer process ---------------------------------------------------------------------


def producer_child(bootstrap: str, topic: str, rate: float, seconds: float) -> None:
    """Child process: make events, say "ready", wait for "go", send paced; print JSON."""
    from confluent_kafka import Producer
    from ingest import make_event

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
        argv = [sys.executable, me, "_produce", bootstrap, topic, str(args.rate), str(args.seconds)]
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


# -- broker helpers ---------------------------------------------------------------------------


class Offsets:
    """Sum of a topic's end offsets, from its own consumer (no group joined)."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        from confluent_kafka import Consumer, TopicPartition

        self.consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": f"evtui-bench-ui-{uuid.uuid4().hex[:8]}"}
        )
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self.lock = threading.Lock()

    def total(self) -> int:
        with self.lock:
            return sum(
                self.consumer.get_watermark_offsets(tp, timeout=5, cached=False)[1]
                for tp in self.tps
            )

    def close(self) -> None:
        with self.lock:
            self.consumer.close()


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # metadata may lag the creation a little
        meta = admin.list_topics(topic, timeout=5).topics.get(topic)
        if meta is not None and meta.error is None and len(meta.partitions) == partitions:
            return
        time.sleep(0.2)
    raise SystemExit(f"bench/ui: topic {topic} did not become ready")


def delete_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.delete_topics([topic])
    try:
        futures[topic].result(timeout=30)
    except Exception as exc:
        print(f"bench/ui: warning: could not delete {topic}: {exc}", file=sys.stderr)


# -- process and machine figures -------------------------------------------------------------


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds per thread of this process: tid -> (Python name or comm, seconds)."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[int, tuple[str, float]] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        name = names.get(int(tid)) or comm
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / tick)
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies over all cores."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    return total - idle, total


def cpu_groups(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict:
    groups: dict[str, float] = {}
    for tid, (name, secs) in after.items():
        used = secs - before.get(tid, (name, 0.0))[1]
        if tid == os.getpid():
            group = "UI loop (main thread)"
        elif name.startswith("rdk:"):
            group = "librdkafka threads"
        elif name == "evtui-kafka-source":
            group = "evtui source thread"
        else:
            group = "other threads"
        groups[group] = groups.get(group, 0.0) + used
        if os.environ.get("BENCH_UI_THREADS"):
            print(f"  thread {tid} {name}: {used:.2f} s", file=sys.stderr)
    return groups


def slope(points: list[tuple[float, int]]) -> float:
    """Least-squares growth in bytes/s."""
    if len(points) < 3:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (y - my) for t, y in points) / var if var else 0.0


def rss_slope(d: PhaseData) -> float:
    """RSS growth (bytes/s) over the later half of the flow after the window filled."""
    if d.rss_full_index is None:
        return 0.0
    full = d.rss[d.rss_full_index :]
    return slope(full[len(full) // 2 :])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))  # nearest rank
    return ordered[min(len(ordered), max(1, rank)) - 1]


# -- keys -------------------------------------------------------------------------------------


NAV = [*"kkkkkkjjjjjj", "g", *"jjjj", "G", *"kkkk", *"jjjj", "G"]
SEARCH_TEXT = "order"  # no app-level key (q, 1, 2, ?) in it: those would not reach the input


FLOW_NAV = [*"jjjjllllkkkkhhhh"]  # the flow tab: between nodes (rows, then columns)


def key_plan(flow: bool = False) -> list[str]:
    """One cycle: navigate, search, navigate, clear the search (the flow tab: navigate)."""
    if flow:
        return FLOW_NAV
    search = ["slash", *SEARCH_TEXT, "enter"]
    clear = ["slash", "backspace", "enter"]  # "/" selects the old text; backspace clears it
    return [*NAV, *search, *NAV, *clear]


def make_key_event(key: str):
    """A Key event as a terminal driver makes it (mirrors App._press_keys)."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


@dataclass
class Press:
    key: str
    kind: str  # "nav" | "search"
    done: Callable[[], bool]
    t0: float = 0.0
    t_action: float | None = None
    t_frame: float | None = None
    finished: threading.Event = field(default_factory=threading.Event)


@dataclass
class PhaseData:
    stalls: list[float] = field(default_factory=list)
    ticks: list[float] = field(default_factory=list)
    presses: list[Press] = field(default_factory=list)
    view_age_ms: list[float] = field(default_factory=list)
    lag: list[tuple[float, int, int, int, int]] = field(default_factory=list)  # t, lag, ...
    view_age_at: list[float] = field(default_factory=list)  # when each view age was taken
    kept_age_ms: list[float] = field(default_factory=list)  # the newest kept event's age
    max_kept: int = 0
    over_window: int = 0
    samples: int = 0
    rss_peak: int = 0
    rss_full: int | None = None
    rss: list[tuple[float, int]] = field(default_factory=list)  # (time, RSS) while flowing
    rss_full_index: int | None = None  # the first rss sample with the window full
    frames: int = 0
    gc_pauses: list[tuple[int, float]] = field(default_factory=list)  # (generation, seconds)
    drop_checks: int = 0  # 0.5 s checks while the feed had dropped events
    drop_said: int = 0  # ... of which the header said "sampling"
    skip_checks: int = 0  # checks while the filter had skipped events
    skip_said: int = 0  # ... of which the status said "sampled"


class Probe:
    """Hooks on one running app: frames, actions, ticks; sends keys from a thread."""

    def __init__(
        self, app, data: PhaseData, interval: float, encode: bool, flow: bool = False
    ) -> None:
        from textual.widgets import Input

        from evtui.tui.widgets.flowpane import FlowTable
        from evtui.tui.widgets.tail import TailLog

        self.app = app
        self.data = data
        self.interval = interval
        self.pending: Press | None = None
        self.actions = {"log": 0, "search": 0, "flow": 0}
        self.flow = flow
        self.stop = threading.Event()
        self.flowing = threading.Event()  # figures count only while events flow in
        self.log = app.query_one(TailLog)
        self.box = app.query_one("#tail-input", Input)
        self._wrap(self.log, ["cursor_up", "cursor_down", "first", "last"], "log")
        self._wrap(app.tail, ["search"], "search")
        if flow:
            table = app.query_one(FlowTable)
            self._wrap(table, ["cursor_up", "cursor_down", "cursor_left", "cursor_right"], "flow")
        self._hook_display(encode)
        self._hook_tick()
        self._hook_view()
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)
        self.thread = threading.Thread(target=self._run_keys, name="bench-keys", daemon=True)

    # hooks (all run on the app's loop)

    def _wrap(self, target, names: list[str], counter: str) -> None:
        for name in names:
            original = getattr(target, f"action_{name}")

            def action(original=original) -> None:
                self.actions[counter] += 1
                press = self.pending
                if press is not None and press.t_action is None:
                    press.t_action = time.perf_counter()
                original()

            setattr(target, f"action_{name}", action)

    def _hook_display(self, encode: bool) -> None:
        app = self.app
        original = app._display
        console = app.console

        def display(screen, renderable) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            if encode and hasattr(renderable, "render_segments"):
                renderable.render_segments(console)  # what a terminal driver would write
            if self.flowing.is_set():
                self.data.frames += 1
            press = self.pending
            if press is not None and not press.finished.is_set() and press.done():
                press.t_frame = time.perf_counter()
                press.finished.set()

        app._display = display

    def _hook_tick(self) -> None:
        tail = self.app.tail
        original = tail.tick
        ticks, flowing = self.data.ticks, self.flowing

        def tick() -> None:
            started = time.perf_counter()
            original()
            if flowing.is_set():
                ticks.append(time.perf_counter() - started)

        tail.tick = tick

    def _hook_view(self) -> None:
        """view.checked/skipped restart at each new predicate (each search stroke): sum them."""
        view = self.app.tail.feed.view
        self.view_totals = {"checked": 0, "skipped": 0}
        original = view.set_predicate

        def set_predicate(predicate) -> None:
            self.view_totals["checked"] += view.checked
            self.view_totals["skipped"] += view.skipped
            original(predicate)

        view.set_predicate = set_predicate

    def start_counting(self) -> None:
        view = self.app.tail.feed.view
        self.view_totals = {"checked": -view.checked, "skipped": -view.skipped}
        self.flowing.set()

    def _on_gc(self, phase: str, info: dict) -> None:
        """Collections stop every thread (they hold the GIL): time them."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self.flowing.is_set():
            self.data.gc_pauses.append((info["generation"], time.perf_counter() - self._gc_started))

    def close(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    # keys (the "input thread")

    def _done_for(self, key: str) -> tuple[str, Callable[[], bool]]:
        tail, box = self.app.tail, self.box
        if self.flow:
            seen = self.actions["flow"]
            return "nav", lambda: self.actions["flow"] > seen
        if key in ("j", "k", "g", "G"):
            seen = self.actions["log"]
            return "nav", lambda: self.actions["log"] > seen
        if key == "slash":
            seen = self.actions["search"]
            return "search", lambda: self.actions["search"] > seen
        if key == "enter":
            return "search", lambda: box.has_class("hidden") and self.app.focused is self.log
        # a stroke in the search box: done once the tail searches for what the box holds
        before = tail.search_text
        return "search", lambda: tail.search_text != before and tail.search_text == box.value

    def _run_keys(self) -> None:
        driver = self.app._driver
        for key in itertools.cycle(key_plan(self.flow)):
            if self.stop.is_set():
                return
            kind, done = self._done_for(key)
            press = Press(key, kind, done)
            event = make_key_event(key)
            self.pending = press
            press.t0 = time.perf_counter()
            driver.process_message(event)
            press.finished.wait(KEY_TIMEOUT_S)
            self.pending = None
            self.data.presses.append(press)
            if press.t_frame is None:  # timed out: the state may no longer match the plan
                print(
                    f"bench/ui: key {key!r} not handled within {KEY_TIMEOUT_S} s (search "
                    f"{self.app.tail.search_text!r}, input "
                    f"{self.box.value!r}, focus {type(self.app.focused).__name__})",
                    file=sys.stderr,
                )
                if kind == "search":
                    return
            self.stop.wait(max(0.0, self.interval - (time.perf_counter() - press.t0)))


# -- one phase --------------------------------------------------------------------------------


async def stall_probe(
    stalls: list[float], flowing: threading.Event, stop: asyncio.Event, with_cpu: bool = False
) -> None:
    """Each oversleep of a 10 ms sleep on the loop; ``with_cpu``: appended with the UI
    thread's own CPU time in it (a stall with little of it is the thread waiting for a
    core or for the GIL another thread holds, not the console's own work)."""
    while not stop.is_set():
        started, cpu = time.perf_counter(), time.thread_time()
        await asyncio.sleep(0.01)
        if flowing.is_set():
            stall = max(0.0, time.perf_counter() - started - 0.01)
            if with_cpu:
                stalls.append(stall, time.thread_time() - cpu)  # type: ignore[call-arg]
            else:
                stalls.append(stall)


async def sampler(app, data: PhaseData, window: int, flowing: threading.Event, stop) -> None:
    from evtui.tui.widgets.header import render_header

    n = 0
    drops = [0, 0]  # feed.stats.sampled_out one and two checks ago
    skipped_before, predicate_before = 0, None
    while not stop.is_set():
        feed = app.tail.feed
        if feed is not None:
            kept = len(feed.store)
            data.samples += 1
            data.max_kept = max(data.max_kept, kept)
            data.over_window += kept > window
            view = feed.view
            if flowing.is_set() and kept:
                newest = feed.store[feed.store.next - 1].timestamp
                data.kept_age_ms.append(time.time() * 1000 - newest)
            if flowing.is_set() and view.rows:
                newest = view.event_at(view.rows - 1).timestamp
                data.view_age_ms.append(time.time() * 1000 - newest)
                data.view_age_at.append(time.perf_counter())
            if n % 5 == 0 and flowing.is_set():
                # sampling that began a check earlier must be on the screen now (the header is
                # refreshed each 0.5 s: two checks); a new search or filter restarts the view
                header = render_header(app.header_state).plain
                status = app.tail.status_text().plain
                if drops[1]:
                    data.drop_checks += 1
                    data.drop_said += "sampling:" in header
                if skipped_before and view.predicate is predicate_before:
                    data.skip_checks += 1
                    data.skip_said += "sampled:" in status
                drops = [feed.stats.sampled_out, drops[0]]
                skipped_before, predicate_before = view.skipped, view.predicate
            if n % 5 == 0:
                rss = rss_bytes()
                data.rss_peak = max(data.rss_peak, rss)
                if flowing.is_set():
                    data.rss.append((time.perf_counter(), rss))
                if data.rss_full is None and kept >= window:
                    data.rss_full = rss
                    data.rss_full_index = len(data.rss)
        n += 1
        await asyncio.sleep(0.1)


def lag_sampler(offsets: Offsets, base: int, app, data: PhaseData, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        offered = offsets.total() - base
        feed = app.tail.feed
        if feed is not None:
            received, sampled = feed.stats.received, feed.stats.sampled_out
            lag = offered - received - sampled
            data.lag.append((time.perf_counter(), lag, offered, received, sampled))


def feed_figures(app, probe: Probe) -> dict:
    feed = app.tail.feed
    view = feed.view
    return {
        "received": feed.stats.received,
        "sampled_out": feed.stats.sampled_out,
        "kept_total": feed.store.stats.total,
        "evicted": feed.store.stats.evicted,
        "duplicates": feed.store.stats.duplicates_dropped,
        "kept_now": len(feed.store),
        "rows": view.rows,
        "checked": view.checked + probe.view_totals["checked"],
        "skipped": view.skipped + probe.view_totals["skipped"],
        "pending": view.pending,
        "flowed": app.flow.events,  # events the flow model counted
        "not_flowed": feed.stats.not_flowed,  # ... and skipped while behind (said on screen)
    }


async def run_phase(
    args: argparse.Namespace,
    bootstrap: str,
    topic: str,
    expression: str | None,
    profile: bool,
    flow: bool = False,
) -> dict:
    from evtui.config import resolve_client_config
    from evtui.core.positions import END
    from evtui.tui.app import EvtuiApp
    from evtui.tui.backend import KafkaBackend
    from evtui.tui.widgets.header import render_header

    producer = await asyncio.to_thread(ProducerProcess, args, bootstrap, topic)
    offsets = Offsets(bootstrap, topic, args.partitions)
    data = PhaseData()
    probe: Probe | None = None
    stop_threads = threading.Event()
    try:
        config = resolve_client_config(bootstrap=bootstrap, cluster=None, x_options=[], config=None)
        app = EvtuiApp(
            KafkaBackend(config),
            topics=[topic],
            start=END,
            capacity=args.window,
            filter_expression=expression,
        )
        async with app.run_test(size=(160, 50)):
            deadline = time.monotonic() + 30
            while app.tail.feed is None:
                if time.monotonic() > deadline:
                    raise SystemExit(f"bench/ui: the tail did not open: {app.tail.message}")
                await asyncio.sleep(0.05)
            if flow:
                app.action_show_tab("flow")  # shown (and redrawn) the whole phase
            await asyncio.sleep(0.5)  # let the first ticks and paints settle
            probe = Probe(app, data, args.key_interval, not args.no_encode, flow)
            base = await asyncio.to_thread(offsets.total)
            stop_tasks, flowing = asyncio.Event(), probe.flowing
            tasks = [
                asyncio.create_task(stall_probe(data.stalls, flowing, stop_tasks)),
                asyncio.create_task(sampler(app, data, args.window, flowing, stop_tasks)),
            ]
            lag_thread = threading.Thread(
                target=lag_sampler, args=(offsets, base, app, data, stop_threads), daemon=True
            )
            rss_start = rss_bytes()
            cpu0, machine0 = thread_cpu(), machine_cpu()
            profiler = None
            if profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            producer.go()
            t_go = time.perf_counter()
            probe.start_counting()
            lag_thread.start()
            probe.thread.start()
            produced = await asyncio.to_thread(producer.result)
            t_end = time.perf_counter()
            flowing.clear()
            probe.stop.set()  # keys only while events flow in
            at_end = feed_figures(app, probe)
            offered = await asyncio.to_thread(offsets.total) - base
            lag_end = offered - (at_end["received"] + at_end["sampled_out"])
            cpu1, machine1 = thread_cpu(), machine_cpu()
            await asyncio.sleep(args.settle)
            stop_threads.set()
            settled = feed_figures(app, probe)
            lag_settled = offered - (settled["received"] + settled["sampled_out"])
            probe.close()
            if profiler is not None:
                profiler.disable()
            stop_tasks.set()
            await asyncio.gather(*tasks)
            await asyncio.to_thread(probe.thread.join, KEY_TIMEOUT_S + 1)
            await asyncio.to_thread(lag_thread.join, 10)
            header = render_header(app.header_state).plain
            status = app.tail.status_text().plain
            rss_end = rss_bytes()
    finally:
        stop_threads.set()
        if probe is not None:
            probe.stop.set()
            probe.close()
        producer.kill()
        offsets.close()
    flow_s = produced["flush_s"]
    busy = (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1])
    result = {
        "filter": expression,
        "produced": produced,
        "offered": offered,
        "flow_s": flow_s,
        "t_go": t_go,
        "t_end": t_end,
        "at_end": at_end,
        "settled": settled,
        "lag_end": lag_end,
        "lag_settled": lag_settled,
        "header": header,
        "status": status,
        "rss_start": rss_start,
        "rss_end": rss_end,
        "cpu": {k: v / (t_end - t_go) for k, v in cpu_groups(cpu0, cpu1).items()},
        "producer_cpu": produced["cpu_s"] / produced["flush_s"],
        "machine_busy_cores": busy * (os.cpu_count() or 1),
        "data": data,
    }
    if os.environ.get("BENCH_UI_TRACE"):
        trace(data, t_go)
        print(f"  GC pauses (gen, ms): {[(g, round(x * 1000)) for g, x in data.gc_pauses]}")
        slow = sorted(data.presses, key=lambda p: -((p.t_frame or p.t0 + KEY_TIMEOUT_S) - p.t0))
        for p in slow[:12]:
            action = f"{(p.t_action - p.t0) * 1000:.0f}" if p.t_action else "-"
            frame = f"{(p.t_frame - p.t0) * 1000:.0f}" if p.t_frame else "timeout"
            print(
                f"  slow key {p.key!r} at {p.t0 - t_go:.1f} s: action {action} ms, frame {frame} ms"
            )
    if profiler is not None:
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        result["profile"] = out.getvalue()
    return result


def trace(data: PhaseData, t_go: float) -> None:
    """Per 0.5 s: offered, taken, dropped, lag, the worst view age and stall (stderr)."""
    ages = list(zip(data.view_age_at, data.view_age_ms, strict=True))
    print("     t  offered received  dropped      lag  age-max stall-max", file=sys.stderr)
    prev = t_go
    for t, lag, offered, received, sampled in data.lag:
        age = max((a for at, a in ages if prev <= at < t), default=0.0)
        print(
            f"  {t - t_go:4.1f} {offered:8,} {received:8,} {sampled:8,} {lag:8,} {age:8.0f}",
            file=sys.stderr,
        )
        prev = t


# -- the reference and the report ------------------------------------------------------------


def kcat_rate(bootstrap: str, topic: str, events: int) -> tuple[float, float]:
    kcat = shutil.which("kcat")
    if kcat is None:
        raise SystemExit("bench/ui: kcat is required as the reference (apt-get install kcat)")
    started = time.perf_counter()
    done = subprocess.run(
        [kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    secs = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench/ui: kcat failed: {done.stderr.decode().strip()[-500:]}")
    return events / secs, secs


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def summarize(r: dict, window: int) -> dict:
    d: PhaseData = r["data"]
    flow = r["flow_s"]
    done = [p for p in d.presses if p.t_frame is not None]
    trips = [p.t_frame - p.t0 for p in done]  # type: ignore[operator]
    trips_all = trips + [KEY_TIMEOUT_S] * (len(d.presses) - len(done))
    nav_action = [p.t_action - p.t0 for p in done if p.kind == "nav" and p.t_action]
    search_trips = [p.t_frame - p.t0 for p in done if p.kind == "search"]  # type: ignore[operator]
    nav_trips = [p.t_frame - p.t0 for p in done if p.kind == "nav"]  # type: ignore[operator]
    lags = [sample[1] for sample in d.lag]
    e, s = r["at_end"], r["settled"]
    flow_stalls = d.stalls
    return {
        "offered_rate": r["produced"]["sent"] / r["produced"]["produce_s"],
        "broker_rate": r["offered"] / flow,
        "offered": r["offered"],
        "kept_rate": e["kept_total"] / flow,
        "kept_ratio": s["kept_total"] / r["offered"] if r["offered"] else 0.0,
        "kept_total": s["kept_total"],
        "sampled_out": s["sampled_out"],
        "evicted": s["evicted"],
        "checked": s["checked"],
        "skipped": s["skipped"],
        "pending": s["pending"],
        "rows": s["rows"],
        "lag_end": r["lag_end"],
        "lag_settled": r["lag_settled"],
        "lag_max": max(lags) if lags else 0,
        "keys": len(d.presses),
        "keys_timed_out": len(d.presses) - len(done),
        "key_p50": pct(trips_all, 50),
        "key_p99": pct(trips_all, 99),
        "key_max": max(trips_all) if trips_all else float("nan"),
        "nav_action_p50": pct(nav_action, 50),
        "nav_action_p99": pct(nav_action, 99),
        "search_keys": len(search_trips),
        "search_p50": pct(search_trips, 50),
        "search_p99": pct(search_trips, 99),
        "nav_p50": pct(nav_trips, 50),
        "nav_p99": pct(nav_trips, 99),
        "stall_p99": pct(flow_stalls, 99),
        "stall_max": max(flow_stalls) if flow_stalls else 0.0,
        "stalls_over_100ms": sum(1 for x in flow_stalls if x > 0.1),
        "stall_samples": len(flow_stalls),
        "gc_young": sum(1 for g, _ in d.gc_pauses if g < 2),
        "gc_full": sum(1 for g, _ in d.gc_pauses if g == 2),
        "gc_max": max((x for _, x in d.gc_pauses), default=0.0),
        "gc_total": sum(x for _, x in d.gc_pauses),
        "tick_p50": pct(d.ticks, 50),
        "tick_p99": pct(d.ticks, 99),
        "tick_max": max(d.ticks) if d.ticks else 0.0,
        "ticks_per_s": len(d.ticks) / (flow + 0.0001),
        "frames_per_s": d.frames / (flow + 0.0001),
        "kept_age_p50_ms": pct(d.kept_age_ms, 50),
        "kept_age_p99_ms": pct(d.kept_age_ms, 99),
        "view_age_p50_ms": pct(d.view_age_ms, 50),
        "view_age_p99_ms": pct(d.view_age_ms, 99),
        "max_kept": d.max_kept,
        "window": window,
        "over_window_samples": d.over_window,
        "samples": d.samples,
        "rss_start": r["rss_start"],
        "rss_full": d.rss_full,
        "rss_peak": max(d.rss_peak, r["rss_end"]),
        "rss_slope": rss_slope(d),
        "rss_end": r["rss_end"],
        "cpu": r["cpu"],
        "producer_cpu": r["producer_cpu"],
        "machine_busy_cores": r["machine_busy_cores"],
        "drop_checks": d.drop_checks,
        "drop_said": d.drop_said,
        "skip_checks": d.skip_checks,
        "skip_said": d.skip_said,
        "header_says_sampling": "sampling:" in r["header"],
        "header": r["header"],
        "status": r["status"],
    }


def report(args: argparse.Namespace, phases: dict[str, dict], kcat: tuple[float, float]) -> None:
    kcat_eps, kcat_s = kcat
    names = list(phases)
    first = next(iter(phases.values()))
    mib = 2**20
    avg_value = first["_avg_value"]
    print(
        f"bench/ui: {args.rate:,.0f} events/s offered for {args.seconds:g} s per phase, value avg "
        f"{avg_value:.0f} B + 3 headers, {args.partitions} partitions, window {args.window:,}, "
        f"a key every {args.key_interval * 1000:.0f} ms"
    )

    def row(label: str, fmt: Callable[[dict], str]) -> None:
        print(f"  {label:<34}" + "".join(f"{fmt(phases[n]):>24}" for n in names))

    print(f"  {'':<34}" + "".join(f"{n:>24}" for n in names))
    row("offered (producer, paced)", lambda s: f"{s['offered_rate']:,.0f} ev/s")
    row("broker received", lambda s: f"{s['broker_rate']:,.0f} ev/s")
    row("UI kept during the flow", lambda s: f"{s['kept_rate']:,.0f} ev/s")
    row("  kept / offered (after settle)", lambda s: f"{s['kept_ratio']:.3f}")
    row("  kept rate / kcat read rate", lambda s: f"{s['kept_rate'] / kcat_eps:.3f}x")
    row("evicted from the window", lambda s: f"{s['evicted']:,}")
    row("dropped (feed.sampled_out)", lambda s: f"{s['sampled_out']:,}")
    row("filter+search checked / not checked", lambda s: f"{s['checked']:,} / {s['skipped']:,}")
    row(
        "lag: max / at end / +settle",
        lambda s: f"{s['lag_max']:,}/{s['lag_end']:,}/{s['lag_settled']:,}",
    )
    row(
        "newest kept: age p50 / p99 (ms)",
        lambda s: f"{s['kept_age_p50_ms']:.0f} / {s['kept_age_p99_ms']:.0f}",
    )
    row(
        "newest row shown: age p50/p99 (ms)",
        lambda s: f"{s['view_age_p50_ms']:.0f} / {s['view_age_p99_ms']:.0f}",
    )
    row("keys pressed (search strokes)", lambda s: f"{s['keys']} ({s['search_keys']})")
    row("key round-trip p50 / p99 (ms)", lambda s: f"{ms(s['key_p50'])} / {ms(s['key_p99'])}")
    row("key round-trip max (ms)", lambda s: f"{ms(s['key_max'])}")
    row("  j/k/g/G p50 / p99 (ms)", lambda s: f"{ms(s['nav_p50'])} / {ms(s['nav_p99'])}")
    row(
        "  search strokes p50 / p99 (ms)",
        lambda s: f"{ms(s['search_p50'])} / {ms(s['search_p99'])}",
    )
    row(
        "  key -> nav action p50/p99 (ms)",
        lambda s: f"{ms(s['nav_action_p50'])} / {ms(s['nav_action_p99'])}",
    )
    row("loop stall p99 / max (ms)", lambda s: f"{ms(s['stall_p99'])} / {ms(s['stall_max'])}")
    row("loop stalls > 100 ms", lambda s: f"{s['stalls_over_100ms']} of {s['stall_samples']}")
    row(
        "GC runs gen0-1 / gen2, max (ms)",
        lambda s: f"{s['gc_young']} / {s['gc_full']}, {ms(s['gc_max'])}",
    )
    row(
        "tick p50 / p99 / max (ms)",
        lambda s: f"{ms(s['tick_p50'])}/{ms(s['tick_p99'])}/{ms(s['tick_max'])}",
    )
    row("ticks/s, frames/s", lambda s: f"{s['ticks_per_s']:.1f}, {s['frames_per_s']:.1f}")
    row("kept max / window", lambda s: f"{s['max_kept']:,} / {s['window']:,}")
    row(
        "RSS start / window full (MiB)",
        lambda s: f"{s['rss_start'] / mib:.0f} / {(s['rss_full'] or 0) / mib:.0f}",
    )
    row("RSS peak / end (MiB)", lambda s: f"{s['rss_peak'] / mib:.0f} / {s['rss_end'] / mib:.0f}")
    row("RSS growth once full, late half", lambda s: f"{s['rss_slope'] / mib:+.2f} MiB/s")
    for group in (
        "UI loop (main thread)",
        "evtui source thread",
        "librdkafka threads",
        "other threads",
    ):
        row(f"CPU {group} (cores)", lambda s, g=group: f"{s['cpu'].get(g, 0.0):.2f}")
    row("CPU producer process (cores)", lambda s: f"{s['producer_cpu']:.2f}")
    row(
        f"CPU machine busy (of {os.cpu_count() or 1})",
        lambda s: f"{s['machine_busy_cores']:.2f}",
    )
    print(
        f"  reference: kcat -C -e read the whole topic ({first['_topic_events']:,} events) in "
        f"{kcat_s:.2f} s = {kcat_eps:,.0f} ev/s"
    )
    for name, r in phases.items():
        if name == "flow tab":
            end = r["_settled"]
            print(f"  [{name}] the flow model counted {end['flowed']:,} events, skipped "
                  f"{end['not_flowed']:,} while behind (the flow tab says so)")  # fmt: skip
    for name, s in phases.items():
        if s["sampled_out"] or s["skipped"]:
            shown = s["header"] if "sampling:" in s["header"] else s["status"]
            print(f"  [{name}] the screen says: {shown.strip()[:150]}")
    print("  goals:")
    for name, s in phases.items():
        key_ok = s["key_p99"] < 0.1 and not s["keys_timed_out"] and s["keys"] >= 50
        grew = s["rss_end"] - (s["rss_full"] or s["rss_end"])
        mem_ok = s["over_window_samples"] == 0 and s["max_kept"] <= s["window"]
        # behind: more than 2 s of input not taken, or not caught up after the flow
        behind = s["lag_max"] > 2 * args.rate or s["lag_settled"] > max(1000, 0.01 * s["offered"])
        said = s["drop_said"] + s["skip_said"]
        checks = s["drop_checks"] + s["skip_checks"]
        says = said == checks and (not s["sampled_out"] or s["header_says_sampling"])
        dropped = s["sampled_out"] + s["skipped"]
        kept_ok = not behind and (dropped == 0 or says)
        kept_how = (
            "kept everything"
            if dropped == 0
            else f"dropped {s['sampled_out']:,}, filter skipped {s['skipped']:,}; "
            f"the screen said so at {said} of {checks} checks"
        )
        verdict = {True: "PASS", False: "MISS"}
        print(
            f"    [{name}] {verdict[key_ok]} key p99 < 100 ms "
            f"({ms(s['key_p99'])} ms over {s['keys']} keys, {s['keys_timed_out']} timed out)"
        )
        print(
            f"    [{name}] {verdict[mem_ok]} memory within the window "
            f"(kept <= {s['window']:,} at all {s['samples']} samples; "
            f"RSS {grew / mib:+.0f} MiB after the window filled, "
            f"{s['rss_slope'] / mib:+.2f} MiB/s late in the flow)"
        )
        print(
            f"    [{name}] {verdict[kept_ok]} kept up or sampled and said so ({kept_how}; "
            f"lag max {s['lag_max']:,}, {s['lag_settled']:,} events {args.settle:g} s after the "
            f"flow; newest row shown {s['view_age_p99_ms'] / 1000:.1f} s old at p99)"
        )


def start_broker() -> tuple[str, bool]:
    was_running = subprocess.run([HARNESS, "status"], capture_output=True).returncode == 0
    out = subprocess.run([HARNESS, "start"], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1], not was_running


async def run(args: argparse.Namespace, bootstrap: str, topic: str) -> None:
    phases: dict[str, dict] = {}
    plan: list[tuple[str, str | None]] = [("no filter", None)]
    if not args.no_filter_phase:
        plan.append(("CEL filter", args.filter))
    if not args.no_flow_phase:
        plan.append(("flow tab", None))
    results = {}
    if os.environ.get("BENCH_UI_SLOW"):  # diagnosis: asyncio logs callbacks slower than this (s)
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = float(os.environ["BENCH_UI_SLOW"])
    for name, expression in plan:
        print(f"bench/ui: phase '{name}' ({args.seconds:g} s of flow)...", file=sys.stderr)
        flow = name == "flow tab"
        results[name] = await run_phase(
            args, bootstrap, topic, expression,
            args.profile == name, flow,
        )  # fmt: skip
    offsets = Offsets(bootstrap, topic, args.partitions)
    total = offsets.total()
    offsets.close()
    kcat = kcat_rate(bootstrap, topic, total)
    for name, r in results.items():
        phases[name] = summarize(r, args.window)
        phases[name]["_avg_value"] = r["produced"]["avg_value"]
        phases[name]["_topic_events"] = total
        phases[name]["_settled"] = r["settled"]
    report(args, phases, kcat)
    for r in results.values():
        if "profile" in r:
            print("\ncProfile of the UI loop thread (no-filter phase; it slows the app down):")
            print(r["profile"])
    if args.json:
        out = {
            "rate": args.rate,
            "seconds": args.seconds,
            "window": args.window,
            "kcat_events_per_s": kcat[0],
            "phases": {
                n: {k: v for k, v in s.items() if not k.startswith("_")} for n, s in phases.items()
            },
        }
        Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_produce":
        producer_child(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(prog="bench/ui", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50_000, help="events/s offered")
    parser.add_argument("--seconds", type=float, default=20, help="seconds of flow per phase")
    parser.add_argument("--window", type=int, default=100_000, help="the app's window (events)")
    parser.add_argument("-p", "--partitions", type=int, default=6)
    parser.add_argument("-b", "--bootstrap-servers", default=os.environ.get("EVTUI_TEST_BOOTSTRAP"))
    parser.add_argument("--filter", default=DEFAULT_FILTER, help="the CEL filter phase's filter")
    parser.add_argument("--no-filter-phase", action="store_true", help="skip the filter phase")
    parser.add_argument("--no-flow-phase", action="store_true", help="skip the flow tab phase")
    parser.add_argument("--key-interval", type=float, default=0.06, help="seconds between keys")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the flow")
    parser.add_argument(
        "--no-encode", action="store_true", help="do not encode frames to terminal bytes"
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="no filter",
        choices=["no filter", "CEL filter", "flow tab"],
        metavar="PHASE",
        help="cProfile the UI loop in this phase ('no filter' when not given, or 'flow tab')",
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the topic afterwards")
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0 or args.window < 1 or args.partitions < 1:
        parser.error("--rate, --seconds, --window and --partitions must be positive")
    from evtui.plugins import load_plugins
    from evtui.runtime import tune_gc

    load_plugins()
    tune_gc()  # as the evtui command does
    started_here = False
    bootstrap = args.bootstrap_servers
    if not bootstrap:
        bootstrap, started_here = start_broker()
    topic = f"evtui-bench-ui-{uuid.uuid4().hex[:8]}"
    try:
        create_topic(bootstrap, topic, args.partitions)
        asyncio.run(run(args, bootstrap, topic))
    finally:
        if not args.keep:
            delete_topic(bootstrap, topic)
        if started_here:
            subprocess.run([HARNESS, "stop"], capture_output=True, check=False)


if __name__ == "__main__":
    main()
