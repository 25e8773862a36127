"""A console that dies without unwinding (a native abort, a kill) gives the terminal back.

Runs ``evtui demo`` (the in-process console, no broker) on a pseudo-terminal,
waits for Textual to take the screen, kills the process with SIGABRT (what a
failed assertion in librdkafka does) or SIGKILL, and reads what reached the
terminal afterwards and the tty's modes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import termios
import threading
import time

import pytest

from evtui.commands.terminal_guard import MESSAGE

ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1003l"


class Pty:
    """A pseudo-terminal whose output is collected on a thread."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.output = bytearray()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.output += chunk

    def seen(self) -> bytes:
        with self._lock:
            return bytes(self.output)

    def wait_for(self, wanted: bytes, after: int = 0, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wanted in self.seen()[after:]:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        os.close(self.slave)
        os.close(self.master)


@pytest.mark.parametrize("signum", [signal.SIGABRT, signal.SIGKILL], ids=["abort", "kill"])
def test_console_killed_natively_gives_the_terminal_back(signum: int, tmp_path) -> None:
    pty = Pty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    proc = subprocess.Popen(
        [sys.executable, "-m", "evtui", "demo", "--rate", "20"],
        stdin=pty.slave, stdout=pty.slave, stderr=pty.slave, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        assert pty.wait_for(ALT_SCREEN_ON), pty.seen()[-2000:]
        assert pty.wait_for(b"\x1b[?1003h")  # mouse reporting on: the screen is Textual's
        assert not termios.tcgetattr(pty.slave)[3] & termios.ICANON  # raw mode
        killed_at = len(pty.seen())
        os.kill(proc.pid, signum)
        assert proc.wait(30) == -signum
        assert pty.wait_for(MESSAGE.strip().encode(), after=killed_at), pty.seen()[killed_at:]
        after = pty.seen()[killed_at:]
        assert ALT_SCREEN_OFF in after and MOUSE_OFF in after
        lflag = termios.tcgetattr(pty.slave)[3]
        assert lflag & termios.ICANON and lflag & termios.ECHO  # cooked mode again
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        pty.close()


def test_console_that_ends_normally_says_nothing_more(tmp_path) -> None:
    pty = Pty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    proc = subprocess.Popen(
        [sys.executable, "-m", "evtui", "demo", "--rate", "20"],
        stdin=pty.slave, stdout=pty.slave, stderr=pty.slave, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        assert pty.wait_for(ALT_SCREEN_ON)
        assert pty.wait_for(b"\x1b[?1003h")
        os.kill(proc.pid, signal.SIGTERM)  # unwinds: Textual restores the terminal itself
        proc.wait(30)
        assert pty.wait_for(ALT_SCREEN_OFF)
        time.sleep(0.5)  # a watcher that wrongly spoke would have done so by now
        assert MESSAGE.strip().encode() not in pty.seen()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        pty.close()
