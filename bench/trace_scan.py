"""bench/trace_scan: how fast `evtui trace` searches a real topic, next to kcat.

Produces N realistic events (bench/ingest's generator: JSON bodies with
traceparent, correlation-id and causation-id headers) to a fresh topic, then in
the same run:

  (a) kcat -C -e reads the topic to /dev/null (the reference);
  (b) `evtui trace ID TOPIC --from beginning --format json` for an id that is there;
  (c) the same for an id that is not there (the whole topic, exit code 1);
  (d) (c) again with --jobs 1: one process, whatever the cores (issue 16's goal:
      at least half kcat's rate), and once more with EVTUI_NATIVE=0 (Python alone).

(b) and (c) use the default --jobs: one worker process per core for a range
this large. Prints each process's wall time, the events/s `evtui trace`
reports for its own scan (worker start-up included), the ratio to kcat, and
for (b) and (c), as users run it, PASS/MISS for the goal of 100,000 events/s.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from broker import HARNESS, start_broker
from ingest import produce
from order_events import make_event

GOAL = 100_000


def correlation_of(index: int) -> str:
    """The correlation id bench/ingest's generator gave event ``index`` (same seed)."""
    rng = random.Random(42)
    for i in range(index + 1):
        _, _, headers = make_event(i, rng)
    return dict(headers)["correlation-id"].decode()


def timed(argv: list[str], ok: tuple[int, ...] = (0,), native: bool = True) -> tuple[float, str]:
    env = {**os.environ, "EVTUI_NATIVE": "1" if native else "0"}
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"bench/trace_scan: {argv[0]} failed ({done.returncode}): {done.stderr}")
    return elapsed, done.stderr


def scan_rate(stderr: str) -> float:
    match = re.search(r"\(([\d,]+) events/s\)", stderr)
    return float(match[1].replace(",", "")) if match else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/trace_scan", description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1_000_000)
    parser.add_argument("-p", "--partitions", type=int, default=4)
    parser.add_argument("-b", "--bootstrap-servers", default=os.environ.get("EVTUI_TEST_BOOTSTRAP"))
    args = parser.parse_args()
    kcat = shutil.which("kcat")
    if kcat is None:
        raise SystemExit("bench/trace_scan: kcat is required as the reference")
    bootstrap, started_here = args.bootstrap_servers, False
    if not bootstrap:
        bootstrap, started_here = start_broker()
    topic = f"evtui-bench-trace-{uuid.uuid4().hex[:8]}"
    evtui = [sys.executable, "-m", "evtui", "trace"]
    try:
        produce(bootstrap, topic, args.count, args.partitions)
        kcat_s, _ = timed([kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q"])
        found = [*evtui, correlation_of(args.count // 2), topic, "-b", bootstrap]
        found_s, found_err = timed([*found, "--from", "beginning", "-F", "json"])
        missing = [*evtui, "no-such-id", topic, "-b", bootstrap, "--from", "beginning"]
        missing_s, missing_err = timed(missing, ok=(1,))
        single_s, single_err = timed([*missing, "--jobs", "1"], ok=(1,))
        python_s, python_err = timed([*missing, "--jobs", "1"], ok=(1,), native=False)
    finally:
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": bootstrap}).delete_topics([topic])
        if started_here:
            subprocess.run([HARNESS, "stop"], capture_output=True, check=False)
    ref = args.count / kcat_s
    print(f"bench/trace_scan: {args.count:,} events, {args.partitions} partitions")
    print(f"  kcat -C -e                   {kcat_s:6.2f} s  {ref:>11,.0f} events/s")
    print(f"  cores available: {len(os.sched_getaffinity(0))}")
    for name, secs, err in (("trace (id found)", found_s, found_err),
                            ("trace (id absent)", missing_s, missing_err),
                            ("trace (absent, --jobs 1)", single_s, single_err),
                            ("trace (--jobs 1, Python)", python_s, python_err)):  # fmt: skip
        rate = scan_rate(err)
        whole = args.count / secs
        verdict = f"goal >= {GOAL:,}/s: {'PASS' if rate >= GOAL else 'MISS'}"
        if "--jobs 1" in name:  # issue 16: one process at half kcat's rate
            verdict = f"one process >= 0.5x kcat: {'PASS' if rate >= ref / 2 else 'MISS'}"
        if "Python" in name:
            verdict = "(EVTUI_NATIVE=0: the Python implementation alone)"
        print(
            f"  evtui {name:<26} {secs:6.2f} s  {whole:>11,.0f} events/s whole process, "
            f"scan {rate:,.0f}/s ({rate / ref:.2f}x kcat)  {verdict}"
        )
    print("  " + found_err.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
