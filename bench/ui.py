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
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

# bench/broker, bench/instruments (shared with bench/soak) and this bench's parts
from broker import HARNESS, Offsets, create_topic, delete_topic, start_broker  # noqa: E402
from instruments import cpu_groups, machine_cpu, rss_bytes, stall_probe, thread_cpu  # noqa: E402
from ui_probe import (  # noqa: E402
    KEY_TIMEOUT_S,
    PhaseData,
    Probe,
    feed_figures,
    lag_sampler,
    sampler,
)
from ui_producer import ProducerProcess  # noqa: E402
from ui_report import kcat_rate, report, summarize, trace  # noqa: E402

DEFAULT_FILTER = 'value.type == "OrderPlaced"'


# -- one phase --------------------------------------------------------------------------------


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


# -- the run ----------------------------------------------------------------------------------


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
