"""Driving the real app under Textual's Pilot."""

from __future__ import annotations

from evtui.config import resolve_client_config
from evtui.tui.app import EvtuiApp
from evtui.tui.backend import KafkaBackend
from evtui.tui.testing import demo_app, settle, wait_for

__all__ = ["demo_app", "kafka_app", "rows", "settle", "shown_refs", "wait_for"]


def kafka_app(bootstrap: str, **kwargs: object) -> EvtuiApp:
    config = resolve_client_config(bootstrap=bootstrap, cluster=None, x_options=[], config=None)
    return EvtuiApp(KafkaBackend(config, timeout=5.0, poll_interval=0.5), **kwargs)


def rows(app: EvtuiApp) -> int:
    feed = app.tail.feed
    return feed.view.rows if feed else 0


def shown_refs(app: EvtuiApp) -> list[str]:
    feed = app.tail.feed
    assert feed is not None
    return [feed.view.event_at(r).ref for r in range(feed.view.rows)]
