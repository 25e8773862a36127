"""The instruments the console benches (bench/ui, bench/soak) share, in the app's own process.

Process and machine figures read from /proc (RSS, CPU per thread, the machine's CPU), the
statistics the reports use (nearest-rank percentile, least-squares slope), the loop stall
probe (a task on the app's event loop that times each oversleep of a 10 ms sleep) and a Key
event as a terminal driver makes it. Nothing here knows the broker or a benchmark's phases:
a new figure that more than one bench takes belongs here.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import threading
import time
from pathlib import Path

MIB = 2**20


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


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))  # nearest rank
    return ordered[min(len(ordered), max(1, rank)) - 1]


# -- the terminal's keys ----------------------------------------------------------------------


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


# -- the loop ---------------------------------------------------------------------------------


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
