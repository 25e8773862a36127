"""``evtui tail`` on a range that holds nothing says so (one stderr line), never silently."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

pytestmark = pytest.mark.kafka


@pytest.fixture
def five(new_topic, produce):
    topic = new_topic(partitions=1)
    produce(topic, [{"key": b"k", "value": b"v%d" % i, "partition": 0} for i in range(5)])
    return topic


def test_an_until_before_the_from_is_a_usage_error(evtui_cli, kafka_bootstrap, five):
    proc = evtui_cli("tail", five, "-b", kafka_bootstrap, "--from", "5", "--until", "2")
    assert proc.returncode == 2
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert "the range is empty: --from 5 is after --until 2" in err, err


def test_a_start_past_the_end_says_the_range_is_empty(evtui_cli, kafka_bootstrap, five):
    proc = evtui_cli("tail", five, "-b", kafka_bootstrap, "--from", "99999999", "--until", "end")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""
    lines = proc.stderr.decode().splitlines()
    assert lines == [
        f"evtui: the range is empty: --from 99999999 is past the end ({five}[0] ends at 5); "
        "nothing to print"
    ]


def test_a_start_past_the_end_of_an_open_tail_says_where_it_reads(kafka_bootstrap, five):
    argv = [sys.executable, "-m", "evtui", "tail", five, "-b", kafka_bootstrap]
    proc = subprocess.Popen([*argv, "--from", "99999999"], stderr=subprocess.PIPE, text=True)
    guard = threading.Timer(120, proc.kill)  # without the note, the tail would never end
    guard.start()
    try:
        line = proc.stderr.readline()  # the note comes first: it blocks until then
    finally:
        guard.cancel()
        proc.kill()
        proc.wait()
    assert line == (
        f"evtui: --from 99999999 is past the end ({five}[0] ends at 5): "
        "reading new events from there\n"
    )


def test_a_range_with_records_prints_no_note(evtui_cli, kafka_bootstrap, five):
    proc = evtui_cli("tail", five, "-b", kafka_bootstrap, "--from", "2", "--until", "3")
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 2
    assert proc.stderr == b""
