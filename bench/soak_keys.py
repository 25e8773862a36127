"""bench/soak's keys: every tab visited on a timer, each key timed until its effect shows.

``Keys`` stands in for the terminal's input thread: it presses the keys of ``CYCLE``
(tabs 1-5, j/k/g/G in the tail, a detail and the help opened and closed) every interval.
"""

from __future__ import annotations

import threading
import time

from instruments import make_key_event

KEY_TIMEOUT_S = 5.0


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
            driver.process_message(make_key_event(key))
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
                        driver.process_message(make_key_event("escape"))
            self.stop.wait(max(0.0, self.interval - (time.perf_counter() - t0)))
