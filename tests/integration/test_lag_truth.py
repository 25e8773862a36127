"""Lag truth on the real broker: status, lag and ETA as a careful operator would give them.

Real groups (confluent-kafka consumers with a ``group.id``, explicit commits) in
each state: empty with lag (stopped, no ETA), empty without lag (idle, no ETA),
never committed (unknown lag, unknown ETA), caught up (ok, ETA now), stalled
(a member, its committed offset held while the end moves) and lagging (a member
that commits progress, slower than the records come). States that need time are
waited for as conditions (generous deadlines), never timed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from evtui.config import ClientConfig

pytestmark = pytest.mark.kafka

RECORDS = 40  # per partition, before the groups commit
WINDOW = "4s"


def _produce(bootstrap: str, topic: str, count: int) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(count):
        for partition in (0, 1):
            producer.produce(topic, f"r{i}".encode(), partition=partition)
    assert producer.flush(30) == 0


def _member(bootstrap: str, group: str, topic: str) -> object:
    """A live member of ``group`` that owns both partitions (it commits only when told)."""
    from confluent_kafka import Consumer

    member = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
         "auto.offset.reset": "earliest"}
    )  # fmt: skip
    member.subscribe([topic])
    deadline = time.monotonic() + 60
    while len(member.assignment()) < 2 and time.monotonic() < deadline:
        member.poll(0.2)
    assert len(member.assignment()) == 2
    return member


def _commit(consumer: object, topic: str, offsets: dict[int, int]) -> None:
    from confluent_kafka import TopicPartition

    consumer.commit(  # type: ignore[attr-defined]
        offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False
    )


def _empty_group(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    """A group that committed ``offsets`` and has no member (its state is Empty)."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        _commit(consumer, topic, offsets)
    finally:
        consumer.close()


class Keeper:
    """Runs ``step`` every ``every`` s on a thread (the members' own loop) until stopped."""

    def __init__(self, step: Callable[[], None], every: float) -> None:
        self.step, self.every = step, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                self.step()
        except BaseException as exc:  # said by the test, never lost
            self.error = exc


@pytest.fixture(scope="module")
def truth(kafka_bootstrap: str) -> Iterator[tuple[str, str, dict]]:
    from confluent_kafka.admin import AdminClient, NewTopic

    prefix = f"lagtruth-{uuid.uuid4().hex[:6]}"
    topic, busy = f"{prefix}-quiet", f"{prefix}-busy"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for name in (topic, busy):
        admin.create_topics([NewTopic(name, 2, 1)])[name].result(timeout=30)
    _produce(kafka_bootstrap, topic, RECORDS)
    _produce(kafka_bootstrap, busy, RECORDS)
    g = {k: f"{prefix}-{k}" for k in ("stopped", "idle", "never", "caught", "stalled", "lagging")}
    _empty_group(kafka_bootstrap, g["stopped"], topic, {0: 10, 1: 25})
    _empty_group(kafka_bootstrap, g["idle"], topic, {0: RECORDS, 1: RECORDS})
    never = _member(kafka_bootstrap, g["never"], topic)
    caught = _member(kafka_bootstrap, g["caught"], topic)
    _commit(caught, topic, {0: RECORDS, 1: RECORDS})
    stalled = _member(kafka_bootstrap, g["stalled"], busy)
    _commit(stalled, busy, {0: 5, 1: 5})
    lagging = _member(kafka_bootstrap, g["lagging"], busy)
    position = {0: 0, 1: 0}

    def lagging_step() -> None:  # one record per partition per step, while 10 arrive
        for p in position:
            position[p] += 1
        _commit(lagging, busy, position)
        lagging.poll(0)  # type: ignore[attr-defined]

    def busy_step() -> None:
        _produce(kafka_bootstrap, busy, 10)
        for member in (never, caught, stalled):
            member.poll(0)  # type: ignore[attr-defined]

    keepers = [Keeper(lagging_step, 0.2), Keeper(busy_step, 0.2)]
    for keeper in keepers:
        keeper.thread.start()
    yield prefix, topic, g
    for keeper in keepers:
        keeper.stopped.set()
        keeper.thread.join(timeout=30)
        assert keeper.error is None, keeper.error
    for member in (never, caught, stalled, lagging):
        member.close()  # type: ignore[attr-defined]


