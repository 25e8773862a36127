"""``evtui lag``: consumer lag in offsets and seconds, with health, for people and scripts.

One poll by default (the window's past comes from the commit records, so the
status is known at once); ``--watch`` prints a report per poll until Ctrl-C.
Time lag is estimated from end offsets over time (marked ``est``/``extrap``);
``--exact`` reads the record at each committed offset for its age instead.
``--fail-on-lag N`` / ``--fail-on-time DURATION``: exit code 2 when a group's
total lag is above N or its largest time lag above the duration, for cron and
CI. Problems (a group that could not be read, commit records that cannot be
read) go to stderr as warnings; the report still covers everything else.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from evtui.config import ClientConfig
from evtui.core.lag import GroupLag, LagReport, PartitionLag
from evtui.core.lag_text import eta_text, seconds_text, time_lag_text
from evtui.core.output import dumps
from evtui.core.text import visible, visible_lines
from evtui.errors import EvtuiError, check_choice

FORMATS = ("table", "json")


class ThresholdCrossed(EvtuiError):
    """A group is above ``--fail-on-lag`` or ``--fail-on-time`` (exit code 2)."""

    exit_code = 2


class NoGroup(EvtuiError):
    """``--group`` matched no consumer group (exit code 1)."""


@dataclass
class LagOptions:
    groups: str | None = None
    format: str = "table"
    watch: bool = False
    interval_s: float = 5.0
    window_s: float = 300.0
    timeout_s: float = 10.0
    fail_on_lag: int | None = None
    fail_on_time_s: float | None = None
    exact: bool = False  # read the record at each committed offset for its age


def check_format(value: str) -> str:
    return check_choice(value, FORMATS)


def run_lag(
    config: ClientConfig, options: LagOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> None:
    from evtui.sources.lag import LagPoller

    poller = LagPoller(
        config,
        groups=options.groups,
        interval=options.interval_s,
        timeout=options.timeout_s,
        window_s=options.window_s,
    )
    try:
        report = _exact(config, poller.poll_now(), options)
        _show(report, options, out, err)
        while options.watch:
            report = _exact(config, _next(poller, report, options), options)
            _show(report, options, out, err)
    except KeyboardInterrupt:
        if not options.watch:
            raise
    finally:
        poller.stop()
    crossed = thresholds(report, options)
    if crossed:
        raise ThresholdCrossed(f"threshold crossed: {crossed[0]}" + _more(crossed))


def _exact(config: ClientConfig, report: LagReport, options: LagOptions) -> LagReport:
    if not options.exact:
        return report
    from evtui.sources.lag import with_exact_time_lags

    return with_exact_time_lags(config, report, options.timeout_s)


def _next(poller: object, last: LagReport, options: LagOptions) -> LagReport:
    """The next report (polled in the background once the first one is shown)."""
    poller.start()  # type: ignore[attr-defined]  # polls in the background from now (once)
    while True:
        time.sleep(min(0.2, options.interval_s))
        report = poller.latest()  # type: ignore[attr-defined]
        if report is not None and report.taken_ms != last.taken_ms:
            return report


def _show(report: LagReport, options: LagOptions, out: TextIO, err: TextIO) -> None:
    if options.groups and not report.groups and not options.watch:
        denied = [p for p in report.problems if p.startswith("not authorized to describe")]
        raise NoGroup(denied[0] if denied else f"no consumer group matches '{options.groups}'")
    for problem in report.problems:
        print(visible(f"evtui lag: warning: {problem}"), file=err)
    for group in report.groups:
        if group.problem:
            print(visible(f"evtui lag: warning: group {group.group}: {group.problem}"), file=err)
        for part in group.partitions:
            if part.problem:
                print(
                    visible(
                        f"evtui lag: warning: group {group.group}: "
                        f"{part.topic}[{part.partition}]: {part.problem}"
                    ),
                    file=err,
                )
    if options.format == "json":  # one line per report: easy to follow with --watch
        print(dumps(report.to_json()), file=out, flush=True)
        return
    if options.watch and out.isatty():  # a live table, redrawn in place
        out.write("\x1b[H\x1b[2J")
    print(visible_lines(render_table(report)), file=out, flush=True)


def thresholds(report: LagReport, options: LagOptions) -> list[str]:
    """What is above the thresholds, one line each."""
    crossed = []
    for group in report.groups:
        lag, seconds = group.lag, group.time_lag_s
        if options.fail_on_lag is not None and lag is not None and lag > options.fail_on_lag:
            crossed.append(f"group {group.group} lag {lag:,} > {options.fail_on_lag:,}")
        limit = options.fail_on_time_s
        if limit is not None and seconds is not None and seconds > limit:
            crossed.append(f"group {group.group} time lag {seconds:,.1f} s > {limit:,.1f} s")
    return crossed


def _more(crossed: list[str]) -> str:
    return f" (and {len(crossed) - 1:,} more)" if len(crossed) > 1 else ""


# -- the table ----------------------------------------------------------------------------------

GROUP_COLUMNS = ("GROUP", "STATE", "MEMBERS", "LAG", "TIME LAG", "STATUS", "ETA")
PART_COLUMNS = ("  TOPIC[PARTITION]", "COMMITTED", "END", "LAG", "TIME LAG", "STATUS", "MEMBER")


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _group_row(group: GroupLag) -> tuple[str, ...]:
    return (
        group.group,
        group.state,
        str(group.members),
        _count(group.lag),
        seconds_text(group.time_lag_s),
        str(group.status),
        eta_text(group),
    )


def _part_row(part: PartitionLag) -> tuple[str, ...]:
    committed = "no offset" if part.committed is None else f"{part.committed:,}"
    return (
        f"  {part.topic}[{part.partition}]",
        committed,
        f"{part.end:,}",
        _count(part.lag),
        time_lag_text(part),
        str(part.status),
        part.member or "-",
    )


def render_table(report: LagReport) -> str:
    """Each group on a line, its partitions below it, columns aligned per block."""
    if not report.groups:
        return "no consumer groups"
    blocks = []
    for group in report.groups:
        rows = [GROUP_COLUMNS, _group_row(group), PART_COLUMNS]
        rows += [_part_row(p) for p in group.partitions]
        blocks.append(_align(rows))
    return "\n\n".join(blocks)


def _align(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
