"""The terminal is given back even when the console process dies without unwinding.

Textual restores the terminal when the app ends, also on a Python exception. A
native abort (a library's failed assertion: SIGABRT), a crash or a SIGKILL ends
the process before any Python code can run, and the shell would be left in the
alternate screen with mouse reporting on and the tty in raw mode.

:func:`guard_terminal` starts a small watcher process (in its own session, so
Ctrl-C and job control leave it alone) holding the read end of a pipe. The
console says "ok" on the pipe when it ends normally; when the pipe closes
without it, the console died, and the watcher resets the tty modes saved at start,
leaves the alternate screen, switches mouse reporting, bracketed paste and the
keyboard protocol off, shows the cursor and says what happened. It does not
delay the console's start: nothing waits for the watcher.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import termios
from collections.abc import Iterator

# What Textual's Linux driver switches on, switched off (and the cursor shown again).
RESTORE = (
    "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?1016l"  # mouse
    "\x1b[?1004l\x1b[?2004l\x1b[?2048l\x1b[<u\x1b[?7h\x1b[?25h\x1b[?1049l"
)
MESSAGE = "evtui: the console ended abnormally; the terminal was restored.\r\n"

_WATCHER = r"""
import json, os, sys, termios
pipe, tty_in, tty_out = (int(a) for a in sys.argv[1:4])
attrs = json.loads(sys.argv[4])
restore, message = sys.argv[5], sys.argv[6]
said = b""
while True:
    try:
        chunk = os.read(pipe, 16)
    except InterruptedError:
        continue
    if not chunk:
        break
    said += chunk
if b"ok" not in said:
    if attrs is not None:
        try:
            termios.tcsetattr(tty_in, termios.TCSANOW, attrs)
        except (termios.error, OSError):
            pass
    try:
        os.write(tty_out, (restore + "\r\n" + message).encode())
    except OSError:
        pass
"""


def _tty_attrs(fd: int) -> list | None:
    """The tty's modes, JSON-ready (control characters as numbers)."""
    try:
        attrs = termios.tcgetattr(fd)
    except (termios.error, OSError):
        return None
    attrs[6] = [c if isinstance(c, int) else c[0] for c in attrs[6]]
    return attrs


@contextlib.contextmanager
def guard_terminal(
    tty_in: int | None = None, tty_out: int | None = None
) -> Iterator[subprocess.Popen | None]:
    """While inside, a death of this process without unwinding restores the terminal.

    Yields the watcher (None when there is no terminal to guard).
    """
    tty_in = sys.stdin.fileno() if tty_in is None else tty_in
    tty_out = sys.stdout.fileno() if tty_out is None else tty_out
    if not (os.isatty(tty_in) and os.isatty(tty_out)):
        yield None
        return
    read_end, write_end = os.pipe()  # the write end is not inherited by other children
    fds = (read_end, os.dup(tty_in), os.dup(tty_out))  # the watcher's 0-2 are /dev/null
    try:
        watcher = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHER, *map(str, fds),
             json.dumps(_tty_attrs(tty_in)), RESTORE, MESSAGE],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=fds, start_new_session=True,
        )  # fmt: skip
    except OSError:
        os.close(write_end)
        yield None
        return
    finally:
        for fd in fds:
            os.close(fd)
    try:
        yield watcher
    finally:
        with contextlib.suppress(OSError):
            os.write(write_end, b"ok")
        os.close(write_end)
        with contextlib.suppress(subprocess.TimeoutExpired):
            watcher.wait(timeout=2)  # reaped: no zombie left behind
