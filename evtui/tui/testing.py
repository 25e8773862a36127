"""Reproducible app instances on the seeded simulator: for tests, screenshots and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from evtui.tui.app import EvtuiApp

FIXED_START_MS = 1_795_000_000_000  # 2026-11-18T10:13:20Z: the seeded demo's clock


def demo_app(
    seconds: float = 30.0,
    elapsed_s: float | None = None,
    registry: str | None = None,
    **kwargs: Any,
) -> EvtuiApp:
    """The app on the seeded simulator; ``elapsed_s`` of history exist when it starts.

    ``registry`` (``mock://NAME``): the demo through that in-memory registry, the
    evtui-schema-registry plugin loaded on it (orders in Avro, payments in Protobuf).
    """
    from evtui.application.backends import DemoBackend
    from evtui.application.demo import DemoOptions
    from evtui.core.positions import BEGINNING

    settings = None
    if registry is not None:
        from evtui.config import parse_registry_url
        from evtui.plugins import Settings, load_plugins

        settings = parse_registry_url(registry)
        load_plugins(files=False, settings=Settings(schema_registry=settings))
    options = DemoOptions(seed=7, rate=40.0, duration_s=seconds, registry=settings)
    elapsed = seconds if elapsed_s is None else elapsed_s
    backend = DemoBackend(
        options, start_ms=FIXED_START_MS, elapsed_ms=int(elapsed * 1000), poll_interval=0.3
    )
    kwargs.setdefault("topics", backend.default_topics)
    kwargs.setdefault("start", BEGINNING)
    return EvtuiApp(backend, **kwargs)


async def wait_for(pilot: Any, predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Let the app run until ``predicate`` holds (False after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await pilot.pause(0.05)
    return predicate()


async def settle(pilot: Any, app: EvtuiApp) -> None:
    """Wait until the demo history is all in and the overview has its figures, then
    freeze the clock-dependent ones (rates) so that screens are reproducible."""
    await wait_for(pilot, lambda: app.tail.feed is not None and app.tail.feed.stats.finished)
    await wait_for(pilot, lambda: app.violations.finished)  # the checks have seen it all
    clock = getattr(app.backend, "clock", None)
    if clock is not None:  # the simulated cluster's history is all there: rates are flat now
        from evtui.sources.base import SourceState

        await wait_for(pilot, lambda: clock.state is SourceState.FINISHED)
        app.poller.stop()
        app.poller = app.backend.make_poller()
        app.poller.start()
        if app.lag_poller is not None:  # the same for lag (the overview shows it too)
            app.lag_poller.stop()
            app.lag_poller = app.backend.make_lag_poller()
            app.lag_poller.start()
    await wait_for(pilot, lambda: getattr(app.poller, "polls", 2) >= 2 and app.snapshot is not None)
    await wait_for(
        pilot,
        lambda: app.snapshot is not None and all(t.rate is not None for t in app.snapshot.topics),
    )
    lag = app.lag_poller
    await wait_for(pilot, lambda: lag is None or lag.latest() is not None)
    freeze_rates(app)
    await pilot.pause(0.6)


def freeze_rates(app: EvtuiApp) -> None:
    if app.tail.feed is not None:
        app.tail.feed.stats.rates.clear()


def after(app: EvtuiApp, *keys: str) -> Callable[[Any], Any]:
    """A ``run_before`` for screenshots: settle, press ``keys``, settle again."""

    async def run_before(pilot: Any) -> None:
        await settle(pilot, app)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.3)
        freeze_rates(app)
        await pilot.pause(0.6)

    return run_before
