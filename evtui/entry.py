"""The ``evtui`` command's entry point: Ctrl-C while the CLI is still being imported
exits 130 without a traceback, as it does once the CLI runs."""

from __future__ import annotations


def main() -> None:
    try:
        from evtui.cli import main as cli_main
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    cli_main()
