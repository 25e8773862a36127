"""Acceptance for lag: the demo's real groups on the real broker, by the CLI and the screen.

The demo produces for 45 s; its slow group (shipping) falls behind and catches up
in 10 s waves, and notification stops consuming after 6 s. While it runs,
``evtui lag --watch --format json`` prints a report a second; afterwards the lag
screen and the CLI must show the same groups, figures and statuses.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import pytest

from tests.tui.helpers import kafka_app, wait_for

pytestmark = pytest.mark.kafka

WINDOW = "30s"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evtui", *args], capture_output=True, timeout=60, check=False
    )


def lag_json(bootstrap: str, prefix: str, *extra: str, early: bool = False) -> dict:
    done = cli("lag", "-b", bootstrap, "-g", f"^{prefix}", "-F", "json", *extra)
    if early and done.returncode == 1 and b"no consumer group matches" in done.stderr:
        return {"groups": []}  # the demo's groups have not joined yet
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def demo_run(kafka_bootstrap, tmp_path_factory):
    """Runs the demo under ``evtui lag --watch``; returns each group's statuses, in order."""
    prefix = f"lagd{uuid.uuid4().hex[:5]}-"
    demo = subprocess.Popen(
        [sys.executable, "-m", "evtui", "demo", "--headless", "-b", kafka_bootstrap,
         "--rate", "150", "--duration", "50s", "--seed", "13", "--partitions", "2",
         "--topic-prefix", prefix, "--group-prefix", prefix, "--stop-group-after", "6s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    reports = tmp_path_factory.mktemp("lag") / "reports.jsonl"  # a file: a pipe could fill
    with reports.open("wb") as out:
        watch = subprocess.Popen(
            [sys.executable, "-m", "evtui", "lag", "-b", kafka_bootstrap, "-g", f"^{prefix}",
             "--watch", "--interval", "1", "--window", WINDOW, "-F", "json"],
            stdout=out, stderr=subprocess.PIPE,
        )  # fmt: skip
    seen: dict[str, list[str]] = {}  # statuses while the group had members
    try:
        assert demo.wait(timeout=90) == 0, demo.stderr.read().decode() if demo.stderr else ""
        time.sleep(3)
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=30)
        assert watch.returncode == 0, err.decode()
    finally:
        for process in (demo, watch):
            if process.poll() is None:
                process.kill()
    for line in reports.read_text().splitlines():
        for group in json.loads(line)["groups"]:
            name = group["group"].removeprefix(prefix)
            # once the demo closes its consumers a group is Empty, and one left with lag is
            # rightly stopped: the claims about live groups hold while they have members
            # (and notification, whose consumer stops at 6 s, ends stopped either way)
            if group["members"] or name == "notification-service":
                seen.setdefault(name, []).append(group["status"])
    return prefix, seen


def test_the_slow_group_lags_then_recovers_and_the_stopped_one_is_stopped(demo_run):
    _, seen = demo_run
    assert set(seen) == {
        "inventory-service", "payment-service", "shipping-service",
        "storefront-service", "notification-service",
    }  # fmt: skip
    shipping = seen["shipping-service"]
    assert "stopped" not in shipping  # slow, but alive: never a false alarm
    first_lagging = shipping.index("lagging")  # it fell behind ...
    assert "ok" in shipping[first_lagging:]  # ... and caught up again
    assert seen["notification-service"][-1] == "stopped"
    for steady in ("inventory-service", "payment-service"):
        assert "stopped" not in seen[steady] and "stalled" not in seen[steady], seen[steady]


async def test_the_lag_screen_and_the_cli_agree(demo_run, kafka_bootstrap):
    prefix, _ = demo_run
    app = kafka_app(kafka_bootstrap)
    async with app.run_test(size=(180, 45)) as pilot:
        await pilot.press("3")
        pane = app.query_one("#lag-pane")
        assert await wait_for(pilot, lambda: pane.report is not None, 30)
        from_cli = lag_json(kafka_bootstrap, prefix)
        screen = {g.group: g for g in pane.report.groups if g.group.startswith(prefix)}
        # x: the exact time lag of the selected group (notification stopped: it has lag)
        stopped_name = f"{prefix}notification-service"
        await pilot.press("slash", *stopped_name, "enter")
        await pilot.pause(0.2)
        assert [g.group for g in pane.shown] == [stopped_name]
        await pilot.press("x")

        def exact() -> bool:
            group = next(g for g in pane.report.groups if g.group == stopped_name)
            lagging = [p for p in group.partitions if p.lag]
            return bool(lagging) and all(p.time_lag_kind == "exact" for p in lagging)

        assert await wait_for(pilot, exact, 20)
    cli_groups = {g["group"]: g for g in from_cli["groups"]}
    assert set(screen) == set(cli_groups) and len(screen) == 5
    for name, group in screen.items():
        data = cli_groups[name]
        assert (group.lag, str(group.status), group.members, group.state) == (
            data["lag"],
            data["status"],
            data["members"],
            data["state"],
        ), name
        parts = {(p["topic"], p["partition"]): p for p in data["partitions"]}
        for part in group.partitions:
            other = parts[(part.topic, part.partition)]
            assert (part.committed, part.end, part.lag) == (
                other["committed"],
                other["end"],
                other["lag"],
            )
    stopped = f"{prefix}notification-service"
    assert cli_groups[stopped]["lag"] > 0
    over = cli("lag", "-b", kafka_bootstrap, "-g", stopped, "--fail-on-lag", "0")
    assert over.returncode == 2 and "threshold crossed" in over.stderr.decode()
