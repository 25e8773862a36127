"""The headless commands, each one a function the typer CLI (:mod:`evtui.cli`) wires up.

A command module runs one command end to end and prints its text or JSON
(``tail``, ``trace``, ``check``, ``lag``, ``flow``, ``record``, ``replay``...); the work both
faces share lives below, in :mod:`evtui.application`. ``console`` is the one bridge to the
TUI: it launches the console. A new command is a module here plus its options in a module
of :mod:`evtui.cli`.
"""
