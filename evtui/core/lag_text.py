"""How lag figures read for people: the same words in ``evtui lag``'s table and the lag tab.

``seconds_text`` is the one way a duration of lag is written; a time lag says how it was
known (``est``: estimated from end offsets over time, ``extrap``: extrapolated beyond them;
exact lags carry no mark); an ETA is ``now``, a time to catch up, or ``-``.
"""

from __future__ import annotations

from evtui.core.lag import GroupLag, PartitionLag


def seconds_text(seconds: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4m05s``, ``2h10m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def time_lag_text(part: PartitionLag) -> str:
    text = seconds_text(part.time_lag_s)
    if part.time_lag_s is None or part.time_lag_kind in (None, "exact"):
        return text
    return f"{text} ({'est' if part.time_lag_kind == 'estimated' else 'extrap'})"


def eta_text(group: GroupLag) -> str:
    """``now`` when caught up, the time to catch up, or ``-``: none (no progress) or unknown."""
    if group.eta_s is None:
        return "-"
    return "now" if group.eta_s == 0 else seconds_text(group.eta_s)
