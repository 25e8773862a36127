"""bench/soak's report: the run's figures, then PASS/MISS per goal (the load, RSS within the
window's bound, no loop stall over 100 ms, nothing lost in the tail)."""

from __future__ import annotations

import argparse
import os

from instruments import MIB, slope
from soak_keys import KEY_TIMEOUT_S


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
    growth = slope(late) * 3600 / MIB if len(late) >= 3 else float("nan")
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