def _report(evtui_cli, bootstrap: str, group: str) -> dict:
    done = evtui_cli("lag", "-b", bootstrap, "-g", f"^{group}$", "-F", "json", "--window", WINDOW)
    assert done.returncode == 0, done.stderr.decode()
    (found,) = json.loads(done.stdout)["groups"]
    return found


def _until(evtui_cli, bootstrap: str, group: str, status: str, timeout: float = 90) -> dict:
    """The group's report once its status is ``status`` (the last one seen otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        found = _report(evtui_cli, bootstrap, group)
        if found["status"] == status or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_an_empty_group_with_lag_is_stopped_without_an_eta(evtui_cli, kafka_bootstrap, truth):
    _, _, g = truth
    found = _report(evtui_cli, kafka_bootstrap, g["stopped"])
    assert (found["state"], found["members"], found["status"]) == ("Empty", 0, "stopped")
    assert found["lag"] == (RECORDS - 10) + (RECORDS - 25) and found["eta_s"] is None
    assert {p["status"] for p in found["partitions"]} == {"stopped"}


def test_an_empty_group_without_lag_is_idle_without_an_eta(evtui_cli, kafka_bootstrap, truth):
    _, _, g = truth
    found = _report(evtui_cli, kafka_bootstrap, g["idle"])
    assert (found["state"], found["status"], found["lag"], found["eta_s"]) == (
        "Empty", "idle", 0, None,
    )  # fmt: skip


def test_a_group_that_never_committed_has_unknown_lag_and_eta(evtui_cli, kafka_bootstrap, truth):
    _, _, g = truth
    found = _report(evtui_cli, kafka_bootstrap, g["never"])
    assert (found["state"], found["members"]) == ("Stable", 1)
    assert (found["status"], found["lag"], found["eta_s"]) == ("unknown", None, None)
    assert [p["committed"] for p in found["partitions"]] == [None, None]
    assert {p["member"] for p in found["partitions"]} != {None}  # owned, not committed
    done = evtui_cli("lag", "-b", kafka_bootstrap, "-g", f"^{g['never']}$", "--window", WINDOW)
    (row,) = [line for line in done.stdout.decode().splitlines() if line.startswith(g["never"])]
    assert row.split()[-3:] == ["-", "unknown", "-"]  # time lag, status, ETA: never "now"


def test_a_caught_up_group_is_ok_and_its_eta_is_now(evtui_cli, kafka_bootstrap, truth):
    _, _, g = truth
    found = _report(evtui_cli, kafka_bootstrap, g["caught"])
    assert (found["state"], found["status"], found["lag"], found["eta_s"]) == (
        "Stable", "ok", 0, 0.0,
    )  # fmt: skip


def test_a_member_holding_its_offset_while_records_come_is_stalled(
    evtui_cli, kafka_bootstrap, truth
):
    _, _, g = truth
    found = _until(evtui_cli, kafka_bootstrap, g["stalled"], "stalled")
    assert (found["state"], found["status"], found["eta_s"]) == ("Stable", "stalled", None)
    assert [p["committed"] for p in found["partitions"]] == [5, 5]
    assert found["lag"] == sum(p["end"] - 5 for p in found["partitions"]) > 0


def test_a_member_consuming_slower_than_records_come_is_lagging(evtui_cli, kafka_bootstrap, truth):
    _, _, g = truth
    found = _until(evtui_cli, kafka_bootstrap, g["lagging"], "lagging")
    assert (found["state"], found["status"]) == ("Stable", "lagging")
    assert found["lag"] > 0 and found["eta_s"] is None  # it does not catch up: no ETA


def test_the_console_poller_agrees_on_the_groups_that_do_not_change(kafka_bootstrap, truth):
    from evtui.core.lag import Status
    from evtui.sources.lag import LagPoller

    prefix, _, g = truth
    config = ClientConfig({"bootstrap.servers": kafka_bootstrap})
    wanted = "|".join(g[k] for k in ("stopped", "idle", "never", "caught"))
    poller = LagPoller(config, groups=f"^({wanted})$", timeout=10, window_s=4)
    try:
        report = poller.poll_now()
    finally:
        poller.stop()
    got = {group.group.removeprefix(f"{prefix}-"): group for group in report.groups}
    assert {k: (v.status, v.eta_s) for k, v in got.items()} == {
        "stopped": (Status.STOPPED, None),
        "idle": (Status.IDLE, None),
        "never": (Status.UNKNOWN, None),
        "caught": (Status.OK, 0.0),
    }
    assert got["never"].trend == (None,)  # unknown lag is a gap in the trend, not 0
