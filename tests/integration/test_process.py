"""How ``evtui tail`` ends and survives: signals, closed pipes, a broker that goes away."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import own_broker

pytestmark = pytest.mark.kafka


def _tail(bootstrap: str, topic: str, *extra: str, stdout=subprocess.DEVNULL):
    return subprocess.Popen(
        [sys.executable, "-m", "evtui", "tail", topic, "-b", bootstrap, *extra],
        stdout=stdout,
        stderr=subprocess.PIPE,
    )


def _wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_end_a_tail_quietly(kafka_bootstrap, new_topic, produce, sig, code):
    topic = new_topic()
    produce(topic, [{"value": b"first"}])
    proc = _tail(kafka_bootstrap, topic, "--from", "beginning", stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the tail is up (not still importing): it printed
        assert first.startswith(f"{topic}[0]@0 ".encode()), first
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    assert proc.returncode == code
    assert err == b""


def test_closed_pipe_ends_quietly(kafka_bootstrap, new_topic, produce, tmp_path):
    topic = new_topic()
    produce(topic, [{"value": b"x" * 200} for _ in range(5000)])  # more than a pipe buffer
    script = (
        f'"{sys.executable}" -m evtui tail {topic} -b {kafka_bootstrap} --from beginning '
        '2>tail.err | head -n 1; echo "status=${PIPESTATUS[0]}"; cat tail.err'
    )
    shell = subprocess.Popen(
        ["bash", "-c", script], stdout=subprocess.PIPE, cwd=tmp_path, start_new_session=True
    )
    try:
        out = shell.communicate(timeout=30)[0].decode().splitlines()
    finally:  # never leave the pipeline behind, even when the tail hangs
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)
    assert out[0].startswith(f"{topic}[0]@0 ")
    assert out[1:] == ["status=0"]  # exit 0 and nothing on stderr


@pytest.fixture
def second_broker(tmp_path):
    """A broker of its own on other ports, which this test may stop."""
    with own_broker(tmp_path / "kafka", 19192) as broker:
        yield broker


def test_tail_stays_up_and_says_so_when_the_broker_goes_away(second_broker):
    from confluent_kafka.admin import AdminClient, NewTopic

    bootstrap = second_broker.bootstrap
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("going-away", 1, 1)])["going-away"].result(timeout=30)
    proc = _tail(bootstrap, "going-away")
    time.sleep(2)
    second_broker.run("stop")
    err_lines: list[bytes] = []

    def warned() -> bool:
        line = proc.stderr.readline()
        err_lines.append(line)
        return b"connection problem, retrying" in line

    assert _wait_until(warned, 30), err_lines
    assert proc.poll() is None  # still running, waiting for the broker to come back
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=15)[1]
    assert proc.returncode == 130
    assert b"Traceback" not in b"".join(err_lines) + rest
