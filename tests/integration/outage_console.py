"""The console side of the restart test, in a process of its own.

``python -m tests.integration.outage_console BOOTSTRAP TOPIC GROUP RESTARTS``
runs the console (Textual's headless pilot) on TOPIC with the tail, overview and
lag pollers active, and restarts the broker that ``scripts/kafka-local`` names
in its environment (EVTUI_KAFKA_*) RESTARTS times. After each restart it waits
until the tail has new records and the overview and lag are fresh again (read
after the broker came back, nothing marked stale) and prints one line,
``recovered N SECONDS``. Any unmet wait is an AssertionError (exit 1). Run apart
from pytest so that a native abort (librdkafka's assertions) shows as this
process's exit by SIGABRT with its stderr kept for the test to report.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from evtui.config import resolve_client_config
from evtui.core.cluster import ConnectionState
from evtui.tui.app import EvtuiApp
from evtui.tui.backend import KafkaBackend
from evtui.tui.testing import wait_for

HARNESS = Path(__file__).resolve().parents[2] / "scripts" / "kafka-local"


def _broker(action: str, *args: str) -> None:
    done = subprocess.run(
        [HARNESS, action, *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"kafka-local {action}: {done.stderr[-2000:]}"


def _overview_fresh(app: EvtuiApp, group: str, since_ms: int) -> bool:
    poller = app.poller
    snapshot = poller.latest() if poller is not None else None
    return (
        snapshot is not None
        and snapshot.taken_ms > since_ms
        and not snapshot.problems
        and any(g.name == group for g in snapshot.groups)
        and all(g.as_of_ms is None and g.members is not None for g in snapshot.groups)
    )


def _lag_fresh(app: EvtuiApp, group: str, since_ms: int) -> bool:
    poller = app.lag_poller
    report = poller.latest() if poller is not None else None
    if report is None or report.taken_ms <= since_ms or poller.last_error:
        return False
    found = next((g for g in report.groups if g.group == group), None)
    return found is not None and found.problem is None and found.as_of_ms is None


def _kept(app: EvtuiApp) -> int:
    feed = app.tail.feed
    return feed.store.stats.kept + feed.store.stats.evicted if feed is not None else 0


def _both_saw_the_outage(app: EvtuiApp) -> bool:
    cluster, lag = app.poller, app.lag_poller
    return (
        cluster is not None
        and lag is not None
        and cluster.state is ConnectionState.RECONNECTING
        and lag.state is ConnectionState.RECONNECTING
    )


def _tail_state(app: EvtuiApp) -> str:
    feed = app.tail.feed
    if feed is None:
        return "no tail"
    source = feed.source
    return f"{source.state}, {vars(source.stats) if hasattr(source, 'stats') else ''}"


def _produce_marks(bootstrap: str, topic: str, n: int) -> int:
    """Write ``n`` records with a fresh producer of the test's own; how many were delivered."""
    from confluent_kafka import Producer

    delivered: list[object] = []
    producer = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 170_000})
    for i in range(n):
        producer.produce(
            topic, key=f"mark{i}".encode(), value=b"after the restart",
            on_delivery=lambda err, _msg: err is None and delivered.append(True),
        )  # fmt: skip
    producer.flush(180)
    return len(delivered)


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _restart(pilot: object, app: EvtuiApp, target: tuple[str, str, str], n: int) -> float:
    """Stop the broker, wait until both pollers saw it, start it again and wait
    until everything is fresh; the seconds that took. Records written after the
    restart by a fresh producer of the test's own are what the tail must show (the
    load's long-lived producer may take its time to resume)."""
    bootstrap, topic, group = target
    _broker("stop")
    assert await wait_for(pilot, lambda: _both_saw_the_outage(app), 120), f"outage {n}"
    _broker("start", "--keep")
    back, kept = _now_ms(), _kept(app)
    marks = await asyncio.to_thread(_produce_marks, bootstrap, topic, 10)
    assert marks == 10, f"the broker took {marks} of 10 records after restart {n}"
    tail = await wait_for(pilot, lambda: _kept(app) > kept, 180)
    assert tail, f"tail after {n}: {_tail_state(app)}"
    assert await wait_for(pilot, lambda: _overview_fresh(app, group, back), 180), f"overview {n}"
    assert await wait_for(pilot, lambda: _lag_fresh(app, group, back), 180), f"lag {n}"
    assert app.is_running
    return (_now_ms() - back) / 1000


async def run(bootstrap: str, topic: str, group: str, restarts: int) -> None:
    config = resolve_client_config(bootstrap=bootstrap, cluster=None, x_options=[], config=None)
    app = EvtuiApp(KafkaBackend(config, timeout=2.0, poll_interval=0.5), topics=[topic])
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("3")  # the lag tab: its poller (and commit reader) start
        started = _now_ms()
        assert await wait_for(pilot, lambda: _overview_fresh(app, group, started), 120), "overview"
        assert await wait_for(pilot, lambda: _lag_fresh(app, group, started), 120), "lag"
        assert await wait_for(pilot, lambda: _kept(app) > 0, 120), "tail"
        for n in range(restarts):
            seconds = await _restart(pilot, app, (bootstrap, topic, group), n)
            print(f"recovered {n} {seconds:.1f}", flush=True)


if __name__ == "__main__":
    bootstrap, topic, group, restarts = sys.argv[1:5]
    asyncio.run(run(bootstrap, topic, group, int(restarts)))
