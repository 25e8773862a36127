"""How a consumer group's lag status is shown: the style of each :class:`Status`,
the same on the overview's groups and the lag tab."""

from __future__ import annotations

from evtui.core.lag import Status

STATUS_STYLES = {
    Status.OK: "green",
    Status.IDLE: "cyan",
    Status.LAGGING: "yellow",
    Status.REWOUND: "magenta",
    Status.STALLED: "bold red",
    Status.STOPPED: "bold red",
    Status.UNKNOWN: "dim",
}
