"""The console survives broker restarts and its pollers recover as a fresh process would.

A broker of its own (ports 29392-29394, own state dir, deleted at the end) is
stopped and started again (the log dir kept) 5 times under a running console
whose tail, overview and lag pollers are all active, while records are produced
and a consumer group commits. Each time the console waits until both pollers
have seen the outage, starts the broker, and then waits until the tail has new
records and the overview and lag are fresh again (read after the broker came
back, nothing marked stale). Before the fix the process aborted in librdkafka
(a coordinator request that had timed out during the outage was sent once the
broker was back: ``rd_kafka_enq_once_del_source_return: Assertion
'eonce->refcnt > 0' failed``), and group data stayed "timed out" for minutes.

The console (tests/integration/outage_console.py) and the load (a producer and a
committing consumer group, tests/integration/outage_load.py) run in processes of
their own: a native abort then names the process it killed and its stderr (the
assertion's text) is kept and reported. Nothing here depends on timing: every
wait is on a condition, with a generous deadline; the recovery times are
printed, never asserted.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, OwnBroker, own_broker

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(900)]  # 5 restarts: minutes

TOPIC = "outage-orders"
GROUP = "outage-billing"
RESTARTS = 5


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnBroker]:
    with own_broker(tmp_path / "kafka", 29392) as broker:
        yield broker


def _make_topic(bootstrap: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, 3, 1)])[TOPIC].result(30)


def _died(name: str, code: int, stderr: Path) -> str:
    how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
    return f"the {name} process ended ({how}); its stderr ends:\n{stderr.read_text()[-4000:]}"


def test_console_survives_five_restarts_and_recovers(broker: OwnBroker, tmp_path: Path) -> None:
    _make_topic(broker.bootstrap)
    args = [broker.bootstrap, TOPIC, GROUP]
    load_err, console_err = tmp_path / "load.stderr", tmp_path / "console.stderr"
    with load_err.open("wb") as err:
        load = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.outage_load", *args],
            cwd=ROOT, env=broker.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        with console_err.open("wb") as err:
            console = subprocess.run(
                [sys.executable, "-m", "tests.integration.outage_console", *args, str(RESTARTS)],
                cwd=ROOT, env=broker.env, stdout=subprocess.PIPE, stderr=err, text=True,
                timeout=840, check=False,
            )  # fmt: skip
        load_code = load.poll()  # still running (None) unless it died under the outages
    finally:
        load.kill()  # how the load's clients close after the outages is not under test
        load.wait(60)
    recoveries = [float(line.split()[2]) for line in console.stdout.splitlines()]
    print(f"recovered after each restart in {recoveries} s")
    assert console.returncode == 0, _died("console", console.returncode, console_err)
    assert len(recoveries) == RESTARTS, console.stdout
    assert load_code is None, _died("load (the test's own clients)", load_code, load_err)
