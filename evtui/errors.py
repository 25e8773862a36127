"""User-facing errors: one readable line, never a traceback."""

from __future__ import annotations


class EvtuiError(Exception):
    """An error whose message is shown to the user as is (one line).

    ``exit_code`` is the process exit status the CLI uses for it.
    """

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


RUN_FAILED = 3
"""The exit code of ``check``, ``trace`` and ``flow`` when the run itself failed (the
cluster unreachable, the read broken off): their 1 tells a result (see :class:`Outcome`)."""


class Outcome(EvtuiError):
    """A result told by the exit code 1 (violations found, nothing found, no events, drift);
    for the commands that have one, any other error exits :data:`RUN_FAILED` instead."""


class UsageError(EvtuiError):
    """Invalid options or arguments (exit code 2, like typer/click)."""

    exit_code = 2


class ConfigError(EvtuiError):
    """A problem in the config file or a cluster profile."""


class OutputClosed(Exception):
    """Whoever read our output went away (``evtui tail | head``): stop quietly."""


def check_choice(value: str, choices: tuple[str, ...], option: str = "--format") -> str:
    """``value`` when it is one of ``choices``; else a UsageError naming them."""
    if value not in choices:
        raise UsageError(f"invalid {option} '{value}': expected {', '.join(choices)}")
    return value


class ConnectionFailed(EvtuiError):
    """The cluster could not be reached or refused the credentials."""
