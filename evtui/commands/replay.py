"""``evtui replay``: plan a slice of a topic, then copy it, resumably, into another topic.

Without ``--execute`` only the plan is printed (a scan counts what the filter
keeps) and nothing is written. With it, records are copied byte for byte (key,
value, headers; the partition and the timestamp when asked) by an idempotent
producer, with provenance headers, at most ``--rate`` records/s, while a
checkpoint is kept (see :mod:`evtui.core.replay`), so that ``--resume ID``
after Ctrl-C, a crash or ``kill -9`` copies every record exactly once.

The engine (the plan, the guards, the copy) is :mod:`evtui.application.replay`;
here is what the command prints, its progress bar and its Ctrl-C.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from evtui.application.replay import DIALOG_WORDS as DIALOG_WORDS
from evtui.application.replay import Copier as Copier
from evtui.application.replay import KafkaSlices as KafkaSlices
from evtui.application.replay import ReplayReport as ReplayReport
from evtui.application.replay import ReplayRequest as ReplayRequest
from evtui.application.replay import SliceSource as SliceSource
from evtui.application.replay import (
    check_target,
    copy_slice,
    count_slices,
    make_plan,
    matcher,
)
from evtui.application.replay import render_report as render_report
from evtui.application.replay import source_identity as source_identity
from evtui.commands.interrupt import ctrl_c_calls
from evtui.core.output import dumps
from evtui.core.replay import Checkpoint, PartitionSlice, ReplayPlan, new_replay_id, render_plan
from evtui.core.text import plural
from evtui.errors import EvtuiError
from evtui.sources.target import Target


def run_replay(
    source: SliceSource,
    target: Target,
    request: ReplayRequest,
    *,
    execute: bool,
    resume: Checkpoint | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> ReplayReport | None:
    """Print the plan; with ``execute``, copy the slice. Raises EvtuiError on failure."""
    target.open()
    if resume is not None:
        bounds = {int(p): (n, resume.stops[p]) for p, n in resume.next_offsets.items()}
    else:
        bounds = source.slices()
    top = max(bounds, default=-1) + 1
    check_target(source, target, request, top)
    replay_id = resume.replay_id if resume is not None else new_replay_id()
    matches = matcher(request.filter)
    if not execute:
        plan = make_plan(source, target, request, replay_id, count_slices(source, bounds, matches))
        print_plan(plan, request.format, out)
        print("evtui replay: plan only, nothing was written (add --execute to copy)", file=err)
        return None
    slices = [PartitionSlice(p, start, stop) for p, (start, stop) in sorted(bounds.items())]
    plan = make_plan(source, target, request, replay_id, slices)
    if request.format == "text":
        print(render_plan(plan), file=err)
    watch = functools.partial(watch_copy, bounds=bounds, err=err)
    return copy_slice(source, target, plan, bounds, matches, resume, watch=watch)


@contextlib.contextmanager
def watch_copy(copier: Copier, bounds: dict[int, tuple[int, int]], err: TextIO) -> Iterator[None]:
    """The command around a copy: how to resume it, a progress bar, Ctrl-C stops it."""
    print(
        f"evtui replay: {copier.plan.replay_id} started; after an interruption: "
        f"evtui replay --resume {copier.plan.replay_id} --execute",
        file=err,
    )
    with progress_display(copier, copier.plan, bounds, err), ctrl_c_stops(copier):
        yield


def ctrl_c_stops(copier: Copier) -> contextlib.AbstractContextManager[object]:
    """Ctrl-C asks the copy to stop after the current batch (then the checkpoint is saved);
    a second Ctrl-C interrupts at once (see evtui.commands.interrupt)."""
    return ctrl_c_calls(functools.partial(setattr, copier, "stop_requested", True))


class progress_display:
    """A rich progress bar on a terminal (records, bytes, rate, ETA); nothing otherwise."""

    def __init__(
        self, copier: Copier, plan: ReplayPlan, bounds: dict[int, tuple[int, int]], err: TextIO
    ) -> None:
        self.copier, self.err = copier, err
        self.total = sum(max(0, stop - start) for start, stop in bounds.values())
        self._progress = None

    def __enter__(self) -> progress_display:
        if not self.err.isatty():
            return self
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("replay"), BarColumn(bar_width=24),
            TextColumn("{task.completed:,}/{task.total:,} records {task.fields[bytes]} "
                       "{task.fields[rate]}"),
            TimeRemainingColumn(), console=Console(file=self.err), transient=False,
        )  # fmt: skip
        self._progress.start()
        task = self._progress.add_task("replay", total=self.total, rate="", bytes="")
        started = time.monotonic()

        def update(report: ReplayReport) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            assert self._progress is not None
            self._progress.update(
                task, completed=report.read, bytes=f"{report.bytes / 1e6:,.1f} MB",
                rate=f"{report.written / elapsed:,.0f} rec/s",
            )  # fmt: skip

        self.copier.progress = update
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def print_plan(plan: ReplayPlan, fmt: str, out: TextIO = sys.stdout) -> None:
    if fmt == "json":
        print(dumps({"plan": plan.to_json()}), file=out)
    else:
        print(render_plan(plan), file=out)


def finish_report(report: ReplayReport, fmt: str, out: TextIO, err: TextIO) -> None:
    """Print the report; raise when the replay did not complete (the exit code)."""
    if fmt == "json":
        print(dumps({"report": report.to_json()}), file=out)
    else:
        print(render_report(report), file=out)
    resume = f"resume with: evtui replay --resume {report.replay_id} --execute"
    if report.interrupted:
        raise ReplayInterrupted(f"interrupted after writing {report.written:,} records; {resume}")
    if report.error is not None or report.failed:
        raise EvtuiError(
            f"replay stopped: {report.error}; {plural(report.written, 'record')} "
            f"{'was' if report.written == 1 else 'were'} written and acknowledged; {resume}"
        )


class ReplayInterrupted(EvtuiError):
    """Ctrl-C during a replay (exit code 130)."""

    exit_code = 130
