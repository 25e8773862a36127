"""`evtui` and `evtui demo` as a user starts them: a real process on a pseudo-terminal."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from evtui.tui.rows import clock


class Terminal:
    """A child process on a pty; collects everything it draws."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        master, slave = pty.openpty()
        os.set_blocking(master, False)
        self.master = master
        self.started = time.monotonic()
        self.output = b""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evtui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={
                **os.environ,
                "TERM": "xterm-256color",
                "COLUMNS": "160",
                "LINES": "40",
                **(env or {}),
            },
            start_new_session=True,
        )
        os.close(slave)

    def read(self, timeout: float = 0.1) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):
                self.output += os.read(self.master, 1 << 16)

    def wait_for(self, text: str, timeout: float = 20.0) -> float | None:
        """Seconds from start until ``text`` was drawn, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text.encode() in self.output:
                return time.monotonic() - self.started
            self.read()
        return None

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self, timeout: float = 15.0) -> int:
        """Wait for the exit, reading all the while (a full pty would block the app)."""
        deadline = time.monotonic() + timeout
        try:
            while self.proc.poll() is None:
                if time.monotonic() > deadline:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    raise TimeoutError(f"evtui did not exit within {timeout:g}s")
                self.read(0.05)
            return self.proc.returncode
        finally:
            os.close(self.master)


@pytest.mark.kafka
def test_evtui_opens_the_console_on_the_cluster_and_quits(kafka_bootstrap, new_topic, produce):
    topic = new_topic(partitions=1)
    produce(topic, [{"value": json.dumps({"type": "Hello", "n": i}).encode()} for i in range(5)])
    term = Terminal("-b", kafka_bootstrap, "-t", topic, "--from", "beginning")
    try:
        shown = term.wait_for("Hello")
        assert shown is not None, term.output[-2000:]
        assert term.wait_for("connected") is not None
        started = term.wait_for("evtui")
        assert started is not None and started < 5  # the issue asks < 2 s; CI machines vary
        term.send(b"q")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            os.killpg(term.proc.pid, signal.SIGKILL)


def test_evtui_demo_opens_the_console_on_the_simulator():
    term = Terminal("demo", "--seed", "3", "--rate", "100")
    try:
        assert term.wait_for("orders") is not None, term.output[-2000:]
        assert term.wait_for("demo (seed 3") is not None
        assert term.wait_for(clock(int(time.time() * 1000))[:5]) is not None  # live events
        term.send(b"q")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            os.killpg(term.proc.pid, signal.SIGKILL)


def test_console_needs_a_cluster_and_a_terminal(evtui_cli):
    done = evtui_cli()
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines() == [
        "evtui: error: no cluster given: use --bootstrap-servers HOST:PORT or --cluster NAME "
        "(or try 'evtui demo')"
    ]
    done = evtui_cli("-b", "127.0.0.1:1", stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "needs a terminal" in done.stderr.decode()
    done = evtui_cli("-b", "127.0.0.1:1", "--filter", "value.n >")
    assert done.returncode == 2
    assert "invalid filter" in done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()
    done = evtui_cli("-b", "127.0.0.1:1", "--window", "5")
    assert done.returncode == 2 and "--window" in done.stderr.decode()


@pytest.mark.kafka
def test_evtui_demo_on_a_cluster_shows_its_traffic_and_groups(kafka_bootstrap):
    prefix = f"launch{os.getpid()}-"
    term = Terminal(
        "demo", "-b", kafka_bootstrap, "--topic-prefix", prefix, "--rate", "100", "-d", "20s"
    )
    try:
        assert term.wait_for(f"{prefix}orders") is not None, term.output[-2000:]
        assert term.wait_for("connected") is not None
        term.send(b"1")
        assert term.wait_for("inventory-service") is not None
        term.send(b"q")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            os.killpg(term.proc.pid, signal.SIGKILL)
