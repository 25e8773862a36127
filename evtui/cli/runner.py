"""Running the app as a process (``main``): readable one-line errors instead of tracebacks,
and the exit codes of failures, Ctrl-C, SIGTERM and a closed output."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import typer

from evtui.cli.common import RESULT_COMMANDS
from evtui.cli.root import app
from evtui.core.text import visible
from evtui.errors import EvtuiError, OutputClosed


def main() -> None:
    """Console entry point: readable one-line errors, never a traceback."""
    from evtui.runtime import tune_gc

    tune_gc()
    signal.signal(signal.SIGTERM, _terminated)
    RESULT_COMMANDS.clear()  # (main may run more than once in a process: tests)
    try:
        code = app(standalone_mode=False)  # typer returns 130 for Ctrl-C here
    except EvtuiError as exc:
        _fail(str(exc), _exit_code(exc))
    except KeyboardInterrupt:
        _quiet_exit(130)
    except (BrokenPipeError, OutputClosed):
        _quiet_exit(0)
    except typer.Abort:
        _quiet_exit(1)
    except Exception as exc:
        if _is_usage_error(exc):
            _fail(f"{exc.format_message()} (see --help)", exc.exit_code)
        if os.environ.get("EVTUI_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set EVTUI_DEBUG=1 for details)", 70)
    else:
        if isinstance(code, int) and code:
            _quiet_exit(code)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM: unwind like Ctrl-C, so sources close their clients, then exit 143."""
    raise SystemExit(128 + signum)


def _exit_code(exc: EvtuiError) -> int:
    """A failure of ``check``, ``trace`` or ``flow`` exits 3: their 1 tells a result."""
    from evtui.errors import RUN_FAILED, Outcome

    if exc.exit_code == 1 and not isinstance(exc, Outcome) and RESULT_COMMANDS:
        return RUN_FAILED
    return exc.exit_code


def _fail(message: str, code: int) -> None:
    print(f"evtui: error: {visible(message)}", file=sys.stderr)
    raise SystemExit(code)


def _quiet_exit(code: int) -> None:
    with contextlib.suppress(BrokenPipeError, ValueError):
        sys.stdout.flush()
    # stdout may be a closed pipe: point it at devnull so exit does not complain
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(code)


def _is_usage_error(exc: Exception) -> bool:
    """typer's own usage errors (bad option values, missing arguments).

    Recognised by interface: typer vendors click in recent versions and uses
    the click package in older ones, so neither module can be imported here.
    """
    return callable(getattr(exc, "format_message", None)) and isinstance(
        getattr(exc, "exit_code", None), int
    )
