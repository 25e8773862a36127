"""``evtui plugins``: what is installed, enabled, loaded or failed, and what each adds."""

from __future__ import annotations

import sys
from typing import TextIO

from evtui.core.output import dumps
from evtui.core.text import visible


def plugin_rows(config: str | None = None) -> list[dict]:
    """One row per plugin and plugin command: name, origin, dist, status, reason, adds."""
    from evtui.plugins import list_commands, list_plugins, load_plugins

    registry = load_plugins()
    rows = []
    for info in list_plugins():
        if info.name in registry.disabled:
            status, reason = "disabled", "EVTUI_DISABLE_PLUGINS"
        elif info.name in registry.failed or info.origin in registry.failed:
            status = "failed"
            reason = registry.failed.get(info.name) or registry.failed.get(info.origin)
        else:
            status, reason = "loaded", None
        key = info.origin if info.origin.endswith(".py") else info.name
        rows.append(
            {
                "name": info.name,
                "kind": "plugin",
                "origin": info.origin,
                "dist": info.dist,
                "status": status,
                "reason": reason,
                "adds": registry.contributions(key) if status == "loaded" else [],
            }
        )
    for info in list_commands():
        rows.append(
            {
                "name": info.name,
                "kind": "command",
                "origin": info.origin,
                "dist": info.dist,
                "status": "listed",  # imported only when it runs
                "reason": None,
                "adds": [f"command evtui {info.name}"],
            }
        )
    return rows


def run_plugins(fmt: str, config: str | None = None, out: TextIO = sys.stdout) -> None:
    rows = plugin_rows(config)
    if fmt == "json":
        print(dumps({"plugins": rows}), file=out)
        return
    for row in rows:  # (a plugin's failure quotes its exception: shown, never obeyed)
        row = {**row, "reason": row["reason"] and visible(row["reason"])}
        dist = f" ({row['dist']})" if row["dist"] else ""
        print(f"{row['name']}  {row['status']}{dist}  {row['origin']}", file=out)
        if row["reason"]:
            print(f"    reason: {row['reason']}", file=out)
        for item in row["adds"]:
            print(f"    adds {item}", file=out)
