"""bench/ui's reference and report: kcat's read rate, each phase's figures, the PASS/MISS table.

``summarize`` turns one phase's raw result (``PhaseData`` and the counters bench/ui's
``run_phase`` took) into the figures; ``report`` prints them side by side per phase, with
the goals; ``trace`` is the BENCH_UI_TRACE diagnosis (stderr).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

from instruments import pct, slope
from ui_probe import KEY_TIMEOUT_S, PhaseData


def rss_slope(d: PhaseData) -> float:
    """RSS growth (bytes/s) over the later half of the flow after the window filled."""
    if d.rss_full_index is None:
        return 0.0
    full = d.rss[d.rss_full_index :]
    return slope(full[len(full) // 2 :])


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
