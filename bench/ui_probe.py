"""bench/ui's probe on one running app: the keys it presses and what it records per phase.

``Probe`` hooks the app (navigation actions, frames, the tail's tick, the view's predicate,
garbage collections) and stands in for the terminal's input thread: it presses the keys of
``key_plan`` and times each until its effect is on screen. ``sampler`` (on the app's loop) and
``lag_sampler`` (a thread) fill the same ``PhaseData``; ``feed_figures`` reads the feed's
counters. What the figures mean: bench/ui.py's docstring; how they are reported: ui_report.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from broker import Offsets
from instruments import make_key_event, rss_bytes

KEY_TIMEOUT_S = 5.0


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


# -- samplers ---------------------------------------------------------------------------------


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
